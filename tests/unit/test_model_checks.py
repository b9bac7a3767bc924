"""Requests checked against the deployment's model before anything is sent (both clients, create and stream).

A fact the catalog states refuses the request with a typed error and sends nothing; a fact it only infers warns
once (per client) and sends; ``validate=False`` turns every model check off.
"""

from __future__ import annotations

import datetime
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grok_azure import (
    AsyncGrokClient,
    ContextLengthExceededError,
    GrokClient,
    ModelRetiredError,
    PromptTooLongError,
    RequestValidationError,
    UnsupportedParameterError,
)
from grok_azure._catalog import ModelSpec, load_catalog
from grok_azure._model_checks import findings, nothing_to_find
from grok_azure._warnings import GrokAzureWarning
from grok_azure._wire import encode_json

from .conftest import CHAT_URL, ENDPOINT, KEY, chunk, completion_body, sse

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hi"}]
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
WEATHER = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]


@pytest.fixture
def api(mock_api: respx.MockRouter) -> respx.Route:
    return mock_api.post(CHAT_URL).respond(200, json=completion_body())


@pytest.fixture
def stream_api(mock_api: respx.MockRouter) -> respx.Route:
    body = sse(chunk("Hi", role="assistant"), chunk(finish_reason="stop"), "[DONE]")
    return mock_api.post(CHAT_URL).respond(200, content=body, headers={"content-type": "text/event-stream"})


def client(**options: Any) -> GrokClient:
    return GrokClient(endpoint=ENDPOINT, api_key=KEY, environ={}, **options)


def aclient(**options: Any) -> AsyncGrokClient:
    # httpx's own async client: respx intercepts it (the default one runs on aiohttp).
    return AsyncGrokClient(
        endpoint=ENDPOINT, api_key=KEY, environ={}, http_client=httpx.AsyncClient(), **options
    )


@pytest.fixture
def caught() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield seen


def grok_warnings(seen: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in seen if issubclass(w.category, GrokAzureWarning)]


# -- stated facts: refused, nothing sent ---------------------------------------------------------------------

REFUSED = [
    # (deployment, parameters, offending parameter, allowed)
    ("grok-4.6", {"presence_penalty": 0.5}, "presence_penalty", None),
    ("grok-4.6", {"logprobs": True}, "logprobs", None),
    ("grok-4.7", {"reasoning_effort": "minimal"}, "reasoning_effort", ("low", "medium", "high", "xhigh")),
    ("grok-4", {"max_tokens": 9000}, "max_tokens", ("1..8192",)),
    ("grok-4", {"max_completion_tokens": 8193}, "max_completion_tokens", ("1..8192",)),
]


@pytest.mark.parametrize(("deployment", "params", "param", "allowed"), REFUSED)
def test_a_stated_rejection_is_refused_before_sending(
    api: respx.Route, deployment: str, params: dict[str, Any], param: str, allowed: tuple[str, ...] | None
) -> None:
    with client() as c, pytest.raises(UnsupportedParameterError) as info:
        c.chat.completions.create(model=deployment, messages=MESSAGES, **params)
    error = info.value
    assert error.param == param
    assert error.model == load_catalog().require(deployment).id
    assert error.allowed == allowed
    assert f"Deployment {deployment!r}" in str(error)
    assert "Nothing was sent" in str(error)
    assert isinstance(error, RequestValidationError)
    assert api.call_count == 0


@pytest.mark.parametrize(("deployment", "params", "param", "allowed"), REFUSED)
async def test_the_async_client_refuses_the_same_requests(
    api: respx.Route, deployment: str, params: dict[str, Any], param: str, allowed: tuple[str, ...] | None
) -> None:
    async with aclient() as c:
        with pytest.raises(UnsupportedParameterError) as info:
            await c.chat.completions.create(model=deployment, messages=MESSAGES, **params)
    assert (info.value.param, info.value.allowed) == (param, allowed)
    assert api.call_count == 0


def test_streamed_requests_are_refused_before_sending(stream_api: respx.Route) -> None:
    with client() as c:
        with pytest.raises(UnsupportedParameterError):
            c.chat.completions.create(model="grok-4.6", messages=MESSAGES, presence_penalty=1.0, stream=True)
        with pytest.raises(UnsupportedParameterError):
            # Refused when stream() is called, before the `with` block sends anything.
            c.chat.completions.stream(model="grok-4.6", messages=MESSAGES, presence_penalty=1.0)
    assert stream_api.call_count == 0


