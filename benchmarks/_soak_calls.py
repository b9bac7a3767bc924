"""One soak call, sync or async, streamed or not, and the verdict on it.

A call asks the emulator to echo a unique prompt, so its exact answer is known in advance (``"Echo: " +
prompt``) and an answer meant for another call cannot pass. Calls are written the way users write them:
streams are drained with an inline ``for chunk in create(..., stream=True)`` loop (even call ids) or inside a
``with`` block (odd ids, which also read ``stream.served_by`` when the client has it).

The verdict of a call is its outcome (``"ok"``, the name of the ``GrokError`` class it raised, ``"wrong
content"``, ``"wrong error type: ..."`` for a status error of another class than the status's, or ``"NOT a
GrokError: <type>"``) and whether it overran its budget. Text a stream delivered before
it failed, and a ``partial`` completion attached to the error, must both be a prefix of the exact answer:
anything else means the stream was replayed or mixed up, which counts as wrong content.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from grok_azure import (
    APIStatusError,
    AsyncGrokClient,
    GrokClient,
    GrokError,
    InternalServerError,
    RateLimitError,
)

MODEL = "grok-soak"
OK = "ok"
WRONG = "wrong content"
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")


@dataclass(frozen=True)
class CallSpec:
    """What one call does: its id (in the prompt, so the chaos proxy can key its draws on it), mode and kind."""

    call_id: int
    mode: str  # "sync" | "async"
    stream: bool
    prompt: str
    call_options: dict[str, Any] = field(default_factory=dict)  # per-call deadline options, when supported

    @property
    def expected(self) -> str:
        return "Echo: " + self.prompt

    @property
    def kind(self) -> str:
        return f"{self.mode} {'stream' if self.stream else 'plain'}"


def make_spec(call_id: int, mode: str, rng: random.Random, call_options: dict[str, Any]) -> CallSpec:
    """A call with a prompt of 3 to 40 words (so streams have 3 to 40 content chunks)."""
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 39)))
    return CallSpec(call_id, mode, rng.random() < 0.5, f"soak-call-{call_id} {words}", call_options)


@dataclass
class Verdict:
    spec: CallSpec
    outcome: str
    elapsed: float
    served_by: str | None = None
    detail: str = ""


def _delta_text(chunk: Any) -> str:
    return "".join(choice.delta.content or "" for choice in chunk.choices)


def _judge(spec: CallSpec, text: str | None, error: BaseException | None, got: str) -> tuple[str, str]:
    """(outcome, detail) for a call that returned ``text`` or raised ``error`` after delivering ``got``."""
    if error is None:
        return (OK, "") if text == spec.expected else (WRONG, f"got {text!r}")
    if not spec.expected.startswith(got):
        return WRONG, f"delivered {got!r} before {type(error).__name__}"
    partial = getattr(error, "partial", None)
    partial_text = partial.text if partial is not None else ""
    if not spec.expected.startswith(partial_text):
        return WRONG, f"partial {partial_text!r} in {type(error).__name__}"
    if isinstance(error, APIStatusError):
        expected = _status_class(error.status_code)
        if type(error) is not expected:  # e.g. a 429 that is not a RateLimitError: callers catch by class
            return f"wrong error type: {type(error).__name__} for {error.status_code}", str(error)[:200]
    if isinstance(error, GrokError):
        return type(error).__name__, str(error)[:200]
    return f"NOT a GrokError: {type(error).__name__}", repr(error)[:200]


def _status_class(status: int) -> type[APIStatusError]:
    """The class the SDK documents for a status the chaos proxy sends (docs/retries.md, the exceptions' docs)."""
    if status == 429:
        return RateLimitError
    if status >= 500:
        return InternalServerError
    return APIStatusError  # 408: no class of its own


def _request(spec: CallSpec) -> dict[str, Any]:
    options = dict(spec.call_options)
    if not spec.stream:
        options.pop("stream_deadline", None)
    return {"model": MODEL, "messages": [{"role": "user", "content": spec.prompt}], **options}


def run_sync(client: GrokClient, spec: CallSpec) -> Verdict:
    """One call on ``client`` in the calling thread."""
    start = time.monotonic()
    got: list[str] = []
    text: str | None = None
    served_by: str | None = None
    error: BaseException | None = None
    try:
        if not spec.stream:
            completion = client.chat.completions.create(**_request(spec))
            text, served_by = completion.text, getattr(completion, "served_by", None)
        elif spec.call_id % 2 == 0:
            for chunk in client.chat.completions.create(**_request(spec), stream=True):
                got.append(_delta_text(chunk))
            text = "".join(got)
        else:
            with client.chat.completions.create(**_request(spec), stream=True) as stream:
                served_by = getattr(stream, "served_by", None)
                for chunk in stream:
                    got.append(_delta_text(chunk))
            text = "".join(got)
    except Exception as exc:  # every exception is judged; only GrokErrors pass
        error = exc
    outcome, detail = _judge(spec, text, error, "".join(got))
    return Verdict(spec, outcome, time.monotonic() - start, served_by, detail)


async def run_async(client: AsyncGrokClient, spec: CallSpec) -> Verdict:
    """One call on ``client`` in the running event loop."""
    start = time.monotonic()
    got: list[str] = []
    text: str | None = None
    served_by: str | None = None
    error: BaseException | None = None
    try:
        if not spec.stream:
            completion = await client.chat.completions.create(**_request(spec))
            text, served_by = completion.text, getattr(completion, "served_by", None)
        elif spec.call_id % 2 == 0:
            async for chunk in await client.chat.completions.create(**_request(spec), stream=True):
                got.append(_delta_text(chunk))
            text = "".join(got)
        else:
            async with await client.chat.completions.create(**_request(spec), stream=True) as stream:
                served_by = getattr(stream, "served_by", None)
                async for chunk in stream:
                    got.append(_delta_text(chunk))
            text = "".join(got)
    except Exception as exc:  # every exception is judged; only GrokErrors pass
        error = exc
    outcome, detail = _judge(spec, text, error, "".join(got))
    return Verdict(spec, outcome, time.monotonic() - start, served_by, detail)
