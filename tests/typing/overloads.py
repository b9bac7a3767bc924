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