async def test_async_streamed_requests_are_refused_before_sending(stream_api: respx.Route) -> None:
    async with aclient() as c:
        with pytest.raises(UnsupportedParameterError):
            await c.chat.completions.create(model="grok-4.6", messages=MESSAGES, logprobs=True, stream=True)
        with pytest.raises(UnsupportedParameterError):
            c.chat.completions.stream(model="grok-4.6", messages=MESSAGES, logprobs=True)
    assert stream_api.call_count == 0


def test_accepted_values_are_sent(api: respx.Route, caught: list[warnings.WarningMessage]) -> None:
    with client() as c:
        c.chat.completions.create(model="grok-4.7", messages=MESSAGES, reasoning_effort="low")
        c.chat.completions.create(model="grok-4", messages=MESSAGES, max_tokens=8192)
        c.chat.completions.create(
            model="grok-4.7", messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}, IMAGE]}]
        )
        c.chat.completions.create(model="grok-4-1-fast-non-reasoning", messages=MESSAGES, tools=WEATHER)
    assert api.call_count == 4
    assert grok_warnings(caught) == []


def test_images_to_a_text_only_model_are_refused(api: respx.Route) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, IMAGE]}]
    with client() as c, pytest.raises(UnsupportedParameterError) as info:
        c.chat.completions.create(model="grok-4", messages=messages)
    assert info.value.param == "messages"
    assert info.value.allowed == ("text",)
    assert "text only" in str(info.value)
    assert api.call_count == 0


def test_tools_and_response_formats_a_model_states_it_lacks_are_refused(api: respx.Route) -> None:
    plain = ModelSpec(id="grok-plain", function_calling=False, json_schema=False, json_object=False)
    catalog = load_catalog().with_models(plain)
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    with client(catalog=catalog) as c:
        with pytest.raises(UnsupportedParameterError) as tools:
            c.chat.completions.create(model="grok-plain", messages=MESSAGES, tools=WEATHER)
        with pytest.raises(UnsupportedParameterError) as json_schema:
            c.chat.completions.create(model="grok-plain", messages=MESSAGES, response_format=schema)
        with pytest.raises(UnsupportedParameterError) as json_object:
            c.chat.completions.create(
                model="grok-plain", messages=MESSAGES, response_format={"type": "json_object"}
            )
    assert tools.value.param == "tools"
    assert json_schema.value.param == json_object.value.param == "response_format"
    assert api.call_count == 0


def test_an_unknown_json_schema_support_is_sent_without_a_warning(
    api: respx.Route, caught: list[warnings.WarningMessage]
) -> None:
    # The catalog has json_schema: null (unknown) for every model: unknown is no rejection.
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    with client() as c:
        c.chat.completions.create(model="grok-4.7", messages=MESSAGES, response_format=schema)
    assert api.call_count == 1
    assert grok_warnings(caught) == []


def test_a_mapped_deployment_is_checked_against_its_model(api: respx.Route) -> None:
    with client(deployment_models={"prod": "grok-4"}) as c, pytest.raises(UnsupportedParameterError) as info:
        c.chat.completions.create(model="prod", messages=MESSAGES, max_tokens=9000)
    assert "Deployment 'prod'" in str(info.value)
    assert info.value.model == "grok-4"
    assert api.call_count == 0


# -- retired models -----------------------------------------------------------------------------------------


def test_a_retired_model_is_refused_with_its_replacement(api: respx.Route) -> None:
    with client(deployment_models={"old": "grok-3-mini"}) as c, pytest.raises(ModelRetiredError) as info:
        c.chat.completions.create(model="old", messages=MESSAGES)
    error = info.value
    assert (error.model, error.replacement) == ("grok-3-mini", "grok-4-1-fast-reasoning")
    assert error.retired_on == datetime.date(2026, 5, 1)
    assert "grok-4-1-fast-reasoning" in str(error)
    assert "retired" in str(error)
    assert api.call_count == 0


async def test_the_async_client_refuses_a_retired_model_when_streaming(stream_api: respx.Route) -> None:
    async with aclient() as c:
        with pytest.raises(ModelRetiredError, match="grok-4-1-fast-non-reasoning"):
            await c.chat.completions.create(model="grok-4-fast-non-reasoning", messages=MESSAGES, stream=True)
    assert stream_api.call_count == 0


