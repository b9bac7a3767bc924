"""Injectable faults: what Azure (or the network in front of it) does when things go wrong."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Literal

from ._errors import ErrorReply, Rejection, Route, azure_error, context_length_exceeded, json_error

FaultKind = Literal[
    "rate_limited",
    "server_error",
    "content_filter",
    "filtered_completion",
    "slow_first_byte",
    "stall",
    "drop",
    "error_event",
    "context_length",
    "request_timeout",
]
# How a 429 reports the x-ratelimit-* counters: at zero (Azure's usual quota 429), or with the placeholders Azure
# sends when it does not report a quota at all (see placeholder_counters).
CounterForm = Literal["exhausted", "unknown", "zero"]
RetryHeader = Literal[
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "retry-after-date",
]

_RETRY_HEADERS: tuple[RetryHeader, ...] = (
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)
# "retry-after" as an HTTP date (RFC 9110 allows it; gateways in front of Azure send it). Not among the random
# faults' forms, which stay as they were for a given seed.
_DATE_HEADER = "retry-after-date"
# Azure's 429s that carry only a reset header name the throttling policy that refused the call.
_POLICY_IDS = {"requests": "DeploymentRatelimit-Call", "tokens": "DeploymentRatelimit-Token"}
_TIMEOUT_MESSAGE = "The operation was timeout."
_SERVER_ERRORS = {
    500: ("InternalServerError", "The server had an error while processing your request. Sorry about that!"),
    502: ("BadGateway", "The gateway received an invalid response from the backend service."),
    503: (
        "ServiceUnavailable",
        "The service is temporarily unable to process your request. Please try again later.",
    ),
    504: ("GatewayTimeout", "The gateway did not receive a response from the backend service in time."),
}
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_CONTENT_FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
    "Please modify your prompt and retry. To learn more about our content filtering policies please read "
    "our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
# Placeholder counters Azure has sent instead of real ones (a 429 with "x-ratelimit-* values of -1 or 0" and no
# retry header): (limit, remaining, reset) for both dimensions. "unknown" is remaining -1 of limit 0, "zero" is
# 0 of 0. Neither is a quota reading: a client must treat them as "no information", never as empty or as a wait.
_PLACEHOLDERS: dict[str, tuple[str, str, str]] = {"unknown": ("0", "-1", "0"), "zero": ("0", "0", "0")}
COUNTER_FORMS: tuple[CounterForm, ...] = ("exhausted", "unknown", "zero")
_STATUS_KINDS = frozenset(
    {"rate_limited", "server_error", "content_filter", "context_length", "request_timeout"}
)


def placeholder_counters(form: str) -> dict[str, str]:
    """The ``x-ratelimit-limit/remaining/reset-*`` headers of a placeholder ``form`` (``"unknown"``: -1 of 0,
    ``"zero"``: 0 of 0, both with reset 0), as Azure sends when it does not report its counters."""
    limit, remaining, reset = _PLACEHOLDERS[form]
    headers: dict[str, str] = {}
    for dimension in ("requests", "tokens"):
        headers[f"x-ratelimit-limit-{dimension}"] = limit
        headers[f"x-ratelimit-remaining-{dimension}"] = remaining
        headers[f"x-ratelimit-reset-{dimension}"] = reset
    return headers


def _non_negative(name: str, value: float) -> None:
    if value < 0 or math.isnan(value):
        raise ValueError(f"{name} must be >= 0, got {value!r}")


@dataclass(frozen=True)
class Fault:
    """One injected failure; build it with a factory (``Fault.rate_limited()`` ...) and pass it to
    ``FoundryEmulator.fault``.

    Faults that replace the response (``rate_limited``, ``server_error``, ``content_filter``,
    ``context_length``, ``request_timeout``) answer before any validation (but after the quota check, so a
    request the quotas refuse leaves the fault for the next one). The others shape a normal completion:
    ``filtered_completion`` ends it with ``finish_reason="content_filter"``; ``slow_first_byte`` delays the
    response headers; on a stream, ``stall``/``drop``/``error_event`` act after ``after_chunks`` SSE events
    (the first, prompt-filter event counts). On a non-streamed request ``stall`` pauses in the middle of the
    body, ``drop`` cuts the body short, and ``error_event`` becomes a 500 with its code and message.
    """

    kind: FaultKind
    status: int = 200
    retry_after: float = 0.0
    retry_header: RetryHeader | None = None
    html: bool = False
    seconds: float = 0.0
    after_chunks: int = 0
    code: str = ""
    message: str = ""
    counters: CounterForm = "exhausted"

    @classmethod
    def rate_limited(
        cls,
        retry_after: float = 1.0,
        header: RetryHeader | None = "retry-after",
        counters: CounterForm = "exhausted",
    ) -> Fault:
        """429 with Azure's body; ``header`` names the single retry header sent (None: no header).

        ``retry-after`` carries whole seconds (rounded up), the ``-ms`` headers milliseconds.
        ``retry-after-date`` sends ``retry-after`` as an HTTP date that many seconds (rounded up) from now
        (whole seconds: the date has no fractions, so the wait it means is up to a second shorter).
        ``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens`` give Azure's other form: that reset
        header alone (whole seconds, rounded up) with a ``policy-id`` header and no retry header; the body
        then speaks of the call rate limit or the token rate limit.

        ``counters`` shapes the ``x-ratelimit-*`` counters: ``"exhausted"`` (default) sends both remaining
        counters at 0; ``"unknown"`` and ``"zero"`` send Azure's placeholders instead (limit 0, remaining -1 or
        0, reset 0: see :func:`placeholder_counters`), the 429 Azure has answered with no usable hint at all
        (with ``header=None``), or with only a reset header (``header="x-ratelimit-reset-tokens"``, whose
        value then replaces that placeholder).

        Args:
            retry_after: the wait the retry header states, in seconds (>= 0; default 1.0).
            header: which retry header carries it: ``"retry-after"`` (default), ``"retry-after-ms"``,
                ``"x-ms-retry-after-ms"``, ``"retry-after-date"``, ``"x-ratelimit-reset-requests"`` or
                ``"x-ratelimit-reset-tokens"``; None sends no retry header.
            counters: ``"exhausted"`` (default), ``"unknown"`` or ``"zero"``: the ``x-ratelimit-*`` counters sent.

        Raises:
            ValueError: a negative ``retry_after``, or an unknown ``header`` or ``counters``.
        """
        _non_negative("retry_after", retry_after)
        if header is not None and header not in _RETRY_HEADERS and header != _DATE_HEADER:
            forms = (*_RETRY_HEADERS, _DATE_HEADER)
            raise ValueError(f"header must be one of {forms} or None, got {header!r}")
        if counters not in COUNTER_FORMS:
            raise ValueError(f"counters must be one of {COUNTER_FORMS}, got {counters!r}")
        return cls(
            "rate_limited", status=429, retry_after=retry_after, retry_header=header, counters=counters
        )

    @classmethod
    def server_error(cls, status: int = 500, html: bool = False) -> Fault:
        """A 500/502/503/504 with Azure's error body.

        Args:
            status: 500 (default), 502, 503 or 504.
            html: True answers with a gateway's HTML page instead of the JSON body.

        Raises:
            ValueError: another ``status``.
        """
        if status not in _SERVER_ERRORS:
            raise ValueError(f"status must be one of {sorted(_SERVER_ERRORS)}, got {status!r}")
        return cls("server_error", status=status, html=html)

    @classmethod
    def content_filter(cls) -> Fault:
        """400 with Azure's content_filter body, including ``innererror.content_filter_result``."""
        return cls("content_filter", status=400)

    @classmethod
    def filtered_completion(cls) -> Fault:
        """200 whose completion is cut short with ``finish_reason="content_filter"``."""
        return cls("filtered_completion")

    @classmethod
    def slow_first_byte(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before sending the response headers.

        Args:
            seconds: how long to wait (>= 0; a real wait, cut short when the emulator stops).
        """
        _non_negative("seconds", seconds)
        return cls("slow_first_byte", seconds=seconds)

    @classmethod
    def stall(cls, after_chunks: int, seconds: float) -> Fault:
        """Pause the body for ``seconds`` after ``after_chunks`` events, then carry on.

        Args:
            after_chunks: how many SSE events are sent before the pause (>= 0; the first, prompt-filter event
                counts). On a non-streamed request the pause comes in the middle of the body.
            seconds: how long the pause lasts (>= 0).
        """
        _non_negative("after_chunks", after_chunks)
        _non_negative("seconds", seconds)
        return cls("stall", after_chunks=after_chunks, seconds=seconds)

    @classmethod
    def drop(cls, after_chunks: int) -> Fault:
        """Close the connection after ``after_chunks`` events, without ``[DONE]`` or the final empty chunk.

        Args:
            after_chunks: how many SSE events are sent first (>= 0; the first, prompt-filter event counts). On a
                non-streamed request the body is cut short instead.
        """
        _non_negative("after_chunks", after_chunks)
        return cls("drop", after_chunks=after_chunks)

    @classmethod
    def error_event(
        cls,
        after_chunks: int,
        code: str = "server_error",
        message: str = "The server had an error while processing your request. Sorry about that!",
    ) -> Fault:
        """Send ``data: {"error": {...}}`` after ``after_chunks`` events, then end the stream.

        On a non-streamed request the answer is a 500 with this code and message instead.

        Args:
            after_chunks: how many SSE events are sent first (>= 0; the first, prompt-filter event counts).
            code: the error's ``code`` (default ``"server_error"``).
            message: the error's ``message`` (default: Azure's "The server had an error..." text).
        """
        _non_negative("after_chunks", after_chunks)
        return cls("error_event", after_chunks=after_chunks, code=code, message=message)

    @classmethod
    def context_length(cls) -> Fault:
        """400 ``context_length_exceeded``, whatever the prompt length."""
        return cls("context_length", status=400)

    @classmethod
    def request_timeout(cls, seconds: float = 0.0) -> Fault:
        """408 ``"The operation was timeout."``, as Azure answers long requests, after waiting ``seconds``.

        Args:
            seconds: how long to wait before answering (>= 0; default 0: at once).
        """
        _non_negative("seconds", seconds)
        return cls("request_timeout", status=408, seconds=seconds)

    @property
    def replaces_response(self) -> bool:
        """Whether this fault answers with an error instead of a completion."""
        return self.kind in _STATUS_KINDS


def fault_rejection(fault: Fault, route: Route, api_version: str, context_window: int | None) -> Rejection:
    """The error answer of a fault whose ``replaces_response`` is true."""
    if fault.kind == "rate_limited":
        return _rate_limited(fault, api_version)
    if fault.kind == "server_error":
        if fault.html:
            return Rejection(_html_error(fault.status))
        code, message = _SERVER_ERRORS[fault.status]
        return azure_error(fault.status, code, message)
    if fault.kind == "content_filter":
        return json_error(400, content_filter_body(), code="content_filter")
    if fault.kind == "context_length":
        return context_length_exceeded(route, context_window, None)
    if fault.kind == "request_timeout":
        # Azure's 408 body is not recorded publicly; this is the plain gateway error shape.
        return azure_error(408, "Timeout", _TIMEOUT_MESSAGE)
    raise ValueError(f"fault {fault.kind!r} does not replace the response")


def error_event_rejection(fault: Fault) -> Rejection:
    """A non-streamed request's answer to an ``error_event`` fault."""
    return azure_error(500, fault.code, fault.message)


