"""Checked by mypy in tests/unit/test_typing.py: the overloads give each call its precise type."""

from __future__ import annotations

from typing_extensions import assert_type

from grok_azure import (
    AsyncChatCompletionStreamManager,
    AsyncGrokClient,
    AsyncStream,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionStreamManager,
    GrokClient,
    MessageParam,
    Stream,
)

MESSAGES: list[MessageParam] = [{"role": "user", "content": "Hi"}]


def sync_calls(client: GrokClient, flag: bool) -> None:
    assert_type(client.chat.completions.create(model="m", messages=MESSAGES), ChatCompletion)
    assert_type(client.chat.completions.create(model="m", messages=MESSAGES, stream=False), ChatCompletion)
    assert_type(
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True), Stream[ChatCompletionChunk]
    )
    assert_type(
        client.chat.completions.create(model="m", messages=MESSAGES, stream=flag),
        ChatCompletion | Stream[ChatCompletionChunk],
    )
    assert_type(client.chat.completions.stream(model="m", messages=MESSAGES), ChatCompletionStreamManager)
    with client.chat.completions.stream(model="m", messages=MESSAGES, temperature=0.1) as stream:
        assert_type(stream.get_final_completion(), ChatCompletion)


async def async_calls(client: AsyncGrokClient) -> None:
    assert_type(await client.chat.completions.create(model="m", messages=MESSAGES), ChatCompletion)
    assert_type(
        await client.chat.completions.create(model="m", messages=MESSAGES, stream=True),
        AsyncStream[ChatCompletionChunk],
    )
    assert_type(
        client.chat.completions.stream(model="m", messages=MESSAGES), AsyncChatCompletionStreamManager
    )
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert_type(await stream.get_final_completion(), ChatCompletion)


def rejected(client: GrokClient) -> None:
    client.chat.completions.create(model="m", messages=MESSAGES, temprature=1)  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, max_tokens="many")  # type: ignore[call-overload]


def structured_calls(client: GrokClient) -> None:
    from pydantic import BaseModel, TypeAdapter

    from grok_azure import ParsedChatCompletion, StructuredChatCompletionStream, StructuredStreamManager

    class City(BaseModel):
        name: str

    parsed = client.chat.completions.parse(model="m", messages=MESSAGES, response_format=City, max_tokens=50)
    assert_type(parsed, ParsedChatCompletion[City])
    assert_type(parsed.choices[0].message.parsed, City | None)
    assert_type(parsed.parsed, City | None)
    listed = client.chat.completions.parse(
        model="m", messages=MESSAGES, response_format=TypeAdapter(list[City])
    )
    assert_type(listed.parsed, list[City] | None)
    manager = client.chat.completions.stream(model="m", messages=MESSAGES, response_format=City)
    assert_type(manager, StructuredStreamManager[City])
    with manager as stream:
        assert_type(stream, StructuredChatCompletionStream[City])
        assert_type(stream.get_final_completion(), ParsedChatCompletion[City])


async def async_structured_calls(client: AsyncGrokClient) -> None:
    from pydantic import BaseModel

    from grok_azure import AsyncStructuredStreamManager, ParsedChatCompletion

    class City(BaseModel):
        name: str

    parsed = await client.chat.completions.parse(model="m", messages=MESSAGES, response_format=City)
    assert_type(parsed, ParsedChatCompletion[City])
    assert_type(parsed.choices[0].message.parsed, City | None)
    manager = client.chat.completions.stream(model="m", messages=MESSAGES, response_format=City, strict=False)
    assert_type(manager, AsyncStructuredStreamManager[City])
    async with manager as stream:
        assert_type(await stream.get_final_completion(), ParsedChatCompletion[City])


def tool_runs(client: GrokClient, flag: bool) -> None:
    from grok_azure import Tool, ToolCallRecord, ToolRunEvent, ToolRunResult, ToolRunStream, tool

    @tool
    def add(a: int, b: int) -> int:
        return a + b

    @tool(name="mul", strict=True)
    def mul(a: int, b: int) -> int:
        return a * b

    typed: Tool[..., int] = add  # a Tool keeps the function's return type
    assert_type(typed.to_param()["function"]["name"], str)
    assert_type(add(1, 2), int)  # still callable with its own signature
    assert_type(mul(2, 3), int)
    result = client.chat.completions.run_tools(
        model="m", messages=MESSAGES, tools=[add, mul], temperature=0.1
    )
    assert_type(result, ToolRunResult)
    assert_type(result.tool_calls, list[ToolCallRecord])
    assert_type(result.messages, list[MessageParam])
    run = client.chat.completions.run_tools(model="m", messages=MESSAGES, tools=[add], stream=True)
    assert_type(run, ToolRunStream)
    with run:
        for event in run:
            assert_type(event, ToolRunEvent)
        assert_type(run.get_final_result(), ToolRunResult)
    assert_type(
        client.chat.completions.run_tools(model="m", messages=MESSAGES, tools=[add], stream=flag),
        ToolRunResult | ToolRunStream,
    )
    add("x", 2)  # type: ignore[arg-type]