def test_a_passed_retirement_date_only_warns(api: respx.Route, caught: list[warnings.WarningMessage]) -> None:
    # A scheduled date is not a retirement: dates slip, so the SDK warns and sends.
    catalog = load_catalog().with_models(ModelSpec(id="grok-old", retired_on=datetime.date(2020, 1, 1)))
    with client(catalog=catalog) as c:
        c.chat.completions.create(model="grok-old", messages=MESSAGES)
    assert api.call_count == 1
    (message,) = grok_warnings(caught)
    assert "scheduled to retire on 2020-01-01" in message


# -- the context window -------------------------------------------------------------------------------------


def test_a_prompt_that_plainly_cannot_fit_is_refused(api: respx.Route) -> None:
    long = [{"role": "user", "content": "x" * (4 * 200_000)}]
    with client() as c, pytest.raises(PromptTooLongError) as info:
        c.chat.completions.create(model="grok-4-1-fast-non-reasoning", messages=long)
    error = info.value
    assert isinstance(error, ContextLengthExceededError)
    assert (error.status_code, error.code, error.param) == (400, "context_length_exceeded", "messages")
    assert error.context_window == 128_000
    assert 200_000 <= error.estimated_tokens < 200_100
    assert error.model == "grok-4-1-fast-non-reasoning"
    assert api.call_count == 0


def test_the_requested_output_counts_against_the_window(api: respx.Route) -> None:
    prompt = [{"role": "user", "content": "x" * (4 * 100_000)}]
    with client() as c:
        c.chat.completions.create(model="grok-4-1-fast-non-reasoning", messages=prompt, max_tokens=1000)
        with pytest.raises(PromptTooLongError, match="max_tokens=100,000"):
            c.chat.completions.create(
                model="grok-4-1-fast-non-reasoning", messages=prompt, max_tokens=100_000
            )
    assert api.call_count == 1


def test_a_prompt_near_the_window_is_sent_because_the_estimate_may_be_high(api: respx.Route) -> None:
    # About 140,000 tokens by the estimate for a 128,000 window: within the estimate's margin, so the service
    # decides (its answer is a ContextLengthExceededError too).
    near = [{"role": "user", "content": "x" * (4 * 140_000)}]
    with client() as c:
        c.chat.completions.create(model="grok-4-1-fast-non-reasoning", messages=near)
    assert api.call_count == 1


async def test_the_async_client_refuses_a_prompt_that_cannot_fit(stream_api: respx.Route) -> None:
    long = [{"role": "user", "content": "x" * (4 * 400_000)}]
    async with aclient() as c:
        with pytest.raises(PromptTooLongError):
            c.chat.completions.stream(model="grok-4", messages=long)
    assert stream_api.call_count == 0


# -- inferred facts: a warning, once per client; the request is sent ----------------------------------------


def test_an_unconfirmed_rejection_warns_once_per_client_and_sends(
    api: respx.Route, caught: list[warnings.WarningMessage]
) -> None:
    with client() as c:
        c.chat.completions.create(model="grok-4", messages=MESSAGES, stop=["END"])
        c.chat.completions.create(model="grok-4", messages=MESSAGES, stop=["END"])
    with client() as other:
        other.chat.completions.create(model="grok-4", messages=MESSAGES, stop=["END"])
    assert api.call_count == 3
    assert api.calls[0].request.content.count(b'"stop"') == 1
    messages = grok_warnings(caught)
    assert len(messages) == 2  # one per client
    assert "grok-4 does not accept stop" in messages[0]
    assert "no Azure source confirms it" in messages[0]
    assert "Sent anyway" in messages[0]


def test_the_warning_points_at_the_callers_line(
    api: respx.Route, caught: list[warnings.WarningMessage]
) -> None:
    with client() as c:
        c.chat.completions.create(model="grok-4", messages=MESSAGES, frequency_penalty=0.5)
    (warning,) = [w for w in caught if issubclass(w.category, GrokAzureWarning)]
    assert warning.filename == __file__


def test_unconfirmed_effort_values_warn_and_send(
    api: respx.Route, caught: list[warnings.WarningMessage]
) -> None:
    guess = ModelSpec(
        id="grok-guess", reasons=True, effort_values=("low", "high"), unconfirmed=["effort_values"]
    )
    with client(catalog=load_catalog().with_models(guess)) as c:
        c.chat.completions.create(model="grok-guess", messages=MESSAGES, reasoning_effort="medium")
    assert api.call_count == 1
    (message,) = grok_warnings(caught)
    assert "accepts reasoning_effort 'low', 'high'" in message


