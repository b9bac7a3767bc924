"""What a completion cost, a call's worst case, and the cheap local prompt-token estimate (pure functions).

Cost arithmetic follows Azure's billing of Grok: reasoning tokens at the output price, cached prompt tokens at the
cached price when the catalog has one. The usage convention (reasoning inside ``completion_tokens`` or beside it)
is read from the numbers by :class:`~grok_azure.types.CompletionUsage`. :mod:`grok_azure._usage` re-exports
everything public here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .types.completion_usage import CompletionUsage, UsageCounts, billed_split, usage_counts

if TYPE_CHECKING:
    from ._catalog import ModelSpec, Price

__all__ = [
    "BYTES_PER_TOKEN",
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "Cost",
    "cost_of",
    "estimate_prompt_tokens",
    "is_image_part",
    "prompt_tokens_at_most",
    "worst_case_cost",
]

_PER_MILLION = 1_000_000
# The local prompt estimate (see estimate_prompt_tokens). Averages for English text and JSON, not a tokenizer.
BYTES_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators the chat template adds around each message
_REQUEST_OVERHEAD_TOKENS = 3  # the assistant-turn primer after the last message
# One image part, whatever its size: the low end of what a vision model charges for an image (one tile). Kept
# low on purpose: the context-window check must never refuse a prompt that fits.
IMAGE_TOKENS = 256
_IMAGE_PART_TYPES = frozenset({"image_url", "input_image", "image"})


# --- cost --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cost:
    """What a completion cost, in USD, at one catalog price (USD per 1M tokens, Global Standard).

    Attributes:
        input: Uncached prompt tokens at ``price.input``.
        cached_input: Cached prompt tokens at ``price.cached_input``; at ``price.input`` when the catalog has no
            cached price (no Azure source states a cached rate for most Grok models, so none is assumed).
        output: Answer tokens (content and tool calls, reasoning excluded) at ``price.output``.
        reasoning: Reasoning tokens, also at ``price.output`` (Azure bills them as output).
        price: The catalog price used.
        total: The sum of the four parts.
        confirmed: ``price.confirmed``: True only when the price was read from an Azure price meter; otherwise
            the figure is an estimate from secondary sources (see the catalog entry's ``price.source``).
    """

    input: float
    cached_input: float
    output: float
    reasoning: float
    price: Price
    total: float = field(init=False)
    confirmed: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", self.input + self.cached_input + self.output + self.reasoning)
        object.__setattr__(self, "confirmed", bool(self.price.confirmed))


@dataclass(slots=True)
class _Tokens:
    """Token counts split the way they are priced."""

    uncached: int = 0
    cached: int = 0
    output: int = 0
    reasoning: int = 0

    @classmethod
    def of(cls, usage: CompletionUsage) -> _Tokens:
        return cls.of_counts(usage_counts(usage))

    @classmethod
    def of_counts(cls, counts: UsageCounts) -> _Tokens:
        """``usage_counts(usage)`` split as it is billed (see ``billed_split``)."""
        return cls(*billed_split(counts))

    def add(self, other: _Tokens) -> None:
        self.uncached += other.uncached
        self.cached += other.cached
        self.output += other.output
        self.reasoning += other.reasoning

    def priced(self, price: Price) -> Cost:
        cached_rate = price.input if price.cached_input is None else price.cached_input
        return Cost(
            input=self.uncached * price.input / _PER_MILLION,
            cached_input=self.cached * cached_rate / _PER_MILLION,
            output=self.output * price.output / _PER_MILLION,
            reasoning=self.reasoning * price.output / _PER_MILLION,
            price=price,
        )


class PendingCost:
    """A completion's :class:`Cost`, priced when first read (``ChatCompletion.cost``): every call records its
    usage, and most callers never read its cost, so the pricing is not done for each one."""

    __slots__ = ("_counts", "_price")

    def __init__(self, counts: UsageCounts, price: Price) -> None:
        self._counts = counts
        self._price = price

    def resolve(self) -> Cost:
        return _Tokens.of_counts(self._counts).priced(self._price)

    def __reduce__(self) -> tuple[type[PendingCost], tuple[UsageCounts, Price]]:
        # For every pickle protocol: slots alone pickle only from protocol 2.
        return (PendingCost, (self._counts, self._price))


def cost_of(usage: CompletionUsage, price: Price) -> Cost:
    """The cost of ``usage`` at ``price``, under whichever usage convention its numbers show.

    Args:
        usage: A completion's usage (non-streamed, or the usage event of a stream).
        price: The catalog price of the model that answered (``ModelSpec.price``).
    """
    return _Tokens.of(usage).priced(price)


# --- the local prompt estimate -----------------------------------------------------------------------------


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    """A cheap local estimate of a request's prompt tokens: no tokenizer, no I/O, linear in the body's size.

    UTF-8 bytes of the message text / :data:`BYTES_PER_TOKEN` (rounded up), plus
    :data:`MESSAGE_OVERHEAD_TOKENS` per message, :data:`IMAGE_TOKENS` per image part (its URL or base64 data
    is not counted as text), and the JSON text (keys included) of ``tools``, ``functions`` and
    ``response_format``, which the service also turns into prompt tokens. Close to the real count for English
    prose and code; under it for CJK text (about one token per character where this counts 0.75) and for large
    images. Used for the context-window check (which only refuses a prompt that plainly cannot fit) and for a
    budget's worst case.

    Args:
        body: The JSON body of a chat completion request (as built by the client).
    """
    messages = body.get("messages")
    text_bytes, images, count = 0, 0, 0
    if isinstance(messages, list):
        count = len(messages)
        text_bytes, images = _walk(messages, with_keys=False)
    for name in ("tools", "functions", "response_format"):
        value = body.get(name)
        if value is not None:
            text_bytes += _walk(value, with_keys=True)[0]
    return (
        _REQUEST_OVERHEAD_TOKENS
        + count * MESSAGE_OVERHEAD_TOKENS
        + images * IMAGE_TOKENS
        + -(-text_bytes // BYTES_PER_TOKEN)
    )


def prompt_tokens_at_most(message_count: int, encoded: bytes) -> int | None:
    """An upper bound of :func:`estimate_prompt_tokens` read from the size of a body's JSON encoding alone (its
    strings are at most that many UTF-8 bytes: escaping only lengthens them), for a body of ``message_count``
    messages and without ``tools``, ``functions`` or ``response_format``; None when it may hold an image part, whose
    tokens do not follow from its bytes."""
    if _ENCODED_IMAGE_TYPE.search(encoded):
        return None
    return (
        _REQUEST_OVERHEAD_TOKENS
        + message_count * MESSAGE_OVERHEAD_TOKENS
        + -(-len(encoded) // BYTES_PER_TOKEN)
    )


# An image part's type as an encoding holds it: a JSON string of its own. Inside a message's text its quotes are
# escaped, so text that mentions one is no match (and a match that is no image part only costs the caller a walk).
_ENCODED_IMAGE_TYPE = re.compile(
    b'"(?:%s)"' % b"|".join(re.escape(kind.encode()) for kind in sorted(_IMAGE_PART_TYPES))
)


def is_image_part(part: Mapping[str, Any]) -> bool:
    """Whether ``part`` (a content part) is an image part. Only a string names one: a caller's extra key may hold
    anything under ``type``, unhashable too."""
    kind = part.get("type")
    return isinstance(kind, str) and kind in _IMAGE_PART_TYPES


def _walk(value: object, *, with_keys: bool) -> tuple[int, int]:
    """(UTF-8 bytes of the strings under ``value``, image parts found); keys and literals only ``with_keys``.

    Iterative, so a deeply nested value cannot exhaust the stack. Image parts are looked for only in message
    content (``with_keys`` False): in a tool schema "image_url" is just a property name.
    """
    total = images = 0
    stack: list[object] = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        if isinstance(item, str):
            total += _utf8_len(item)
        elif isinstance(item, Mapping):
            if not with_keys and is_image_part(item):
                images += 1
                continue
            if with_keys:
                total += sum(_utf8_len(key) for key in item if isinstance(key, str))
            push(item.values())
        elif isinstance(item, (list, tuple)):
            push(item)
        elif with_keys:
            total += 4  # a number, true/false or null: a few characters of JSON
    return total, images


def _utf8_len(text: str) -> int:
    # ASCII needs no encoding pass; "surrogatepass" keeps a lone surrogate from raising in an estimate.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _max_output(spec: ModelSpec | None, body: Mapping[str, Any]) -> int | None:
    """The most tokens the call may generate (all choices): the request's cap, else the model's, else None."""
    caps = [
        value
        for value in (body.get("max_completion_tokens"), body.get("max_tokens"))
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0
    ]
    model_cap = spec.max_output_tokens if spec is not None else None
    if caps:
        cap = max(caps)  # both given: the service's choice between them is not documented, assume the larger
        if model_cap is not None:
            cap = min(cap, model_cap)
    elif model_cap is not None:
        cap = model_cap
    else:
        return None
    choices = body.get("n")
    if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
        cap *= choices
    return cap


def worst_case_cost(spec: ModelSpec | None, body: Mapping[str, Any]) -> float | None:
    """A call's worst-case cost in USD, or None when it cannot be bounded (unknown model, price or output cap).

    The prompt estimate at the full input price (no cache discount assumed) plus the most the call may generate
    (``max_completion_tokens`` / ``max_tokens``, capped by the model's ``max_output_tokens``, else that maximum;
    times ``n``) at the output price. Reasoning tokens are assumed to count against that cap, as OpenAI
    documents; a model that reasons beyond it costs more than this bound, and the tracker then records the real
    cost.

    Args:
        spec: The catalog entry of the deployment's model, or None when unknown.
        body: The JSON body of the request.
    """
    price = spec.price if spec is not None else None
    output = _max_output(spec, body)
    if price is None or output is None:
        return None
    return (estimate_prompt_tokens(body) * price.input + output * price.output) / _PER_MILLION
