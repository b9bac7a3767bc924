"""Choosing a configured deployment by need: ``client.models.select`` and ``model="auto"``."""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, ConfigurationError, Deployment, GrokClient, GrokError

# Public names the lead re-exports from grok_azure (imported from their modules until then).
from grok_azure._catalog import ModelSpec, load_catalog
from grok_azure._selection import ModelSelection, ModelSelectionError
from grok_azure._warnings import GrokAzureWarning

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hi"}]
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
WEATHER = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]

DEPLOYED = {
    "fast": "grok-4-1-fast-reasoning",  # $0.20/$0.50, 128K, image, reasoning, released 2026-02-27
    "big": "grok-4.7",  # $2/$6, 500K, image, reasoning, released 2026-09-21
    "thinker": "grok-4",  # $5.50/$27.50, 262K, text only, reasoning
    "plain": "grok-4-20-non-reasoning",  # $2/$6, 262K, text only, not reasoning, released 2026-04-08
}


def client(deployment_models: dict[str, Any] | None = None, **options: Any) -> GrokClient:
    return GrokClient(
        endpoint=ENDPOINT,
        api_key=KEY,
        environ={},
        deployment_models=DEPLOYED if deployment_models is None else deployment_models,
        **options,
    )


def sent_model(route: respx.Route) -> str:
    return str(json.loads(route.calls.last.request.content)["model"])


@pytest.mark.parametrize(
    ("needs", "min_context", "prefer", "expected"),
    [
        ((), None, "cost", "fast"),
        ((), None, "context", "big"),
        ((), None, "quality", "big"),
        ({"vision"}, None, "cost", "fast"),
        ({"vision"}, 200_000, "cost", "big"),
        # grok-4-20-non-reasoning costs what grok-4.7 costs: the tie goes to the larger window.
        ((), 200_000, "cost", "big"),
        ({"reasoning"}, 250_000, "cost", "big"),
        ({"tools", "reasoning"}, None, "quality", "big"),
    ],
)
def test_select_returns_the_best_configured_deployment(
    needs: set[str], min_context: int | None, prefer: Any, expected: str
) -> None:
    with client() as c:
        chosen = c.models.select(needs=needs, min_context=min_context, prefer=prefer)
    assert chosen.deployment == expected
    assert chosen.spec is load_catalog().require(DEPLOYED[expected])


def test_quality_puts_reasoning_models_first_then_the_newest() -> None:
    # grok-4-20-non-reasoning is newer than grok-4-1-fast-reasoning but does not reason.
    with client({"older-reasoner": "grok-4-1-fast-reasoning", "newer-plain": "grok-4-20-non-reasoning"}) as c:
        assert c.models.select(prefer="quality").deployment == "older-reasoner"
    with client({"a": "grok-4-1-fast-reasoning", "b": "grok-4.6"}) as c:
        assert c.models.select(prefer="quality").deployment == "b"  # 2026-08-26 beats 2026-02-27


def test_no_match_lists_what_each_deployment_lacks() -> None:
    with client() as c, pytest.raises(ModelSelectionError) as info:
        c.models.select(needs={"vision"}, min_context=600_000)
    error = info.value
    assert isinstance(error, ConfigurationError)
    assert isinstance(error, GrokError)
    assert error.needs == frozenset({"vision"})
    assert error.min_context == 600_000
    assert error.missing["fast"] == ("context window 128,000 < 600,000",)
    assert error.missing["thinker"] == ("no image input (vision)", "context window 262,000 < 600,000")
    message = str(error)
    for name in DEPLOYED:
        assert f"'{name}'" in message
    assert "600,000" in message


def test_a_retired_deployment_is_never_selected() -> None:
    with client({"old": "grok-4-fast-reasoning", "new": "grok-4.7"}) as c:
        assert c.models.select(prefer="context").deployment == "new"  # the retired one has a 2M window
    with client({"old": "grok-4-fast-reasoning"}) as c, pytest.raises(ModelSelectionError) as info:
        c.models.select()
    assert info.value.missing == {"old": ("retired (replacement: grok-4-1-fast-reasoning)",)}


def test_nothing_configured_says_how_to_configure() -> None:
    with client({}) as c, pytest.raises(ModelSelectionError) as info:
        c.models.select(needs={"tools"})
    assert "GROK_AZURE_DEPLOYMENTS" in str(info.value)
    assert info.value.missing == {}


def test_an_unknown_support_is_ranked_after_a_stated_one_and_warned_about() -> None:
    # json_schema is unknown (null) for every packaged model: never a reason to refuse one, but a model stated to
    # support it comes first.
    structured = ModelSpec(id="grok-structured", json_schema=True, price=None)
    catalog = load_catalog().with_models(structured)
    with client({"cheap": "grok-4-1-fast-reasoning", "sure": "grok-structured"}, catalog=catalog) as c:
        assert c.models.select(needs={"structured_output"}).deployment == "sure"
    with client({"cheap": "grok-4-1-fast-reasoning"}) as c, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert c.models.select(needs={"structured_output"}).deployment == "cheap"
    (warning,) = [w for w in seen if issubclass(w.category, GrokAzureWarning)]
    assert "does not confirm its structured_output" in str(warning.message)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"needs": {"telepathy"}}, "unknown need"),
        ({"needs": "tools"}, "got the str 'tools'"),
        ({"prefer": "speed"}, "prefer must be one of cost, context, quality"),
        ({"min_context": 0}, "min_context must be a positive int"),
        ({"min_context": True}, "min_context must be a positive int"),
    ],
)
def test_bad_selection_arguments_are_configuration_errors(options: dict[str, Any], match: str) -> None:
    with client() as c, pytest.raises(ConfigurationError, match=match):
        c.models.select(**options)