def test_an_unconfirmed_text_only_model_gets_images_with_a_warning(
    api: respx.Route, caught: list[warnings.WarningMessage]
) -> None:
    guess = ModelSpec(id="grok-guess", input_modalities={"text"}, unconfirmed=["input_modalities"])
    with client(catalog=load_catalog().with_models(guess)) as c:
        c.chat.completions.create(model="grok-guess", messages=[{"role": "user", "content": [IMAGE]}])
    assert api.call_count == 1
    assert "takes text only" in grok_warnings(caught)[0]


def test_one_warning_across_threads(api: respx.Route, caught: list[warnings.WarningMessage]) -> None:
    errors: list[BaseException] = []
    with client() as c:

        def call() -> None:
            try:
                c.chat.completions.create(model="grok-4", messages=MESSAGES, presence_penalty=0.1)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert api.call_count == 8
    assert len(grok_warnings(caught)) == 1


# -- unknown deployments, validate=False --------------------------------------------------------------------


def test_an_unknown_deployment_passes_with_one_warning(
    api: respx.Route, caught: list[warnings.WarningMessage]
) -> None:
    with client() as c:
        c.chat.completions.create(model="my-chat", messages=MESSAGES, max_tokens=10**6)
        c.chat.completions.create(model="my-chat", messages=MESSAGES)
    assert api.call_count == 2
    (message,) = grok_warnings(caught)
    assert "'my-chat' is not mapped to a catalog model" in message
    assert "deployment_models=" in message


async def test_the_async_client_warns_about_an_unknown_deployment_once(
    api: respx.Route, caught: list[warnings.WarningMessage]
) -> None:
    async with aclient() as c:
        await c.chat.completions.create(model="my-chat", messages=MESSAGES)
        await c.chat.completions.create(model="my-chat", messages=MESSAGES)
    assert api.call_count == 2
    assert len(grok_warnings(caught)) == 1


@pytest.mark.parametrize(
    ("deployment", "params"),
    [
        ("grok-4.6", {"presence_penalty": 0.5}),
        ("grok-4", {"max_tokens": 9000, "stop": ["END"]}),
        ("grok-3-mini", {}),
        ("grok-4", {"messages": [{"role": "user", "content": "x" * (4 * 400_000)}]}),
        ("unmapped", {}),
    ],
)
def test_validate_false_sends_everything_without_warnings(
    api: respx.Route, caught: list[warnings.WarningMessage], deployment: str, params: dict[str, Any]
) -> None:
    params.setdefault("messages", MESSAGES)
    with client(validate=False) as c:
        c.chat.completions.create(model=deployment, **params)
    assert api.call_count == 1
    assert grok_warnings(caught) == []


def test_with_options_turns_validation_off_for_the_copy_only(api: respx.Route) -> None:
    with client() as c:
        c.with_options(validate=False).chat.completions.create(
            model="grok-4", messages=MESSAGES, max_tokens=9000
        )
        with pytest.raises(UnsupportedParameterError):
            c.chat.completions.create(model="grok-4", messages=MESSAGES, max_tokens=9000)
    assert api.call_count == 1


@pytest.mark.parametrize("value", [1, "yes", None])
def test_validate_must_be_a_bool(value: object) -> None:
    from grok_azure import ConfigurationError

    with pytest.raises(ConfigurationError, match="validate"):
        client(validate=value)


def test_validate_false_still_costs_the_completion(api: respx.Route) -> None:
    with client(validate=False, deployment_models={"prod": "grok-4.6"}) as c:
        completion = c.chat.completions.create(model="prod", messages=MESSAGES, presence_penalty=0.5)
    assert completion.cost is not None
    assert completion.cost.price == load_catalog().require("grok-4.6").price


def test_a_pool_checks_the_model_of_each_deployment_it_may_reach(mock_api: respx.MockRouter) -> None:
    from grok_azure import Deployment

    east = mock_api.post("https://east.services.ai.azure.com/openai/v1/chat/completions").respond(
        200, json=completion_body()
    )
    west = mock_api.post("https://west.services.ai.azure.com/openai/v1/chat/completions").respond(
        200, json=completion_body()
    )
    pool = [
        Deployment(endpoint="https://east.services.ai.azure.com", api_key=KEY, deployment="east-grok"),
        Deployment(endpoint="https://west.services.ai.azure.com", api_key=KEY, deployment="grok-4"),
    ]
    with GrokClient(deployments=pool, environ={}, deployment_models={"east-grok": "grok-4.7"}) as c:
        # grok-4 (west) caps output at 8,192: the call could fail over there, so it is refused.
        with pytest.raises(UnsupportedParameterError) as info:
            c.chat.completions.create(model="ignored", messages=MESSAGES, max_tokens=9000)
        assert "Deployment 'grok-4'" in str(info.value)
        completion = c.chat.completions.create(model="ignored", messages=MESSAGES, max_tokens=8000)
    assert east.call_count + west.call_count == 1
    assert completion.cost is not None
    served = "grok-4.7" if east.called else "grok-4"
    assert completion.cost.price == load_catalog().require(served).price


