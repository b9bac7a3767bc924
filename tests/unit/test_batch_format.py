"""client.batches.run: the JSONL formats, input checks, the result store's rules and error codes (respx only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from grok_azure import (
    AsyncGrokClient,
    BatchInputError,
    BatchProgress,
    BatchRequest,
    BatchResult,
    BatchSummary,
    GrokClient,
    RequestValidationError,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MODELS = {"chat": "grok-4-1-fast-non-reasoning"}


def line(custom_id: str, text: str = "hi", **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": "chat", "messages": [{"role": "user", "content": text}], **body},
    }


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in items))
    return path


def results(path: Path) -> dict[str, BatchResult]:
    """custom_id -> result, failing on an id written twice."""
    out: dict[str, BatchResult] = {}
    for raw in path.read_text().splitlines():
        result = BatchResult.from_line(raw)
        assert result.custom_id not in out, f"{result.custom_id} written twice"
        out[result.custom_id] = result
    return out


def echo(request: httpx.Request) -> httpx.Response:
    text = json.loads(request.content)["messages"][-1]["content"]
    return httpx.Response(200, json=completion_body(f"Echo: {text}"), headers={"apim-request-id": "apim-1"})


def client() -> GrokClient:
    return GrokClient(endpoint=ENDPOINT, api_key=KEY, max_retries=0, deployment_models=MODELS)


def aclient() -> AsyncGrokClient:
    return AsyncGrokClient(  # respx intercepts httpx, not the default aiohttp transport
        endpoint=ENDPOINT,
        api_key=KEY,
        max_retries=0,
        deployment_models=MODELS,
        http_client=httpx.AsyncClient(),
    )


# -- format round-trip ---------------------------------------------------------------------------------------


def test_round_trip_file_in_file_out(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=echo)
    requests = [
        BatchRequest(f"r{i}", {"model": "chat", "messages": [{"role": "user", "content": f"q{i}"}]})
        for i in range(5)
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(r.to_line() + "\n" for r in requests))
    seen: list[BatchProgress] = []
    with client() as c:
        summary = c.batches.run(str(source), tmp_path / "out.jsonl", on_progress=seen.append)
    assert isinstance(summary, BatchSummary)
    assert (summary.total, summary.done, summary.failed, summary.interrupted) == (5, 5, 0, False)
    assert summary.prompt_tokens == 25
    assert summary.completion_tokens == 15
    assert summary.cost is not None
    assert summary.cost > 0
    assert seen
    assert seen[-1].done == 5
    assert seen[-1].in_flight == 0
    raw_lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert all(set(json.loads(x)) == {"id", "custom_id", "response", "error"} for x in raw_lines)
    got = results(tmp_path / "out.jsonl")
    assert set(got) == {f"r{i}" for i in range(5)}
    first = got["r0"]
    assert first.ok
    assert first.error is None
    assert first.id.startswith("batch_req_")
    assert first.response is not None
    assert first.response["status_code"] == 200
    assert first.response["request_id"] == "apim-1"
    assert first.response["body"]["choices"][0]["message"]["content"] == "Echo: q0"
    assert BatchResult.from_line(first.to_line()) == first
    # Each input line went out as written: one request per line, its body unchanged.
    sent = [json.loads(call.request.content) for call in mock_api.calls]
    assert sorted(s["messages"][0]["content"] for s in sent) == [f"q{i}" for i in range(5)]


async def test_async_round_trip_over_an_iterable(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=echo)
    items = [line("a", "x"), BatchRequest("b", {"messages": [{"role": "user", "content": "y"}]})]
    async with aclient() as c:
        summary = await c.batches.run(iter(items), tmp_path / "out.jsonl", model="chat")
    assert (summary.done, summary.failed) == (2, 0)
    got = results(tmp_path / "out.jsonl")
    assert got["b"].response is not None
    assert got["b"].response["body"]["choices"][0]["message"]["content"] == "Echo: y"
    # model= filled in the line without one; the line naming its own model kept it.
    assert {json.loads(c.request.content)["model"] for c in mock_api.calls} == {"chat"}


def test_unknown_body_fields_are_sent_as_written(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=echo)
    with client() as c:
        c.batches.run([line("a", search_parameters={"mode": "off"}, temperature=0.5)], tmp_path / "o.jsonl")
    sent = json.loads(mock_api.calls[0].request.content)
    assert sent["search_parameters"] == {"mode": "off"}
    assert sent["temperature"] == 0.5


# -- input checks: nothing is sent ------------------------------------------------------------------------------


def test_duplicate_custom_id_names_both_lines(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=echo)
    source = write_jsonl(tmp_path / "in.jsonl", [line("a"), line("b"), "", line("c"), line("b")])
    with client() as c, pytest.raises(BatchInputError) as caught:
        c.batches.run(source, tmp_path / "out.jsonl")
    assert "line 2" in str(caught.value)
    assert "line 5" in str(caught.value)
    assert caught.value.line == 5
    assert not route.called
    assert not (tmp_path / "out.jsonl").exists()


async def test_async_duplicate_custom_id_in_an_iterable(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=echo)
    async with aclient() as c:
        with pytest.raises(BatchInputError, match="line 1 and line 3"):
            await c.batches.run([line("x"), line("y"), line("x")], tmp_path / "out.jsonl")
    assert not route.called


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"custom_id": "a", "body": ', "not valid JSON"),
        ({**line("a"), "method": "GET"}, "method must be"),
        ({**line("a"), "url": "/embeddings"}, "url must be"),
        ({"custom_id": "a", "body": {"messages": []}}, "no model"),
        ({"custom_id": "", "body": line("a")["body"]}, "custom_id"),
        ({**line("a"), "extra": 1}, "unknown field"),
        (line("a", stream=True), "stream"),
        (line("a", deadline=3), "client options"),
        ({"custom_id": "a", "body": {"model": "chat"}}, "no messages"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_lines_are_refused_with_their_line_number(
    tmp_path: Path, mock_api: respx.MockRouter, bad: Any, message: str
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=echo)
    source = write_jsonl(tmp_path / "in.jsonl", [line("ok"), bad])
    with client() as c, pytest.raises(BatchInputError, match=message) as caught:
        c.batches.run(source, tmp_path / "out.jsonl")
    assert caught.value.line == 2
    assert "line 2" in str(caught.value)
    assert not route.called


@pytest.mark.parametrize(
    ("option", "value"),
    [("concurrency", 0), ("rpm", -1), ("tpm", 1.5), ("grace", -1.0), ("concurrency", True)],
)
def test_bad_options_are_refused(tmp_path: Path, option: str, value: Any) -> None:
    with client() as c, pytest.raises(RequestValidationError) as caught:
        c.batches.run([line("a")], tmp_path / "out.jsonl", **{option: value})
    assert caught.value.param == option


def test_an_output_that_is_not_a_batch_output_is_left_alone(
    tmp_path: Path, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=echo)
    source = write_jsonl(tmp_path / "in.jsonl", [line("a")])
    with client() as c, pytest.raises(BatchInputError, match="not a batch output"):
        c.batches.run(source, source)  # the input given as the output by mistake
    assert json.loads(source.read_text()) == line("a")
    assert not route.called


# -- the store: torn lines, resume, retry_failed ------------------------------------------------------------------


def test_torn_last_line_is_cut_and_its_id_runs_again(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=echo)
    out = tmp_path / "out.jsonl"
    done = BatchResult("a", {"status_code": 200, "request_id": "x", "body": {}}, None)
    torn = BatchResult("b", {"status_code": 200, "request_id": "y", "body": {}}, None).to_line()[:40]
    out.write_text(done.to_line() + "\n" + torn)
    with client() as c:
        summary = c.batches.run([line("a"), line("b"), line("c")], out)
    assert (summary.skipped_already_done, summary.done) == (1, 3)
    got = results(out)  # no id twice, no torn text left
    assert set(got) == {"a", "b", "c"}
    assert got["a"].id == done.id
    assert len(mock_api.calls) == 2


async def test_async_resume_skips_done_and_failed_ids(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=echo)
    out = tmp_path / "out.jsonl"
    out.write_text(
        BatchResult("a", {"status_code": 200, "request_id": None, "body": {}}, None).to_line()
        + "\n"
        + BatchResult("b", None, {"code": "timeout", "message": "t"}).to_line()
        + "\n"
    )
    async with aclient() as c:
        summary = await c.batches.run([line("a"), line("b"), line("c")], out)
    assert (summary.skipped_already_done, summary.done, summary.failed) == (2, 2, 1)
    assert [json.loads(x.request.content)["messages"][0]["content"] for x in mock_api.calls] == ["hi"]
    assert set(results(out)) == {"a", "b", "c"}


def failing_for(ids: set[str], status: int = 500) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["messages"][-1]["content"]
        if text in ids:
            return httpx.Response(status, json={"error": {"code": "InternalServerError", "message": "boom"}})
        return echo(request)

    return answer


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_retry_failed_runs_only_the_failed_lines_again(
    tmp_path: Path, mock_api: respx.MockRouter, kind: str
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=failing_for({"t1", "t3"}))
    out = tmp_path / "out.jsonl"
    items = [line(f"r{i}", f"t{i}") for i in range(5)]

    async def run(**options: Any) -> BatchSummary:
        if kind == "sync":
            with client() as c:
                return c.batches.run(items, out, **options)
        async with aclient() as ac:
            return await ac.batches.run(items, out, **options)

    first = await run()
    assert (first.done, first.failed) == (3, 2)
    assert {cid for cid, r in results(out).items() if not r.ok} == {"r1", "r3"}
    assert results(out)["r1"].error == {
        "code": "server_error",
        "message": results(out)["r1"].error["message"],
    }  # type: ignore[index]
    again = await run()  # a plain rerun leaves failed lines alone
    assert again.skipped_already_done == 5
    assert route.call_count == 5
    route.mock(side_effect=echo)
    retried = await run(retry_failed=True)
    assert (retried.done, retried.failed, retried.skipped_already_done) == (5, 0, 3)
    assert route.call_count == 7
    got = results(out)  # one line per id: the failed lines were replaced, not duplicated
    assert len(out.read_text().splitlines()) == 5
    assert all(r.ok for r in got.values())


# -- error codes --------------------------------------------------------------------------------------------------


def by_text(request: httpx.Request) -> httpx.Response:
    text = json.loads(request.content)["messages"][-1]["content"]
    if text == "filtered":
        return httpx.Response(
            400,
            json={
                "error": {
                    "code": "content_filter",
                    "message": "The response was filtered",
                    "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {}},
                }
            },
        )
    if text == "limited":
        return httpx.Response(
            429, json={"error": {"code": "429", "message": "Rate limit"}}, headers={"retry-after": "1"}
        )
    if text == "broken":
        return httpx.Response(503, json={"error": {"code": "ServiceUnavailable", "message": "down"}})
    if text == "denied":
        return httpx.Response(401, json={"error": {"code": "401", "message": "Access denied"}})
    if text == "bad":
        return httpx.Response(400, json={"error": {"code": "BadRequest", "message": "nope"}})
    if text == "slow":
        raise httpx.ReadTimeout("timed out", request=request)
    if text == "gone":
        raise httpx.ConnectError("refused", request=request)
    return echo(request)


CODES = {
    "filtered": "content_filter",
    "limited": "rate_limited",
    "broken": "server_error",
    "denied": "authentication",
    "bad": "bad_request",
    "slow": "timeout",
    "gone": "connection_error",
    "fine": None,
}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_failures_become_lines_with_typed_codes(
    tmp_path: Path, mock_api: respx.MockRouter, kind: str
) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=by_text)
    items = [line(text, text) for text in CODES]
    out = tmp_path / "out.jsonl"
    if kind == "sync":
        with client() as c:
            summary = c.batches.run(items, out)
    else:
        async with aclient() as ac:
            summary = await ac.batches.run(items, out)
    got = results(out)
    assert {cid: (r.error or {}).get("code") for cid, r in got.items()} == CODES
    assert (summary.done, summary.failed) == (1, 7)
    status = got["broken"].response
    assert status is not None
    assert status["status_code"] == 503
    assert status["body"]["error"]["message"] == "down"
    assert got["slow"].response is None
    assert KEY not in out.read_text()
