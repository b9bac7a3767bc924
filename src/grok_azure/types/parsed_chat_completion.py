"""The completion ``chat.completions.parse()`` returns: a :class:`ChatCompletion` whose messages carry ``parsed``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import Field

from .chat_completion import ChatCompletion, ChatCompletionMessage, Choice, total_cost

__all__ = ["ParsedChatCompletion", "ParsedChatCompletionMessage", "ParsedChoice", "StructuredAttempt"]

ParsedT = TypeVar("ParsedT")


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[ParsedT]):
    """An assistant message with ``parsed``: its content validated into the requested type.

    ``parsed`` is None only when the model refused (``refusal`` then holds its reason); a reply that does not
    validate raises :class:`~grok_azure.OutputValidationError` instead of arriving here.
    """

    parsed: ParsedT | None = None


class ParsedChoice(Choice, Generic[ParsedT]):
    """A choice whose message is a :class:`ParsedChatCompletionMessage`."""

    message: ParsedChatCompletionMessage[ParsedT] = Field(default_factory=ParsedChatCompletionMessage)


@dataclass(frozen=True)
class StructuredAttempt:
    """An earlier attempt of a ``parse()`` call with ``max_repairs``, whose reply did not validate.

    Attributes:
        completion: that call's completion, as received (its own ``usage`` and ``cost``).
        errors: why its reply was rejected: pydantic's error dicts (``loc``, ``msg``, ``type``...), without URLs.
    """

    completion: ChatCompletion
    errors: list[dict[str, Any]]


class ParsedChatCompletion(ChatCompletion, Generic[ParsedT]):
    """A chat completion whose choices carry ``message.parsed``, typed as the ``response_format`` given.

    ``usage`` and ``cost`` are the last call's. When ``max_repairs`` made the SDK ask again, ``attempts`` holds the
    earlier attempts (oldest first), each with its completion (own usage and cost) and why it was rejected;
    :attr:`total_tokens_all_attempts` and :attr:`total_cost_all_attempts` add every call up.
    """

    choices: list[ParsedChoice[ParsedT]] = Field(default_factory=list)  # type: ignore[assignment]
    attempts: list[StructuredAttempt] = Field(default_factory=list, exclude=True)

    @property
    def parsed(self) -> ParsedT | None:
        """The first choice's ``message.parsed`` (None when it refused, or without choices)."""
        return self.choices[0].message.parsed if self.choices else None

    @property
    def total_tokens_all_attempts(self) -> int | None:
        """Total tokens of this call and every earlier attempt; None if any of them reported no usage."""
        total = 0
        for completion in self._all_calls():
            if completion.usage is None:
                return None
            total += completion.usage.total_tokens
        return total

    @property
    def total_cost_all_attempts(self) -> float | None:
        """USD cost of this call and every earlier attempt; None if any of them has no known cost."""
        return total_cost(self._all_calls())

    def _all_calls(self) -> list[ChatCompletion]:
        return [*(attempt.completion for attempt in self.attempts), self]