@pytest.mark.parametrize("params", [{"presence_penalty": 0}, {"frequency_penalty": 0.0}, {"logprobs": False}])
def test_a_parameter_at_its_neutral_value_is_sent_to_a_model_that_rejects_other_values(
    params: dict[str, Any], api: respx.Route
) -> None:
    # Azure answered grok-4.6 400 only for non-default penalties and logprobs; generic callers send these zeros.
    with client() as c:
        assert c.chat.completions.create(model="grok-4.6", messages=MESSAGES, **params).text
    assert api.call_count == 1


def test_a_malformed_deployments_variable_is_refused_without_echoing_it() -> None:
    from grok_azure import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        GrokClient(
            endpoint=ENDPOINT, api_key=KEY, environ={"GROK_AZURE_DEPLOYMENTS": "sk-SECRET-pasted-here"}
        )
    assert "sk-SECRET" not in str(caught.value)
    assert "GROK_AZURE_DEPLOYMENTS" in str(caught.value)


def test_the_quick_bound_that_skips_the_estimate_is_never_below_it() -> None:
    # The context check skips the estimate's walk when a plain-text prompt fits by its length alone; that is only
    # sound if the bound is never below the estimate, whatever the characters.
    import random
    import string

    from grok_azure._cost import estimate_prompt_tokens
    from grok_azure._model_checks import _plain_text_bound

    rng = random.Random(7)
    alphabet = string.printable + "éü中文字😀"
    for _ in range(500):
        messages = [
            {"role": "user", "content": "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))}
            for _ in range(rng.randint(0, 5))
        ]
        body = {"model": "m", "messages": messages}
        bound = _plain_text_bound(body)
        assert bound is not None
        assert bound >= estimate_prompt_tokens(body)
    assert (
        _plain_text_bound({"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]})
        is None
    )
    assert _plain_text_bound({"messages": [], "tools": []}) is None


# --- the shortcut for the common body ------------------------------------------------------------------------

_SPECS = [
    *load_catalog().models,
    ModelSpec(
        id="grok-tiny", context_window=40, input_modalities={"text"}, rejected_parameters=["stop", "seed"]
    ),
    ModelSpec(
        id="grok-guess", rejected_parameters=["temperature"], unconfirmed=["rejected_parameters.temperature"]
    ),
    _CAPPED := ModelSpec(id="grok-capped", context_window=5_000, max_output_tokens=1_000),
    _SMALL := ModelSpec(id="grok-small", context_window=1_000),
    ModelSpec(id="grok-leaving", retired_on=datetime.date.today() + datetime.timedelta(days=30)),
    ModelSpec(id="grok-gone", retired_on=datetime.date(2020, 1, 1)),
]
_FIELDS = st.sampled_from(
    [
        "temperature",
        "top_p",
        "seed",
        "user",
        "n",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "reasoning_effort",
        "max_tokens",
        "max_completion_tokens",
        "tools",
        "functions",
        "response_format",
        "parallel_tool_calls",
        "stream_options",
    ]
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 3_000_000),
    st.integers(0, 2_000),
    st.floats(0, 2),
    st.sampled_from(["low", "high", "medium", "minimal", "text", "x"]),
    st.just(WEATHER),
    st.sampled_from([{"type": "json_schema"}, {"type": "json_object"}, {"type": "text"}]),
)
_CONTENT = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.just("word " * 300_000),  # long enough to overflow any window
    st.just([{"type": "text", "text": "hi"}, IMAGE]),
    st.just([{"type": "text", "text": "hi"}]),
)
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool"]), "content": _CONTENT},
    optional={
        "type": st.sampled_from([["x"], {"a": 1}, "image_url", "text"]),  # a caller's extra key, of any type
        "name": st.text(max_size=5),
        "tool_call_id": st.just("call_1"),
        "tool_calls": st.just(
            [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        ),
    },
)
_MESSAGES = st.lists(st.one_of(_MESSAGE, st.just("not a dict")), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=st.sampled_from(_SPECS),
    messages=_MESSAGES,
    params=st.dictionaries(_FIELDS, _VALUES, max_size=4),
)
@example(spec=_CAPPED, messages=MESSAGES, params={"max_tokens": 1_500})  # over the model's output limit
@example(spec=_SMALL, messages=MESSAGES, params={"max_completion_tokens": 999})  # prompt + output > window
def test_the_shortcut_never_skips_a_finding(
    spec: ModelSpec, messages: list[Any], params: dict[str, Any]
) -> None:
    body = {"model": "m", "messages": messages, **params}
    # Both ways the shortcut bounds the prompt: from a walk of plain-text messages, and from the encoding's size.
    if nothing_to_find(spec, body) or nothing_to_find(spec, body, encode_json(body)):
        assert list(findings(spec, body)) == []


def _text_only_spec() -> ModelSpec:
    return next(s for s in _SPECS if s.status != "retired" and "image" not in s.input_modalities)


def test_an_image_part_is_never_read_past_in_the_encoding() -> None:
    spec = _text_only_spec()
    body = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, IMAGE]}]}
    assert not nothing_to_find(spec, body, encode_json(body))
    assert [f.param for f in findings(spec, body)] == ["messages"]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "hi", "type": ["x"]}],
        [{"role": "user", "content": [{"type": "text", "text": "hi", "meta": {"type": {"a": 1}}}]}],
    ],
    ids=["message", "nested"],
)
def test_a_type_that_is_not_a_string_is_no_image_part(messages: list[Any]) -> None:
    # A caller's extra key may hold anything under "type"; the checks' walk raised TypeError on an unhashable one.
    assert list(findings(_text_only_spec(), {"model": "m", "messages": messages})) == []
    with respx.mock:
        route = respx.post(CHAT_URL).respond(200, json=completion_body())
        with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models={"prod": "grok-4"}) as client:
            # tools: a value-checked field, so the checks walk the body rather than take the shortcut
            client.chat.completions.create(model="prod", messages=messages, tools=WEATHER)
    assert route.call_count == 1


