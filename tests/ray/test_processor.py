"""GrokBatchProcessor called as Ray Data calls it (one batch at a time), without a cluster: the row formats in
and out, failures as error rows, refused input. The cluster path (map_batches, the coordinator) is in
test_cluster.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("ray.data", reason='needs Ray Data: pip install "grok-azure[ray]"')

import numpy as np
import pandas as pd
import pyarrow as pa

from grok_azure.ray import GrokBatchProcessor
from grok_azure.testing import Fault, FoundryEmulator

KEY = "ray-processor-test-key-0123456789"
DEPLOYMENTS = {"grok-4": "grok-4", "filtered": "grok-4", "down": "grok-4", "busy": "grok-4"}
OPTIONS = {"max_retries": 0, "deployment_models": DEPLOYMENTS}


@pytest.fixture(scope="module")
def emulator() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        yield emu


@pytest.fixture
def processor(emulator: FoundryEmulator) -> Iterator[Callable[..., GrokBatchProcessor]]:
    emulator.reset()
    made: list[GrokBatchProcessor] = []

    def make(**kwargs: Any) -> GrokBatchProcessor:
        kwargs.setdefault("endpoint", emulator.url)
        kwargs.setdefault("api_key", KEY)
        made.append(GrokBatchProcessor(**kwargs))
        return made[-1]

    yield make
    for each in made:
        each.close()


def body(text: str, model: str = "grok-4", **params: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **params}


def numpy_batch(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """A batch as Ray Data hands it over by default: a numpy array per column, nested lists as arrays."""
    out: dict[str, np.ndarray] = {}
    for name in rows[0]:
        column = np.empty(len(rows), dtype=object)
        for index, row in enumerate(rows):
            value = row[name]
            if isinstance(value, dict) and "messages" in value:
                value = {**value, "messages": np.array(value["messages"], dtype=object)}
            column[index] = value
        out[name] = column
    return out


def as_rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def test_rows_come_back_in_the_batch_output_shape_with_their_custom_id(
    processor: Callable[..., GrokBatchProcessor], emulator: FoundryEmulator
) -> None:
    rows = [{"custom_id": f"ticket-{i}", "body": body(f"classify {i}")} for i in range(5)]
    out = processor()(numpy_batch(rows))
    assert list(out) == ["id", "custom_id", "response", "error"]
    results = as_rows(out)
    assert [r["custom_id"] for r in results] == [f"ticket-{i}" for i in range(5)]
    for index, result in enumerate(results):
        assert result["id"].startswith("batch_req_")
        assert result["error"] is None
        assert set(result["response"]) == {"status_code", "request_id", "body"}
        assert result["response"]["status_code"] == 200
        assert result["response"]["body"]["object"] == "chat.completion"
        assert f"classify {index}" in result["response"]["body"]["choices"][0]["message"]["content"]
        json.dumps(result)  # each row is an output line as is
    assert len(emulator.requests) == 5
    assert len({r["id"] for r in results}) == 5


def test_a_json_string_body_is_sent_as_written_and_kept_columns_come_through(
    processor: Callable[..., GrokBatchProcessor], emulator: FoundryEmulator
) -> None:
    sent = body("hello", temperature=0.25, max_tokens=7)
    batch = {
        "custom_id": ["a"],
        "method": ["POST"],
        "url": ["/v1/chat/completions"],
        "body": [json.dumps(sent)],
        "ticket": [1234],
    }
    out = processor(keep_columns=["ticket"])(batch)
    assert out["ticket"] == [1234]
    assert out["error"] == [None]
    assert emulator.requests[0].json == sent


def test_null_fields_of_a_struct_body_are_not_sent(
    processor: Callable[..., GrokBatchProcessor], emulator: FoundryEmulator
) -> None:
    # Arrow gives every row of a struct column every field some row has; the absent ones arrive as None.
    rows = [
        {"custom_id": "t", "body": body("one", temperature=0.5, max_tokens=None)},
        {"custom_id": "m", "body": body("two", temperature=None, max_tokens=9)},
    ]
    out = processor(concurrency=1)(numpy_batch(rows))
    assert out["error"] == [None, None]
    sent = {r.json["messages"][0]["content"]: r.json for r in emulator.requests}
    assert "max_tokens" not in sent["one"]
    assert sent["one"]["temperature"] == 0.5
    assert "temperature" not in sent["two"]
    assert sent["two"]["max_tokens"] == 9


@pytest.mark.parametrize("fmt", ["pyarrow", "pandas"])
def test_pyarrow_and_pandas_batches_are_read_too(
    processor: Callable[..., GrokBatchProcessor], fmt: str
) -> None:
    columns = {"custom_id": ["x", "y"], "body": [json.dumps(body("a")), json.dumps(body("b"))]}
    batch = pa.table(columns) if fmt == "pyarrow" else pd.DataFrame(columns)
    out = processor()(batch)
    assert out["custom_id"] == ["x", "y"]
    assert out["error"] == [None, None]


def test_model_fills_bodies_that_name_none(
    processor: Callable[..., GrokBatchProcessor], emulator: FoundryEmulator
) -> None:
    out = processor(model="grok-4")(
        {"custom_id": ["a"], "body": [{"messages": [{"role": "user", "content": "x"}]}]}
    )
    assert out["error"] == [None]
    assert emulator.requests[0].json["model"] == "grok-4"


def test_bad_requests_become_error_rows_and_are_not_sent(
    processor: Callable[..., GrokBatchProcessor], emulator: FoundryEmulator
) -> None:
    batch = {
        "custom_id": ["no-messages", "bad-url", "bad-json", "bad-param", "fine"],
        "url": [None, "/embeddings", None, None, None],
        "body": [
            {"model": "grok-4"},
            body("x"),
            "{not json",
            body("x", temperature="hot"),
            body("fine"),
        ],
    }
    results = as_rows(processor()(batch))
    errors = {r["custom_id"]: r["error"] for r in results}
    assert errors["fine"] is None
    for custom_id in ("no-messages", "bad-url", "bad-json", "bad-param"):
        assert errors[custom_id]["code"] == "validation_error", custom_id
        assert errors[custom_id]["message"]
    assert "messages" in errors["no-messages"]["message"]
    assert "/embeddings" in errors["bad-url"]["message"]
    assert "temperature" in errors["bad-param"]["message"]
    assert all(r["response"] is None for r in results if r["error"] is not None)
    assert [r.json["messages"][0]["content"] for r in emulator.requests] == ["fine"]


def test_failed_calls_become_error_rows_with_the_runner_codes(
    processor: Callable[..., GrokBatchProcessor], emulator: FoundryEmulator
) -> None:
    emulator.fault(Fault.content_filter(), deployment="filtered")
    emulator.fault(Fault.server_error(503), deployment="down")
    emulator.fault(Fault.rate_limited(retry_after=0), deployment="busy")
    batch = {
        "custom_id": ["filtered", "down", "busy", "ok"],
        "body": [body("a", "filtered"), body("b", "down"), body("c", "busy"), body("d")],
    }
    results = {r["custom_id"]: r for r in as_rows(processor(client_options=OPTIONS)(batch))}
    assert results["ok"]["error"] is None
    assert results["filtered"]["error"]["code"] == "content_filter"
    assert results["filtered"]["response"]["status_code"] == 400  # the service's answer is kept
    assert results["down"]["error"]["code"] == "server_error"
    assert results["down"]["response"]["status_code"] == 503
    assert results["busy"]["error"]["code"] == "rate_limited"
    assert KEY not in json.dumps(list(results.values()))


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"custom_id": ["a"], "body": [body("x")], "notes": ["n"]}, "unknown column"),
        ({"custom_id": ["a"]}, "no body column"),
        ({"custom_id": [7], "body": [body("x")]}, "custom_id must be a non-empty string"),
        ({"custom_id": ["a"], "body": [body("x")]}, "keep_columns names"),
    ],
)
def test_a_batch_that_cannot_be_read_raises_before_sending(
    processor: Callable[..., GrokBatchProcessor],
    emulator: FoundryEmulator,
    batch: dict[str, list[Any]],
    message: str,
) -> None:
    from grok_azure import GrokError

    keep = ["ticket"] if message == "keep_columns names" else []
    with pytest.raises(GrokError, match=message):
        processor(keep_columns=keep)(batch)
    assert emulator.requests == []


def test_concurrency_must_be_a_positive_integer(emulator: FoundryEmulator) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        GrokBatchProcessor(endpoint=emulator.url, api_key=KEY, concurrency=0)


def test_a_processor_without_endpoint_or_credentials_fails_when_built() -> None:
    from grok_azure import ConfigurationError

    with pytest.raises(ConfigurationError):
        GrokBatchProcessor(client_options={"environ": {}})
