"""The body goes out as the strict JSON the check produced: encoded once, byte for byte what was checked."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from grok_azure import AsyncGrokClient, GrokClient, RequestValidationError
from grok_azure._validate import check_json_body

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Grüße, 東京 \U0001f600"}]


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = [value]
    return value


def test_the_body_sent_is_compact_utf8_json_of_what_was_asked(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="grok-4", messages=MESSAGES, temperature=0.5, extra_body={"x": {"n": [1, 2.5, None, True]}}
        )
    sent = route.calls.last.request.content
    assert sent == json.dumps(json.loads(sent), ensure_ascii=False, separators=(",", ":")).encode()
    assert "Grüße, 東京 \U0001f600".encode() in sent  # UTF-8 as is, not \\u escapes
    assert json.loads(sent)["x"] == {"n": [1, 2.5, None, True]}


async def test_the_async_client_sends_the_same_bytes(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        await client.chat.completions.create(
            model="grok-4", messages=MESSAGES, extra_body={"deep": _nested(400)}
        )
    sent = json.loads(route.calls.last.request.content)
    assert sent["messages"] == MESSAGES
    assert sent["deep"] == _nested(400)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"deep": _nested(501)}, "extra_body.deep"),
        ({"x": [1, float("inf")]}, "extra_body.x"),
        ({"x": {"k": "\ud800"}}, "extra_body.x"),
        ({"x": {1, 2}}, "extra_body.x"),
        ({"x": {(1, 2): "tuple key"}}, "extra_body.x"),
    ],
)
def test_a_body_that_is_not_strict_json_is_refused_before_sending(
    mock_api: respx.MockRouter, extra: dict[str, Any], param: str
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RequestValidationError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_body=extra)
    assert info.value.param is not None
    assert info.value.param.startswith(param)
    assert route.call_count == 0


def test_a_deployment_that_renames_the_model_sends_its_own_name(mock_api: respx.MockRouter) -> None:
    # The encoding made by the check is of the caller's body; a deployment that sends another model name gets its
    # own, and model="auto" resolved to a deployment is encoded after the choice.
    from grok_azure import Deployment, ModelSelection

    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(deployments=[Deployment(ENDPOINT, api_key=KEY, deployment="prod-grok")]) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert json.loads(route.calls.last.request.content)["model"] == "prod-grok"
    with GrokClient(
        endpoint=ENDPOINT,
        api_key=KEY,
        deployment_models={"cheap": "grok-4-1-fast-non-reasoning"},
        auto_model=ModelSelection(prefer="cost"),
    ) as client:
        client.chat.completions.create(model="auto", messages=MESSAGES)
    assert json.loads(route.calls.last.request.content)["model"] == "cheap"


# --- the encoder made once ----------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), _JSON, max_size=5))
def test_the_encoding_is_the_one_json_dumps_gives_for_any_json_body(body: dict[str, Any]) -> None:
    expected = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    assert check_json_body(body) == expected


def test_a_body_that_contains_itself_is_refused_before_sending(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    looped: dict[str, Any] = {"type": "object"}
    looped["properties"] = looped
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "hi"}], extra_body={"schema": looped}
        )
    assert "nests deeper than" in str(caught.value)
    assert not route.called


def test_a_body_that_contains_itself_is_refused_even_with_a_raised_recursion_limit() -> None:
    # In a child interpreter: an encoder that recursed into the loop would overflow the C stack and kill it.
    script = (
        "import sys\n"
        "sys.setrecursionlimit(100_000)\n"
        "from grok_azure import RequestValidationError\n"
        "from grok_azure._validate import check_json_body\n"
        "loop = {}\n"
        "loop['self'] = loop\n"
        "try:\n"
        "    check_json_body({'metadata': loop})\n"
        "except RequestValidationError as exc:\n"
        "    print(type(exc).__name__, exc.param.split('.')[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "RequestValidationError metadata")