def test_text_that_names_an_image_type_is_not_taken_for_an_image_part() -> None:
    spec = _text_only_spec()
    body = {"model": "m", "messages": [{"role": "user", "content": 'what does {"type": "image_url"} mean?'}]}
    assert nothing_to_find(spec, body, encode_json(body))


def test_the_encodings_size_spares_the_walk_for_messages_that_are_not_plain_text() -> None:
    # A tool-call turn is not plain text, so the walk's bound gives up on it; the encoding's size still bounds it.
    spec = _text_only_spec()
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    }
    assert not nothing_to_find(spec, body)
    assert nothing_to_find(spec, body, encode_json(body))


def test_a_prompt_over_the_window_is_found_with_the_encoding_too() -> None:
    spec = next(s for s in _SPECS if s.context_window and s.status != "retired" and s.retired_on is None)
    assert spec.context_window is not None
    body = {"model": "m", "messages": [{"role": "user", "content": "word " * 2 * spec.context_window}]}
    assert not nothing_to_find(spec, body, encode_json(body))
    assert [f.kind for f in findings(spec, body)] == ["context"]


@pytest.mark.parametrize(
    "spec",
    [
        s
        for s in _SPECS
        if s.status != "retired"
        and (s.retired_on is None or s.retired_on > datetime.date.today())
        and (s.context_window is None or s.context_window > 1_000)  # room for the plain chat below
    ],
    ids=lambda spec: spec.id,
)
def test_a_plain_chat_takes_the_shortcut(spec: ModelSpec) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "system", "content": "be brief"}, *MESSAGES],
        "temperature": 0.2,
        "max_tokens": 200,
    }
    assert nothing_to_find(spec, body) is ("temperature" not in spec.rejected_parameters)


def test_a_prompt_too_long_says_nothing_was_sent_without_an_error_code() -> None:
    error = PromptTooLongError(
        "The prompt cannot fit. Nothing was sent.", model="grok-4", estimated_tokens=9, context_window=1
    )
    assert (
        str(error) == "The prompt cannot fit. Nothing was sent."
    )  # no "Error code: 400" of a service never asked
    assert error.status_code == 400  # still caught and handled as the service's own 400 would be