def content_filter_body() -> dict[str, object]:
    safe = {"filtered": False, "severity": "safe"}
    return {
        "error": {
            "message": _CONTENT_FILTER_MESSAGE,
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {
                    "hate": safe,
                    "jailbreak": {"filtered": False, "detected": False},
                    "self_harm": safe,
                    "sexual": safe,
                    "violence": {"filtered": True, "severity": "medium"},
                },
            },
        }
    }


def throttled(
    api_version: str, dimension: Literal["requests", "tokens"], seconds: int, headers: Mapping[str, str]
) -> Rejection:
    """Azure's 429 for an exhausted call (``requests``) or token (``tokens``) rate limit."""
    limit = "call rate limit" if dimension == "requests" else "token rate limit"
    message = (
        f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version {api_version} have "
        f"exceeded {limit} of your current AIServices S0 pricing tier. Please retry after {seconds} "
        "seconds. Please contact Azure support service if you would like to further increase the default "
        "rate limit."
    )
    return json_error(429, {"error": {"code": "429", "message": message}}, code="429", headers=headers)


def _rate_limited(fault: Fault, api_version: str) -> Rejection:
    seconds = math.ceil(fault.retry_after)
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "0"}
    if fault.counters != "exhausted":
        headers = placeholder_counters(fault.counters)
    dimension: Literal["requests", "tokens"] = "tokens"
    if fault.retry_header == "retry-after":
        headers["retry-after"] = str(seconds)
    elif fault.retry_header == _DATE_HEADER:
        headers["retry-after"] = formatdate(time.time() + seconds, usegmt=True)
    elif fault.retry_header in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        dimension = "requests" if fault.retry_header == "x-ratelimit-reset-requests" else "tokens"
        headers[fault.retry_header] = str(seconds)
        headers["policy-id"] = _POLICY_IDS[dimension]
    elif fault.retry_header is not None:
        headers[fault.retry_header] = str(round(fault.retry_after * 1000))
    return throttled(api_version, dimension, seconds, headers)


def _html_error(status: int) -> ErrorReply:
    title = f"{status} {_REASONS[status]}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n</html>\r\n"
    )
    return ErrorReply(status, page.encode(), content_type="text/html")


def random_fault(rng: random.Random) -> Fault:
    """A 408, 429, 500 or 503 (equally likely), picked by ``rng`` (the emulator's seeded ``fault_rate``
    faults). A 429 asks for one second in one of its header forms, picked the same way."""
    choice = rng.choice((408, 429, 500, 503))
    if choice == 408:
        return Fault.request_timeout()
    if choice == 429:
        return Fault.rate_limited(header=rng.choice(_RETRY_HEADERS))
    return Fault.server_error(choice)
