"""Correct calls, written the way users write them: ``mypy --strict`` must accept every line.

Checked statically by tests/unit/test_typing.py and run for real by tests/unit/test_typing_params.py (against a
mocked endpoint), so the static types never promise a call the runtime then rejects. Each function makes its
calls without loops: the runtime test counts ``client.chat.completions.`` in a function's source as its requests.
"""

from __future__ import annotations

import httpx
from azure.ai.inference import models as azure_models
from typing_extensions import Unpack

from grok_azure import (
    AssistantMessage,
    AsyncGrokClient,
    GrokClient,
    MessageLike,
    MessageParam,
    SystemMessage,
    ToolMessage,
    ToolParam,
    UserMessage,
    UserMessageParam,
)
from grok_azure.types import ChatParams, ReasoningEffort, ResponseFormatParam, ToolChoiceParam

# Variables holding dicts need an annotation (a bare list literal is inferred as list[dict[str, str]]).
HISTORY: list[MessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}], "name": "ops"},
    {"role": "user", "content": "Weather in Oslo?", "name": "ada"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
    },
    {"role": "tool", "content": '{"celsius": 3}', "tool_call_id": "c1"},
    {"role": "assistant", "content": [{"type": "refusal", "refusal": "I cannot share that."}]},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "And here?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/map.png", "detail": "low"}},
        ],
    },
]
TOOLS: list[ToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            "strict": True,
        },
    }
]
NAMED_CHOICE: ToolChoiceParam = {"type": "function", "function": {"name": "get_weather"}}
JSON_SCHEMA: ResponseFormatParam = {
    "type": "json_schema",
    "json_schema": {"name": "city", "schema": {"type": "object"}, "description": "A city.", "strict": True},
}
EFFORT: ReasoningEffort = "xhigh"


def sync_create(client: GrokClient) -> None:
    previous = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    client.chat.completions.create(
        model="m", messages=HISTORY, tools=TOOLS, tool_choice="auto", parallel_tool_calls=True
    )
    client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Call f."}],
        tools=[{"type": "function", "function": {"name": "f"}}],
        tool_choice={"type": "function", "function": {"name": "f"}},
    )
    client.chat.completions.create(model="m", messages=HISTORY, tools=TOOLS, tool_choice="required")
    client.chat.completions.create(model="m", messages=HISTORY, tool_choice="none", reasoning_effort="none")
    client.chat.completions.create(model="m", messages=HISTORY, response_format={"type": "text"})
    client.chat.completions.create(model="m", messages=HISTORY, response_format={"type": "json_object"})
    client.chat.completions.create(model="m", messages=HISTORY, response_format=JSON_SCHEMA)
    client.chat.completions.create(model="m", messages=HISTORY, response_format="json_object")
    client.chat.completions.create(model="m", messages=HISTORY, reasoning_effort="low", stop="END")
    client.chat.completions.create(
        model="m", messages=HISTORY, stop=["END", "STOP"], timeout=httpx.Timeout(5.0)
    )
    client.chat.completions.create(model="m", messages=HISTORY, stop=("END",), timeout=None)
    client.chat.completions.create(
        model="m",
        messages=HISTORY,
        extra_body={"search_parameters": {"mode": "off"}},
        extra_headers={"x-trace": "1"},
        extra_query={"trace": "1"},
        timeout=5.0,
    )
    # None means "not sent", as in openai-python: handy when forwarding optional settings.
    client.chat.completions.create(
        model="m",
        messages=HISTORY,
        temperature=None,
        tools=None,
        tool_choice=None,
        response_format=None,
        reasoning_effort=None,
        stop=None,
    )
    # Typed message objects, the previous response's message, and a list mixing them with dicts.
    client.chat.completions.create(
        model="m", messages=[SystemMessage("Be brief."), UserMessage("Hi"), previous.choices[0].message]
    )
    history: list[MessageLike] = [*HISTORY, previous.choices[0].message, UserMessage("Thanks")]
    history.append({"role": "user", "content": "One more."})
    history.append(AssistantMessage("Sure."))
    history.append(ToolMessage("{}", tool_call_id="c1"))
    client.chat.completions.create(model="m", messages=history)
    # A narrower list is fine: ``messages`` is an Iterable (covariant).
    users: list[UserMessageParam] = [{"role": "user", "content": "Hi"}]
    client.chat.completions.create(model="m", messages=users)
    # azure-ai-inference objects keep working.
    client.chat.completions.create(
        model="m",
        messages=[azure_models.SystemMessage("Be brief."), azure_models.UserMessage("Call f.")],
        tools=[
            azure_models.ChatCompletionsToolDefinition(
                function=azure_models.FunctionDefinition(name="f", parameters={"type": "object"})
            )
        ],
        tool_choice=azure_models.ChatCompletionsNamedToolChoice(
            function=azure_models.ChatCompletionsNamedToolChoiceFunction(name="f")
        ),
        response_format=azure_models.JsonSchemaFormat(name="city", schema={"type": "object"}),
    )
    for chunk in client.chat.completions.create(
        model="m", messages=HISTORY, stream=True, stream_options={"include_usage": True}, tools=TOOLS
    ):
        del chunk

    # A wrapper can forward the optional parameters with their types (called once: one request).
    def ask(prompt: str, **params: Unpack[ChatParams]) -> str:
        return client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": prompt}], **params
        ).text

    ask("Hi", temperature=0.2, tools=TOOLS, tool_choice="auto", reasoning_effort="low")


def sync_stream(client: GrokClient) -> None:
    with client.chat.completions.stream(
        model="m",
        messages=HISTORY,
        tools=TOOLS,
        tool_choice=NAMED_CHOICE,
        response_format=JSON_SCHEMA,
        reasoning_effort="medium",
        stop=["END"],
        stream_options={"include_usage": False},
        extra_headers={"x-trace": "1"},
    ) as stream:
        stream.get_final_completion()
    with client.chat.completions.stream(
        model="m", messages=[UserMessage("Hi")], reasoning_effort=EFFORT
    ) as stream:
        for text in stream.text_stream:
            del text


async def async_create(client: AsyncGrokClient) -> None:
    previous = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    await client.chat.completions.create(
        model="m",
        messages=[*HISTORY, previous.choices[0].message],
        tools=TOOLS,
        tool_choice="auto",
        response_format={"type": "json_object"},
        reasoning_effort="high",
        stop="END",
    )
    async for chunk in await client.chat.completions.create(
        model="m",
        messages=HISTORY,
        stream=True,
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        tool_choice={"type": "function", "function": {"name": "f"}},
        response_format="text",
        reasoning_effort="xhigh",
    ):
        del chunk


async def async_stream(client: AsyncGrokClient) -> None:
    async with client.chat.completions.stream(
        model="m",
        messages=[SystemMessage("Be brief."), {"role": "user", "content": "Hi"}],
        tools=TOOLS,
        tool_choice="required",
        response_format=JSON_SCHEMA,
        reasoning_effort="low",
        stop=("END",),
        extra_body={"search_parameters": {"mode": "off"}},
    ) as stream:
        await stream.get_final_completion()
