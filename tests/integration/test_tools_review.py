"""Tools and structured outputs as users write them, against the emulator: a parameter with a Field alias, parse()
answered with a tool call, tool errors with notes or a broken __str__, NaN in a result, a recursive model."""

from __future__ import annotations

import json
import math
import traceback
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from grok_azure import GrokClient, ToolCallError, tool
from grok_azure.testing import FoundryEmulator

KEY = "tools-review-key-0123456789"
MESSAGES: list[Any] = [{"role": "user", "content": "Go"}]


@pytest.fixture
def emu() -> Any:
    with FoundryEmulator(api_key=KEY) as emulator:
        yield emulator


def client(emu: FoundryEmulator) -> GrokClient:
    return GrokClient(endpoint=emu.url, api_key=KEY, max_retries=0)


def test_a_parameter_with_a_field_alias_is_called_by_its_python_name(emu: FoundryEmulator) -> None:
    @tool
    def lookup(user_id: Annotated[int, Field(alias="userId")], verbose: bool = False) -> str:
        """Look a user up."""
        return f"user {user_id} verbose={verbose}"

    assert "userId" in lookup.parameters["properties"]  # the model sees the alias
    emu.reply(tool_calls=[{"name": "lookup", "arguments": {"userId": 7}}])
    emu.reply("done")
    with client(emu) as c:
        run = c.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[lookup])
    assert [call.content for call in run.tool_calls] == ["user 7 verbose=False"]


class Answer(BaseModel):
    city: str
    temp: float


def test_parse_answered_with_a_tool_call_returns_the_call_unparsed(emu: FoundryEmulator) -> None:
    @tool
    def get_weather(city: str) -> dict[str, float]:
        """Weather."""
        return {"temp": 18.5}

    emu.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    with client(emu) as c:
        completion = c.chat.completions.parse(
            model="grok-4",
            messages=MESSAGES,
            response_format=Answer,
            tools=[get_weather.to_param()],
            max_repairs=1,
        )
    message = completion.choices[0].message
    assert message.parsed is None
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.name == "get_weather"
    assert len(emu.requests) == 1  # no "repair" of a reply that was a tool call


def test_a_credential_in_a_tool_errors_note_is_not_raised(emu: FoundryEmulator) -> None:
    @tool
    def login() -> str:
        """Log in."""
        error = ValueError("auth failed")
        error.add_note(f"api_key={KEY}")
        raise error

    emu.reply(tool_calls=[{"name": "login", "arguments": {}}])
    with client(emu) as c, pytest.raises(ToolCallError) as caught:
        c.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[login], on_tool_error="raise")
    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_a_tool_error_whose_str_raises_goes_back_to_the_model(emu: FoundryEmulator) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    @tool
    def broken() -> str:
        """Fail badly."""
        raise Unprintable

    emu.reply(tool_calls=[{"name": "broken", "arguments": {}}])
    emu.reply("done")
    with client(emu) as c:
        run = c.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[broken])
    assert run.tool_calls[0].error_kind == "tool_error"
    assert "Unprintable" in run.tool_calls[0].content


def test_nan_in_a_result_is_sent_as_json(emu: FoundryEmulator) -> None:
    @tool
    def measure() -> dict[str, float]:
        """Measure."""
        return {"x": math.nan, "y": math.inf}

    emu.reply(tool_calls=[{"name": "measure", "arguments": {}}])
    emu.reply("done")
    with client(emu) as c:
        run = c.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[measure])
    assert json.loads(run.tool_calls[0].content) == {
        "x": None,
        "y": None,
    }  # strict JSON: json.loads accepts it


class Node(BaseModel):
    value: int
    children: list[Node] = []


def test_the_emulator_answers_parse_with_a_recursive_model(emu: FoundryEmulator) -> None:
    with client(emu) as c:
        completion = c.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=Node)
    assert isinstance(completion.choices[0].message.parsed, Node)
