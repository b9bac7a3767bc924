"""What the integration tests run against, and one async-shaped driver over both clients.

The suite runs against the local FoundryEmulator unless ``GROK_AZURE_ENDPOINT`` and
``GROK_AZURE_TEST_DEPLOYMENT`` are both set; then the same tests call that Foundry resource (see
docs/testing.md). Tests written once against :class:`Driver` run with ``GrokClient`` and ``AsyncGrokClient``.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from grok_azure import (
    AsyncGrokClient,
    ChatCompletion,
    ChatCompletionChunk,
    CompletionUsage,
    GrokClient,
    StreamEvent,
)
from grok_azure._catalog import ModelSpec, load_catalog
from grok_azure.testing import FoundryEmulator

ROUTES = ("openai_v1", "model_inference")
KINDS = ("sync", "async")
API_KEY = "integration-test-key-0123456789"
# Emulator deployments: the names tests use, and the catalog models behind them.
CHAT = "chat"  # grok-4-1-fast-non-reasoning: no reasoning, accepts penalties, tools and json_schema
REASONER = "reasoner"  # grok-4.7 returning reasoning_content (see _emulated_reasoner)
GROK4 = "grok-4"  # always-on reasoning; rejects reasoning_effort, penalties and stop (as xAI documents)
CODER = "coder"  # grok-code-fast-1: text only (a name the client cannot look up, so the service decides)
REASONER_MODEL = "grok-4.7"


def with_xai_rejections(spec: ModelSpec) -> ModelSpec:
    """``spec`` with its rejections stated. The catalog takes them from xAI's documentation and marks them
    unconfirmed on Azure, so by default the emulator lets them through; these tests check how a refusal
    reaches the caller, so the emulated service refuses as xAI documents."""
    return spec.with_facts(rejected_parameters=spec.rejected_parameters)


def _emulated_reasoner() -> ModelSpec:
    """The reasoning deployment: grok-4.7 replying with ``reasoning_content``.

    It used to be grok-3-mini, retired on 2026-05-01 (its deployments now answer every request with an error).
    No current catalog model is stated to return ``reasoning_content`` on Azure: grok-3-mini was the only one,
    and for the grok-4.x models it is unconfirmed. So the emulated reasoner is a current GA reasoning model
    (grok-4.7, with documented ``reasoning_effort`` values low, medium, high and xhigh) with
    ``reasoning_content`` stated, the behaviour the reasoning tests need. Against a real resource,
    ``GROK_AZURE_TEST_REASONING_DEPLOYMENT`` must name a deployment that returns it, or they are skipped.
    """
    return with_xai_rejections(load_catalog().require(REASONER_MODEL)).with_facts(
        returns_reasoning_content=True
    )


EMULATOR_DEPLOYMENTS: dict[str, str | ModelSpec] = {
    CHAT: "grok-4-1-fast-non-reasoning",
    REASONER: _emulated_reasoner(),
    GROK4: with_xai_rejections(load_catalog().require("grok-4")),
    CODER: "grok-code-fast-1",
}
PROMPT = "Reply with one short sentence about the sea."
# Generous for a real model (reasoning counts against it on some), tiny in cost; see docs/testing.md.
MAX_TOKENS = 1024
TIMEOUT = httpx.Timeout(120.0, connect=10.0)
NEEDS_EMULATOR = "needs the emulator (scripted replies, faults, request recording or fixed model rules)"


def user(text: str = PROMPT) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@dataclass(frozen=True)
class Target:
    """A Foundry resource (real or emulated) and the deployments the tests call on it."""

    root: str
    api_key: str | None  # None: Entra ID through DefaultAzureCredential
    deployment: str
    reasoning_deployment: str | None
    models_api_version: str | None
    emulator: FoundryEmulator | None

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    def endpoint(self, route: str) -> str:
        return self.root if route == "openai_v1" else self.root + "/models"

    def client_options(self, route: str) -> dict[str, Any]:
        options: dict[str, Any] = {
            "endpoint": self.endpoint(route),
            "api_key": self.api_key,
            "timeout": TIMEOUT,
            # One attempt: these tests check what each answer maps to (retries: test_retry*.py, test_failover*.py).
            "max_retries": 0,
        }
        if route == "model_inference" and self.models_api_version:
            options["api_version"] = self.models_api_version
        return options


def real_target_from_env(environ: Mapping[str, str]) -> Target | None:
    """The real deployment named by the environment, or None to use the emulator."""
    endpoint = environ.get("GROK_AZURE_ENDPOINT", "").strip().rstrip("/")
    deployment = environ.get("GROK_AZURE_TEST_DEPLOYMENT", "").strip()
    if not endpoint or not deployment:
        return None
    for suffix in ("/openai/v1", "/models"):
        if endpoint.endswith(suffix):
            endpoint = endpoint[: -len(suffix)]
    return Target(
        root=endpoint,
        api_key=environ.get("GROK_AZURE_API_KEY", "").strip() or None,
        deployment=deployment,
        reasoning_deployment=environ.get("GROK_AZURE_TEST_REASONING_DEPLOYMENT", "").strip() or None,
        models_api_version=environ.get("GROK_AZURE_TEST_API_VERSION", "").strip() or None,
        emulator=None,
    )


def emulator_target(emulator: FoundryEmulator) -> Target:
    return Target(
        root=emulator.url,
        api_key=emulator.api_key,
        deployment=CHAT,
        reasoning_deployment=REASONER,
        models_api_version=None,
        emulator=emulator,
    )


class Driver(abc.ABC):
    """``chat.completions`` of one client, every call awaitable, so a test body serves both clients.

    The streaming methods read the stream to its end inside its context manager and return what it yielded
    plus ``get_final_completion()``; exceptions propagate unchanged.
    """

    kind: str

    @abc.abstractmethod
    async def create(self, **params: Any) -> ChatCompletion: ...

    @abc.abstractmethod
    async def create_stream(self, **params: Any) -> tuple[list[ChatCompletionChunk], ChatCompletion]:
        """``create(stream=True)``: every chunk."""

    @abc.abstractmethod
    async def stream(self, **params: Any) -> tuple[list[StreamEvent], ChatCompletion]:
        """``stream()``: every event."""

    @abc.abstractmethod
    async def text_stream(self, **params: Any) -> tuple[list[str], ChatCompletion]:
        """``stream().text_stream``: every content piece."""

    @abc.abstractmethod
    async def reasoning_stream(self, **params: Any) -> tuple[list[str], ChatCompletion]:
        """``stream().reasoning_stream``: every reasoning piece."""


class SyncDriver(Driver):
    kind = "sync"

    def __init__(self, client: GrokClient) -> None:
        self.client = client

    async def create(self, **params: Any) -> ChatCompletion:
        completion: ChatCompletion = self.client.chat.completions.create(**params)
        return completion

    async def create_stream(self, **params: Any) -> tuple[list[ChatCompletionChunk], ChatCompletion]:
        with self.client.chat.completions.create(stream=True, **params) as stream:
            chunks = list(stream)
            return chunks, stream.get_final_completion()

    async def stream(self, **params: Any) -> tuple[list[StreamEvent], ChatCompletion]:
        with self.client.chat.completions.stream(**params) as stream:
            events = list(stream)
            return events, stream.get_final_completion()

    async def text_stream(self, **params: Any) -> tuple[list[str], ChatCompletion]:
        with self.client.chat.completions.stream(**params) as stream:
            texts = list(stream.text_stream)
            return texts, stream.get_final_completion()

    async def reasoning_stream(self, **params: Any) -> tuple[list[str], ChatCompletion]:
        with self.client.chat.completions.stream(**params) as stream:
            texts = list(stream.reasoning_stream)
            return texts, stream.get_final_completion()


class AsyncDriver(Driver):
    kind = "async"

    def __init__(self, client: AsyncGrokClient) -> None:
        self.client = client

    async def create(self, **params: Any) -> ChatCompletion:
        completion: ChatCompletion = await self.client.chat.completions.create(**params)
        return completion

    async def create_stream(self, **params: Any) -> tuple[list[ChatCompletionChunk], ChatCompletion]:
        async with await self.client.chat.completions.create(stream=True, **params) as stream:
            chunks = [chunk async for chunk in stream]
            return chunks, await stream.get_final_completion()

    async def stream(self, **params: Any) -> tuple[list[StreamEvent], ChatCompletion]:
        async with self.client.chat.completions.stream(**params) as stream:
            events = [event async for event in stream]
            return events, await stream.get_final_completion()

    async def text_stream(self, **params: Any) -> tuple[list[str], ChatCompletion]:
        async with self.client.chat.completions.stream(**params) as stream:
            texts = [text async for text in stream.text_stream]
            return texts, await stream.get_final_completion()

    async def reasoning_stream(self, **params: Any) -> tuple[list[str], ChatCompletion]:
        async with self.client.chat.completions.stream(**params) as stream:
            texts = [text async for text in stream.reasoning_stream]
            return texts, await stream.get_final_completion()


def sent_body(emulator: FoundryEmulator) -> dict[str, Any]:
    """The JSON body of the last request the emulator received."""
    body = emulator.requests[-1].json
    assert isinstance(body, dict)
    return body


@contextlib.asynccontextmanager
async def open_driver(kind: str, **options: Any) -> AsyncIterator[Driver]:
    """A GrokClient (``kind="sync"``) or an AsyncGrokClient built from ``options``, closed on exit."""
    if kind == "sync":
        with GrokClient(**options) as client:
            yield SyncDriver(client)
    else:
        async with AsyncGrokClient(**options) as async_client:
            yield AsyncDriver(async_client)


def assert_usage_consistent(usage: CompletionUsage | None, *, emulated: bool) -> None:
    """Token counts that hold on any deployment; the emulator's exact convention when emulated.

    The emulator counts as Azure was recorded counting for Grok: ``completion_tokens`` excludes reasoning, so the
    total is prompt + completion + reasoning. The Grok 4.7 documentation says ``completion_tokens`` includes
    reasoning (OpenAI's convention, total = prompt + completion), so a real deployment may give either total.
    """
    assert usage is not None
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    plain = usage.prompt_tokens + usage.completion_tokens
    if emulated:
        assert usage.total_tokens == plain + usage.reasoning_tokens
    else:
        assert usage.total_tokens in (plain, plain + usage.reasoning_tokens)


def assert_finished_with_text(completion: ChatCompletion) -> None:
    """A real model may run out of tokens; when it stopped on its own it must have said something."""
    assert completion.finish_reason in ("stop", "length")
    if completion.finish_reason == "stop":
        assert completion.text.strip()


def comparable(completion: ChatCompletion) -> dict[str, Any]:
    """The parts of a completion that a streamed and a non-streamed answer to one script must share.

    Left out on purpose: ``id`` and ``created`` (each request is a new completion); each choice's
    ``content_filter_results`` (Azure annotates stream chunks one by one and sends none on tool-call or finish
    chunks, so a stream cannot rebuild the non-streamed annotation); ``system_fingerprint``, which Grok sends on
    stream chunks but not on a non-streamed reply; and ``usage.audio_prompt_tokens``, which only the
    non-streamed usage carries. ``content`` compares ``None`` equal to ``""``: a tool-call-only stream carries
    no content delta, so it cannot tell which one the service meant.
    """
    usage = None
    if completion.usage is not None:
        usage = completion.usage.model_dump()
        usage.pop("audio_prompt_tokens", None)
    return {
        "model": completion.model,
        "choices": [
            {
                "index": choice.index,
                "role": choice.message.role,
                "content": choice.message.content or "",
                "reasoning_content": choice.message.reasoning_content,
                "refusal": choice.message.refusal,
                "tool_calls": [
                    (call.id, call.type, call.function.name, call.function.arguments)
                    for call in choice.message.tool_calls or []
                ],
                "finish_reason": choice.finish_reason,
            }
            for choice in completion.choices
        ],
        "usage": usage,
        "prompt_filter_results": [r.model_dump() for r in completion.prompt_filter_results or []],
    }