# -- model="auto" -------------------------------------------------------------------------------------------


@pytest.fixture
def api(mock_api: respx.MockRouter) -> respx.Route:
    return mock_api.post(CHAT_URL).respond(200, json=completion_body())


def test_auto_uses_the_configured_selection(api: respx.Route) -> None:
    with client(auto_model=ModelSelection(prefer="context")) as c:
        completion = c.chat.completions.create(model="auto", messages=MESSAGES)
    assert sent_model(api) == "big"
    assert completion.cost is not None  # costed as the chosen deployment's model


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "fast"),
        ({"tools": WEATHER}, "fast"),
        ({"messages": [{"role": "user", "content": [IMAGE]}]}, "fast"),
        # grok-4.7 documents "high"; grok-4-1-fast-reasoning documents no values (unknown: ranked after it).
        ({"reasoning_effort": "high"}, "big"),
        ({"max_tokens": 100_000}, "fast"),  # grok-4 caps output at 8,192
        ({"max_tokens": 130_000}, "big"),  # grok-4-1-fast-reasoning caps it at 128,000
        ({"presence_penalty": 0.5}, "fast"),  # unconfirmed rejections do not rule a model out
    ],
)
def test_auto_adds_the_needs_the_request_shows(
    api: respx.Route, params: dict[str, Any], expected: str
) -> None:
    params.setdefault("messages", MESSAGES)
    with (
        client(
            {"fast": "grok-4-1-fast-reasoning", "big": "grok-4.7", "thinker": "grok-4"},
            auto_model=ModelSelection(),
        ) as c,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", GrokAzureWarning)
        c.chat.completions.create(model="auto", **params)
    assert sent_model(api) == expected


def test_auto_skips_a_model_that_states_it_rejects_a_parameter(api: respx.Route) -> None:
    # grok-4.6 states that it rejects presence_penalty; grok-4.7 does not say so.
    with client({"cheap-46": "grok-4.6", "pricier-47": "grok-4.7"}, auto_model=ModelSelection()) as c:
        c.chat.completions.create(model="auto", messages=MESSAGES, logprobs=True)
    assert sent_model(api) == "pricier-47"


def test_auto_with_nothing_suitable_sends_nothing(api: respx.Route) -> None:
    with (
        client({"thinker": "grok-4"}, auto_model=ModelSelection(needs={"reasoning"})) as c,
        pytest.raises(ModelSelectionError) as info,
    ):
        c.chat.completions.create(model="auto", messages=[{"role": "user", "content": [IMAGE]}])
    assert info.value.needs == frozenset({"reasoning", "vision"})
    assert "no image input" in str(info.value)
    assert api.call_count == 0


def test_auto_without_a_selection_policy_is_refused(api: respx.Route) -> None:
    with client() as c, pytest.raises(ConfigurationError, match="auto_model=ModelSelection"):
        c.chat.completions.create(model="auto", messages=MESSAGES)
    assert api.call_count == 0


def test_a_mapped_deployment_named_auto_is_an_ordinary_deployment_without_a_policy(api: respx.Route) -> None:
    with client({"auto": "grok-4.7"}) as c:
        c.chat.completions.create(model="auto", messages=MESSAGES)
    assert sent_model(api) == "auto"


def test_auto_model_must_be_a_model_selection() -> None:
    with pytest.raises(ConfigurationError, match="auto_model must be a ModelSelection"):
        client(auto_model={"prefer": "cost"})


async def test_auto_streams_with_the_async_client(mock_api: respx.MockRouter) -> None:
    from .conftest import chunk, sse

    body = sse(chunk("Hi", role="assistant"), chunk(finish_reason="stop"), "[DONE]")
    route = mock_api.post(CHAT_URL).respond(200, content=body, headers={"content-type": "text/event-stream"})
    async with (
        AsyncGrokClient(
            endpoint=ENDPOINT,
            api_key=KEY,
            environ={},
            deployment_models=DEPLOYED,
            auto_model=ModelSelection(prefer="quality"),
            http_client=httpx.AsyncClient(),
        ) as c,
        c.chat.completions.stream(model="auto", messages=MESSAGES) as stream,
    ):
        assert "".join([text async for text in stream.text_stream]) == "Hi"
    assert sent_model(route) == "big"


def test_auto_composes_with_failover(mock_api: respx.MockRouter) -> None:
    # The selected deployment name goes through the pool like any model name: each region gets it.
    east = mock_api.post("https://east.services.ai.azure.com/openai/v1/chat/completions").respond(503)
    west = mock_api.post("https://west.services.ai.azure.com/openai/v1/chat/completions").respond(
        200, json=completion_body()
    )
    pool = [
        Deployment(endpoint="https://east.services.ai.azure.com", api_key=KEY, name="east"),
        Deployment(endpoint="https://west.services.ai.azure.com", api_key=KEY, name="west"),
    ]
    with GrokClient(
        deployments=pool, environ={}, deployment_models=DEPLOYED, auto_model=ModelSelection(prefer="context")
    ) as c:
        for _ in range(3):
            completion = c.chat.completions.create(model="auto", messages=MESSAGES)
            assert completion.served_by == "west"
    assert sent_model(west) == "big"
    assert all(json.loads(call.request.content)["model"] == "big" for call in east.calls)