async def async_tool_runs(client: AsyncGrokClient) -> None:
    from grok_azure import AsyncToolRunStream, ToolRunResult, tool

    @tool
    async def fetch(url: str) -> str:
        return url

    assert_type(await fetch("u"), str)
    result = await client.chat.completions.run_tools(model="m", messages=MESSAGES, tools=[fetch])
    assert_type(result, ToolRunResult)
    run = await client.chat.completions.run_tools(model="m", messages=MESSAGES, tools=[fetch], stream=True)
    assert_type(run, AsyncToolRunStream)
    async with run:
        assert_type(await run.get_final_result(), ToolRunResult)


def raw_responses(client: GrokClient, flag: bool) -> None:
    from pydantic import BaseModel

    from grok_azure import ChatCompletionStream, RawResponse, RawStreamManager, StructuredChatCompletionStream

    class City(BaseModel):
        name: str

    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert_type(raw, RawResponse[ChatCompletion])
    assert_type(raw.parse(), ChatCompletion)
    assert_type(raw.status_code, int)
    assert_type(raw.request_id, str | None)
    streamed = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES, stream=True)
    assert_type(streamed.parse(), Stream[ChatCompletionChunk])
    assert_type(
        client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES, stream=flag),
        RawResponse[ChatCompletion] | RawResponse[Stream[ChatCompletionChunk]],
    )
    manager = client.chat.completions.with_raw_response.stream(model="m", messages=MESSAGES)
    assert_type(manager, RawStreamManager[ChatCompletionStream])
    with manager as raw_stream:
        assert_type(raw_stream.parse().get_final_completion(), ChatCompletion)
    with client.chat.completions.with_raw_response.stream(
        model="m", messages=MESSAGES, response_format=City
    ) as raw_structured:
        assert_type(raw_structured.parse(), StructuredChatCompletionStream[City])
    client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES, temprature=1)  # type: ignore[call-overload]


async def async_raw_responses(client: AsyncGrokClient) -> None:
    from grok_azure import AsyncChatCompletionStream, AsyncRawStreamManager, RawResponse

    raw = await client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert_type(raw, RawResponse[ChatCompletion])
    streamed = await client.chat.completions.with_raw_response.create(
        model="m", messages=MESSAGES, stream=True
    )
    assert_type(streamed.parse(), AsyncStream[ChatCompletionChunk])
    manager = client.chat.completions.with_raw_response.stream(model="m", messages=MESSAGES)
    assert_type(manager, AsyncRawStreamManager[AsyncChatCompletionStream])
    async with manager as raw_stream:
        assert_type(await raw_stream.parse().get_final_completion(), ChatCompletion)


def tracing_hook() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from grok_azure import Hook
    from grok_azure.otel import TracingHook

    hook = TracingHook(tracer_provider=TracerProvider(), capture_content=True)
    assert_type(hook.capture_content, bool)
    hooks: list[Hook] = [hook]  # a TracingHook is a Hook: it goes in hooks=[...]
    GrokClient(api_key="k", endpoint="https://e", hooks=hooks)
    TracingHook(capture_content="yes")  # type: ignore[arg-type]
    TracingHook(tracer_provider="global")  # type: ignore[arg-type]


# --- batches (issue 11) ---
def batches(client: GrokClient) -> None:
    from grok_azure import BatchProgress, BatchRequest, BatchResult, BatchSummary

    def show(progress: BatchProgress) -> None:
        assert_type(progress.eta, float | None)

    summary = client.batches.run("in.jsonl", "out.jsonl", concurrency=4, rpm=600, on_progress=show)
    assert_type(summary, BatchSummary)
    assert_type(summary.cost, float | None)
    assert_type(client.batches.run([BatchRequest("a", {"messages": []})], "o.jsonl", model="m"), BatchSummary)
    assert_type(BatchResult.from_line("{}"), BatchResult)
    client.batches.run("in.jsonl")  # type: ignore[call-arg]  # the output is required
    client.batches.run("in.jsonl", "out.jsonl", rpm="600")  # type: ignore[arg-type]


async def async_batches(client: AsyncGrokClient) -> None:
    from grok_azure import BatchSummary

    assert_type(await client.batches.run("in.jsonl", "out.jsonl", retry_failed=True), BatchSummary)
