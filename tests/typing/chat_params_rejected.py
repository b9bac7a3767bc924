"""Wrong calls: ``mypy --strict --warn-unused-ignores`` must reject every marked line.

Each line carries ``# type: ignore[<code>]`` for the error it must raise. If a line stops being rejected, its ignore
becomes unused and tests/unit/test_typing.py fails naming that line; an error with another code fails it too.
Every line differs from a call in chat_params_accepted.py by the one wrong argument, so it is that argument that
is rejected. One call per line: mypy reports an argument on its own line in a multi-line call.

``create`` and ``stream`` (structured ``response_format=Model`` or not) are overloaded, so mypy reports a wrong
keyword there as ``call-overload``. A wrong dict inside a list is ``list-item`` in both; a wrong literal inside a value that mypy
infers in context gets its own code (``dict-item``, ``list-item``).
"""

from __future__ import annotations

from typing_extensions import Unpack

from grok_azure import AsyncGrokClient, GrokClient, MessageParam, ToolParam
from grok_azure.types import ChatParams, ReasoningEffort, ResponseFormatParam, ToolChoiceParam

MESSAGES: list[MessageParam] = [{"role": "user", "content": "Hi"}]
TOOLS: list[ToolParam] = [{"type": "function", "function": {"name": "f"}}]


# fmt: off
def issue_examples_sync_create(client: GrokClient) -> None:
    client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, tool_choice=42)  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, response_format=3.14)  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, reasoning_effort="hgih")  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=[{"role": "usr", "content": "Hi"}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=MESSAGES, tools=[{"name": "f"}])  # type: ignore[list-item]


def issue_examples_sync_stream(client: GrokClient) -> None:
    client.chat.completions.stream(model="m", messages=MESSAGES, tools=TOOLS, tool_choice=42)  # type: ignore[call-overload]
    client.chat.completions.stream(model="m", messages=MESSAGES, response_format=3.14)  # type: ignore[call-overload]
    client.chat.completions.stream(model="m", messages=MESSAGES, reasoning_effort="hgih")  # type: ignore[call-overload]
    client.chat.completions.stream(model="m", messages=[{"role": "usr", "content": "Hi"}])  # type: ignore[list-item]
    client.chat.completions.stream(model="m", messages=MESSAGES, tools=[{"name": "f"}])  # type: ignore[list-item]


async def issue_examples_async_create(client: AsyncGrokClient) -> None:
    await client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, tool_choice=42)  # type: ignore[call-overload]
    await client.chat.completions.create(model="m", messages=MESSAGES, response_format=3.14)  # type: ignore[call-overload]
    await client.chat.completions.create(model="m", messages=MESSAGES, reasoning_effort="hgih")  # type: ignore[call-overload]
    await client.chat.completions.create(model="m", messages=[{"role": "usr", "content": "Hi"}])  # type: ignore[list-item]
    await client.chat.completions.create(model="m", messages=MESSAGES, tools=[{"name": "f"}])  # type: ignore[list-item]
    await client.chat.completions.create(model="m", messages=MESSAGES, stream=True, tool_choice=42)  # type: ignore[call-overload]
    await client.chat.completions.create(model="m", messages=MESSAGES, stream=True, reasoning_effort="hgih")  # type: ignore[call-overload]


def issue_examples_async_stream(client: AsyncGrokClient) -> None:
    client.chat.completions.stream(model="m", messages=MESSAGES, tools=TOOLS, tool_choice=42)  # type: ignore[call-overload]
    client.chat.completions.stream(model="m", messages=MESSAGES, response_format=3.14)  # type: ignore[call-overload]
    client.chat.completions.stream(model="m", messages=MESSAGES, reasoning_effort="hgih")  # type: ignore[call-overload]
    client.chat.completions.stream(model="m", messages=[{"role": "usr", "content": "Hi"}])  # type: ignore[list-item]
    client.chat.completions.stream(model="m", messages=MESSAGES, tools=[{"name": "f"}])  # type: ignore[list-item]


def more_mistakes(client: GrokClient) -> None:
    # messages: a missing required key, a wrong content part, a tool result without its call id, a bare string.
    client.chat.completions.create(model="m", messages=[{"role": "user"}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": [{"type": "txt", "text": "a"}]}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=[{"role": "tool", "content": "{}"}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=[{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages="Hi")  # type: ignore[arg-type]
    client.chat.completions.create(model="m", messages=[{"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f"}}]}])  # type: ignore[list-item]
    # tools: the bare function definition, a wrong type tag, a function without a name, a schema as a string.
    client.chat.completions.create(model="m", messages=MESSAGES, tools=[{"type": "function", "name": "f"}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=MESSAGES, tools=[{"type": "code", "function": {"name": "f"}}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=MESSAGES, tools=[{"type": "function", "function": {"description": "d"}}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=MESSAGES, tools=[{"type": "function", "function": {"name": "f", "parameters": "{}"}}])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=MESSAGES, tools={"type": "function", "function": {"name": "f"}})  # type: ignore[dict-item]
    # tool_choice and response_format: a misspelt mode, a choice without its function, a misspelt format.
    client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, tool_choice="any")  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, tool_choice={"type": "function"})  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, response_format={"type": "json"})  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, response_format="json_schema")  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, response_format={"type": "json_schema", "json_schema": {"name": "n"}})  # type: ignore[call-overload]
    # stop, stream_options and request options.
    client.chat.completions.create(model="m", messages=MESSAGES, stop=5)  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, stop=[1, 2])  # type: ignore[list-item]
    client.chat.completions.create(model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": "yes"})  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, stream=True, stream_options={"usage": True})  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, extra_headers={"x-retries": 3})  # type: ignore[dict-item]
    client.chat.completions.create(model="m", messages=MESSAGES, extra_query={"page": 2})  # type: ignore[dict-item]
    client.chat.completions.create(model="m", messages=MESSAGES, extra_body=["search"])  # type: ignore[call-overload]
    client.chat.completions.create(model="m", messages=MESSAGES, timeout="5s")  # type: ignore[call-overload]


def forwarded_parameters_are_checked(client: GrokClient) -> None:
    def ask(prompt: str, **params: Unpack[ChatParams]) -> str:
        return client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}], **params).text

    ask("Hi", tool_choice=42)  # type: ignore[arg-type]
    ask("Hi", reasoning_effort="hgih")  # type: ignore[arg-type]
    ask("Hi", temprature=0.2)  # type: ignore[call-arg]


def annotated_values_are_checked_too() -> None:
    effort: ReasoningEffort = "minimal"  # type: ignore[assignment]
    choice: ToolChoiceParam = "always"  # type: ignore[assignment]
    fmt: ResponseFormatParam = {"type": "json_object", "schema": {}}  # type: ignore[assignment]
    history: list[MessageParam] = [{"role": "user", "content": "Hi", "reasoning_content": "..."}]  # type: ignore[list-item]
    del effort, choice, fmt, history
# fmt: on
