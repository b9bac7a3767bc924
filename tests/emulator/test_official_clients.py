"""The official clients, unchanged, against the emulator: openai on /openai/v1, azure-ai-inference on /models."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.aio import ChatCompletionsClient as AsyncChatCompletionsClient
from azure.ai.inference.models import (
    ChatCompletionsToolDefinition,
    FunctionDefinition,
    JsonSchemaFormat,
    SystemMessage,
    UserMessage,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from grok_azure.testing import Fault, FoundryEmulator

from .test_completions import PERSON, WEATHER


@pytest.fixture
def oai(emu: FoundryEmulator) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=emu.url + "/openai/v1", api_key=emu.api_key, max_retries=0) as client:
        yield client


@pytest.fixture
def inference(emu: FoundryEmulator) -> Iterator[ChatCompletionsClient]:
    with ChatCompletionsClient(
        endpoint=emu.url + "/models", credential=AzureKeyCredential(emu.api_key), api_version="2025-05-01"
    ) as client:
        yield client


# -- openai ------------------------------------------------------------------------------------------------


def test_openai_create_returns_the_echo_and_usage(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="mini", messages=[{"role": "user", "content": "hi there"}])
    assert completion.choices[0].message.content == "Echo: hi there"
    assert completion.choices[0].message.tool_calls is None
    assert completion.model == "grok-3-mini-high"  # the served name, as recorded
    assert completion.system_fingerprint is None
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    reasoning = completion.usage.completion_tokens_details.reasoning_tokens
    assert reasoning
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens + reasoning
    )
    assert "hi there" in completion.choices[0].message.model_extra["reasoning_content"]  # type: ignore[index]


def test_openai_stream_with_include_usage_matches_create(oai: openai.OpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "stream me"}]
    whole = oai.chat.completions.create(model="mini", messages=messages)
    content, usage, finish = "", None, None
    with oai.chat.completions.create(
        model="mini", messages=messages, stream=True, stream_options={"include_usage": True}
    ) as stream:
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                content += choice.delta.content or ""
                finish = choice.finish_reason or finish
    assert content == whole.choices[0].message.content
    assert finish == "stop"
    assert usage is not None
    assert usage.completion_tokens_details is not None
    assert usage.total_tokens == (
        usage.prompt_tokens
        + usage.completion_tokens
        + (usage.completion_tokens_details.reasoning_tokens or 0)
    )
    assert whole.usage is not None
    plain = whole.usage.model_dump()
    assert plain.pop("audio_prompt_tokens") == 0  # only the non-streamed usage has it, as recorded
    assert usage.model_dump() == plain


def test_openai_tools_round_trip(emu: FoundryEmulator, oai: openai.OpenAI) -> None:
    emu.reply(tool_calls=[{"name": "get_weather"}])
    first = oai.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    [call] = first.choices[0].message.tool_calls or []
    assert first.choices[0].finish_reason == "tool_calls"
    arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
    jsonschema.validate(arguments, WEATHER["function"]["parameters"])  # type: ignore[index]
    second = oai.chat.completions.create(
        model="fast",
        messages=[
            {"role": "user", "content": "weather?"},
            first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.choices[0].message.content == "Tool results: sunny"


@pytest.mark.parametrize("form", ["whole", "fragmented"])
def test_openai_streamed_tool_calls_reassemble(form: str) -> None:
    with (
        FoundryEmulator(
            api_key="k", deployments={"fast": "grok-4-1-fast-non-reasoning"}, tool_call_deltas=form
        ) as emu,  # type: ignore[arg-type]
        openai.OpenAI(base_url=emu.url + "/openai/v1", api_key="k", max_retries=0) as oai,
    ):
        emu.reply(
            tool_calls=[{"name": "get_weather"}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]
        )
        with oai.chat.completions.stream(
            model="fast",
            messages=[{"role": "user", "content": "two cities"}],
            tools=[WEATHER],  # type: ignore[list-item]
        ) as stream:
            final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [c.id for c in calls] == ["call_1", "call_2"]
    assert json.loads(calls[1].function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    jsonschema.validate(json.loads(calls[0].function.arguments), WEATHER["function"]["parameters"])  # type: ignore[union-attr,index]
    assert final.choices[0].finish_reason == "tool_calls"


def test_openai_json_schema_parses(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "a person"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON, "strict": True},
        },
    )
    jsonschema.validate(json.loads(completion.choices[0].message.content or ""), PERSON)


def test_openai_maps_emulated_errors_to_its_exceptions(emu: FoundryEmulator, oai: openai.OpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "x"}]
    emu.fault(Fault.rate_limited(retry_after=2))
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(model="fast", messages=messages)
    assert limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="missing", messages=messages)
    with pytest.raises(openai.BadRequestError) as bad:
        oai.chat.completions.create(model="g47", messages=messages, reasoning_effort="minimal")
    assert bad.value.param == "reasoning_effort"
    with pytest.raises(openai.BadRequestError) as versioned:
        oai.chat.completions.create(
            model="fast", messages=messages, extra_query={"api-version": "2024-10-21"}
        )
    assert versioned.value.message.endswith("api-version query parameter is not allowed when using /v1 path")
    with (
        openai.OpenAI(base_url=emu.url + "/openai/v1", api_key="wrong", max_retries=0) as wrong,
        pytest.raises(openai.AuthenticationError),
    ):
        wrong.chat.completions.create(model="fast", messages=messages)


def test_openai_raises_on_a_mid_stream_error_event(emu: FoundryEmulator, oai: openai.OpenAI) -> None:
    emu.fault(Fault.error_event(after_chunks=2, message="backend hiccup"))
    stream = oai.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError, match="backend hiccup"):
        for _ in stream:
            pass


def test_openai_lists_deployments(emu: FoundryEmulator, oai: openai.OpenAI) -> None:
    assert [m.id for m in oai.models.list()] == list(emu.deployments)


# -- azure-ai-inference (sync) ---------------------------------------------------------------------------------


def test_inference_complete(emu: FoundryEmulator, inference: ChatCompletionsClient) -> None:
    result = inference.complete(
        model="fast", messages=[SystemMessage("be brief"), UserMessage("hello inference")], temperature=0.5
    )
    assert result.choices[0].message.content == "Echo: hello inference"
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    recorded = emu.requests[-1]
    assert recorded.route == "model_inference"
    assert recorded.headers["api-key"] == emu.api_key
    assert recorded.headers["authorization"] == f"Bearer {emu.api_key}"
    assert recorded.query["api-version"] == "2025-05-01"


def test_inference_streaming_with_usage_via_model_extras(inference: ChatCompletionsClient) -> None:
    updates = list(
        inference.complete(
            model="mini",
            messages=[UserMessage("stream it")],
            stream=True,
            model_extras={"stream_options": {"include_usage": True}},
        )
    )
    content = "".join(u.choices[0].delta.content or "" for u in updates if u.choices)
    reasoning = "".join(u.choices[0].delta.get("reasoning_content") or "" for u in updates if u.choices)
    assert content == "Echo: stream it"
    assert "stream it" in reasoning
    usage = updates[-1].usage
    reasoning_tokens = usage["completion_tokens_details"]["reasoning_tokens"]  # not a typed field there
    assert reasoning_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens + reasoning_tokens


def test_inference_streams_whole_tool_calls(emu: FoundryEmulator, inference: ChatCompletionsClient) -> None:
    emu.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    tool = ChatCompletionsToolDefinition(
        function=FunctionDefinition(name="get_weather", parameters=WEATHER["function"]["parameters"])  # type: ignore[index]
    )
    updates = list(inference.complete(model="fast", messages=[UserMessage("w?")], tools=[tool], stream=True))
    [call] = [c for u in updates if u.choices for c in u.choices[0].delta.tool_calls or []]
    assert (call.id, call.function.name) == ("call_1", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Oslo"}


def test_inference_tools_and_json_schema(emu: FoundryEmulator, inference: ChatCompletionsClient) -> None:
    tool = ChatCompletionsToolDefinition(
        function=FunctionDefinition(name="get_weather", parameters=WEATHER["function"]["parameters"])  # type: ignore[index]
    )
    result = inference.complete(
        model="fast", messages=[UserMessage("w?")], tools=[tool], tool_choice="required"
    )
    [call] = result.choices[0].message.tool_calls
    assert result.choices[0].finish_reason == "tool_calls"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])  # type: ignore[index]
    structured = inference.complete(
        model="fast",
        messages=[UserMessage("a person")],
        response_format=JsonSchemaFormat(name="person", schema=PERSON),
    )
    jsonschema.validate(json.loads(structured.choices[0].message.content), PERSON)


def test_inference_get_model_info_of_a_single_deployment() -> None:
    with (
        FoundryEmulator(api_key="k", deployments={"only": "grok-4.7"}) as emu,
        ChatCompletionsClient(
            endpoint=emu.url + "/models", credential=AzureKeyCredential("k"), api_version="2025-05-01"
        ) as client,
    ):
        info = client.get_model_info()
    assert (info.model_name, info.model_type, info.model_provider_name) == (
        "grok-4.7",
        "chat-completion",
        "xAI",
    )


def test_inference_get_model_info_selects_with_the_model_parameter(inference: ChatCompletionsClient) -> None:
    assert inference.get_model_info(params={"model": "grok4"}).model_name == "grok-4"


def test_inference_default_api_version_is_answered_as_retired(emu: FoundryEmulator) -> None:
    with (
        ChatCompletionsClient(
            endpoint=emu.url + "/models", credential=AzureKeyCredential(emu.api_key)
        ) as client,
        pytest.raises(HttpResponseError) as retired,
    ):
        client.complete(model="fast", messages=[UserMessage("old version")])
    assert retired.value.status_code == 400
    assert retired.value.error is not None
    assert (retired.value.error.code, retired.value.error.message) == (
        "BadRequest",
        "API version not supported",
    )
    assert emu.requests[-1].query["api-version"] == "2024-05-01-preview"  # retired on 2026-04-10


def test_inference_errors(emu: FoundryEmulator, inference: ChatCompletionsClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        inference.complete(model="missing", messages=[UserMessage("x")])
    with pytest.raises(HttpResponseError) as extra:
        inference.complete(model="fast", messages=[UserMessage("x")], model_extras={"n": 2})
    assert extra.value.status_code == 422
    with pytest.raises(HttpResponseError) as unsupported:
        inference.complete(model="g46", messages=[UserMessage("x")], presence_penalty=0.5)
    assert unsupported.value.status_code == 422
    assert unsupported.value.error is not None
    assert unsupported.value.error.code == "parameter_not_supported"


# -- azure-ai-inference (async) --------------------------------------------------------------------------------


async def test_async_inference_complete_stream_and_model_info(emu: FoundryEmulator) -> None:
    async with AsyncChatCompletionsClient(
        endpoint=emu.url + "/models", credential=AzureKeyCredential(emu.api_key), api_version="2025-05-01"
    ) as client:
        result = await client.complete(model="fast", messages=[UserMessage("async hello")])
        assert result.choices[0].message.content == "Echo: async hello"
        stream = await client.complete(model="fast", messages=[UserMessage("async stream")], stream=True)
        content = ""
        async for update in stream:
            if update.choices:
                content += update.choices[0].delta.content or ""
        assert content == "Echo: async stream"
        info = await client.get_model_info(params={"model": "g47"})
        assert info.model_name == "grok-4.7"
