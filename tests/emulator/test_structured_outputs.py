"""Structured outputs against the emulator (real HTTP on 127.0.0.1), which honours json_schema: parse, repairs
with scripted replies, the json_object fallback, and streaming parse; sync and async."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from grok_azure import (
    AsyncGrokClient,
    ContentPartialEvent,
    GrokClient,
    LengthFinishReasonError,
    ModelSpec,
    OutputValidationError,
)
from grok_azure.testing import FoundryEmulator

from .conftest import API_KEY, DEPLOYMENTS

MESSAGES = [{"role": "user", "content": "Extract: Ada Lovelace, born 1815, mathematician."}]


class Person(BaseModel):
    name: str
    born: int
    occupations: list[str]


@pytest.fixture
def emu() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=API_KEY, deployments={**DEPLOYMENTS, "old": "grok-4"}) as emulator:
        yield emulator


def client_for(emu: FoundryEmulator, **models: str | ModelSpec) -> GrokClient:
    return GrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models={**DEPLOYMENTS, **models})


def test_parse_gets_a_schema_valid_reply(emu: FoundryEmulator) -> None:
    with client_for(emu) as client:
        completion = client.chat.completions.parse(model="fast", messages=MESSAGES, response_format=Person)
    assert isinstance(completion.parsed, Person)
    assert emu.requests[-1].json["response_format"]["json_schema"]["strict"] is True


async def test_async_parse_gets_a_schema_valid_reply(emu: FoundryEmulator) -> None:
    async with AsyncGrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models=DEPLOYMENTS) as client:
        completion = await client.chat.completions.parse(
            model="fast", messages=MESSAGES, response_format=Person
        )
    assert isinstance(completion.parsed, Person)


def test_repair_after_a_scripted_invalid_reply(emu: FoundryEmulator) -> None:
    emu.reply('{"name": "Ada Lovelace", "born": "1815"x}')
    emu.reply('{"name": "Ada Lovelace", "born": 1815, "occupations": ["mathematician"]}')
    with client_for(emu) as client:
        completion = client.chat.completions.parse(
            model="fast", messages=MESSAGES, response_format=Person, max_repairs=1
        )
    assert completion.parsed == Person(name="Ada Lovelace", born=1815, occupations=["mathematician"])
    assert len(completion.attempts) == 1
    assert completion.attempts[0].errors[0]["type"] == "json_invalid"
    assert [m["role"] for m in emu.requests[-1].json["messages"]] == ["user", "assistant", "user"]


async def test_async_repairs_run_out(emu: FoundryEmulator) -> None:
    emu.reply('{"name": "Ada"}', times=2)
    async with AsyncGrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models=DEPLOYMENTS) as client:
        with pytest.raises(OutputValidationError) as caught:
            await client.chat.completions.parse(
                model="fast", messages=MESSAGES, response_format=Person, max_repairs=1
            )
    assert len(caught.value.attempts) == 1
    assert len(emu.requests) == 2


def test_cut_by_max_tokens(emu: FoundryEmulator) -> None:
    emu.reply('{"name": "Ada', finish_reason="length")
    with client_for(emu) as client, pytest.raises(LengthFinishReasonError) as caught:
        client.chat.completions.parse(model="fast", messages=MESSAGES, response_format=Person)
    assert caught.value.completion.finish_reason == "length"


def test_fallback_to_json_object(emu: FoundryEmulator) -> None:
    no_schema = ModelSpec(id="grok-4", json_schema=False, json_object=True)
    emu.reply('{"name": "Ada Lovelace", "born": 1815, "occupations": []}')
    with client_for(emu, old=no_schema) as client:
        completion = client.chat.completions.parse(
            model="old", messages=MESSAGES, response_format=Person, fallback="json_object"
        )
    assert completion.parsed is not None
    assert completion.parsed.born == 1815
    sent = emu.requests[-1].json
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["messages"][0]["role"] == "system"
    assert '"occupations"' in sent["messages"][0]["content"]


def test_streaming_parse_sends_partials_then_the_object(emu: FoundryEmulator) -> None:
    emu.reply('{"name": "Ada Lovelace", "born": 1815, "occupations": ["mathematician", "writer"]}')
    with (
        client_for(emu) as client,
        client.chat.completions.stream(model="fast", messages=MESSAGES, response_format=Person) as stream,
    ):
        partials = [e.partial for e in stream if isinstance(e, ContentPartialEvent)]
        final = stream.get_final_completion()
    assert len(partials) > 2
    assert partials[-1]["occupations"] == ["mathematician", "writer"]
    assert final.parsed == Person(name="Ada Lovelace", born=1815, occupations=["mathematician", "writer"])
    assert final.usage is not None


async def test_async_streaming_parse(emu: FoundryEmulator) -> None:
    client = AsyncGrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models=DEPLOYMENTS)
    async with (
        client,
        client.chat.completions.stream(model="fast", messages=MESSAGES, response_format=Person) as stream,
    ):
        final = await stream.get_final_completion()
    assert isinstance(final.parsed, Person)
