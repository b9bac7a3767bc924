"""Every public class and method documents its parameters (the API reference is generated from the docstrings).

Walks the public API: every name in ``grok_azure.__all__``, ``grok_azure.testing.__all__`` and
``grok_azure.otel.__all__`` (when OpenTelemetry is installed), the resources reachable from both clients
(``client.chat``, ``client.chat.completions``, ``client.models``, ``client.chat.completions.with_raw_response``)
and the public methods of every class found. Each parameter of a public function or method, and of a public
class's constructor, must be named in the ``Args:`` section (Google style, what mkdocstrings renders) of its
docstring; a constructor's may be in the class docstring instead. An overloaded method's docstring (the
implementation's) must name the parameters of every overload. ``*args`` / ``**kwargs`` typed ``Unpack[TypedDict]``
are documented by their TypedDict, so they need no entry of their own.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typing_extensions import Unpack, is_typeddict

import grok_azure
import grok_azure.testing
from grok_azure import AsyncGrokClient, GrokClient
from grok_azure.types import ChatParams

# Classes users never construct: the SDK builds them and hands them over (constructor parameters are not part of
# the public API, so their docs are not checked; their public methods still are). Exceptions and warnings are
# left out by rule, as are the response models (pydantic ``GrokModel`` subclasses, built from JSON).
NOT_CONSTRUCTED = {
    # streams and stream managers (returned by create(stream=True), stream(), run_tools(stream=True))
    "Stream", "AsyncStream", "ChatCompletionStream", "AsyncChatCompletionStream", "ChatCompletionStreamManager",
    "AsyncChatCompletionStreamManager", "StructuredChatCompletionStream", "AsyncStructuredChatCompletionStream",
    "StructuredStreamManager", "AsyncStructuredStreamManager", "ToolRunStream", "AsyncToolRunStream",
    "RawStreamManager", "AsyncRawStreamManager",
    # events a stream yields
    "ChunkEvent", "ContentDeltaEvent", "ReasoningDeltaEvent", "ToolCallArgumentsDeltaEvent",
    "ToolCallArgumentsDoneEvent", "UsageEvent", "DoneEvent", "ContentPartialEvent", "ContentParsedEvent",
    "ToolResultEvent", "ToolRunDoneEvent",
    # results and records a call, a tracker or the emulator returns
    "StructuredAttempt", "ToolCallRecord", "ToolRound", "ToolRunResult", "RawResponse", "Cost", "UsageSummary",
    "Reservation", "DeployedModel", "CallInfo", "Catalog", "Endpoint", "RecordedRequest", "FoundryTarget",
    # made by a decorator, a factory or the client: @tool, FoundryEmulator.reply, Fault.rate_limited()...,
    # client.chat.completions...
    "Tool", "Reply", "Fault", "NotGiven", "Chat", "AsyncChat", "Completions", "AsyncCompletions", "Models",
    "AsyncModels", "CompletionsWithRawResponse", "AsyncCompletionsWithRawResponse",
}  # fmt: skip

# Methods inherited from outside grok_azure (pydantic's model_dump, Exception's, dict's...) are documented there.
_SECTION = re.compile(
    r"^(\s*)(Args|Arguments|Parameters|Keyword Args|Keyword Arguments|Other Parameters):\s*$"
)
_ITEM = re.compile(r"^(\*{0,2}[A-Za-z_]\w*)\s*(\(.*\))?\s*:")


def documented(doc: str | None) -> set[str]:
    """The names the ``Args:``-like sections of a Google-style docstring document (``**params`` as ``params``)."""
    names: set[str] = set()
    lines = inspect.cleandoc(doc or "").splitlines()
    i = 0
    while i < len(lines):
        header = _SECTION.match(lines[i])
        i += 1
        if header is None:
            continue
        base, item_indent = len(header.group(1)), None
        while i < len(lines):
            line = lines[i]
            indent = len(line) - len(line.lstrip())
            if line.strip() and indent <= base:
                break
            if line.strip():
                item_indent = indent if item_indent is None else item_indent
                match = _ITEM.match(line.strip())
                if indent == item_indent and match:
                    names.add(match.group(1).lstrip("*"))
            i += 1
    return names


def _is_unpack(annotation: Any) -> bool:
    return "Unpack[" in (annotation if isinstance(annotation, str) else repr(annotation))


def required(func: Callable[..., Any]) -> set[str]:
    """The parameters ``func``'s docstring must name: its own and its overloads', but self/cls and Unpack ones."""
    signatures = [inspect.signature(f) for f in (*typing.get_overloads(func), func)]
    names: set[str] = set()
    for signature in signatures:
        for name, param in signature.parameters.items():
            if name in ("self", "cls"):
                continue
            variadic = param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
            if variadic and any(
                _is_unpack(s.parameters[name].annotation) for s in signatures if name in s.parameters
            ):
                continue
            names.add(name)
    return names


def _resources() -> Iterator[tuple[str, type]]:
    # Reached as users reach them; building a client sends nothing.
    for kind in (GrokClient, AsyncGrokClient):
        client = kind(
            endpoint="https://docs-check.services.ai.azure.com", api_key="docs-check-key-0123456789"
        )
        completions = client.chat.completions
        for path, obj in (
            ("chat", client.chat),
            ("chat.completions", completions),
            ("chat.completions.with_raw_response", completions.with_raw_response),
            ("models", client.models),
        ):
            yield f"{kind.__name__}().{path}", type(obj)


def _exports() -> Iterator[tuple[str, Any]]:
    for module in (grok_azure, grok_azure.testing):
        for name in module.__all__:
            yield f"{module.__name__}.{name}", getattr(module, name)
    try:
        import grok_azure.otel as otel
    except ImportError:  # the otel extra is not installed
        return
    for name in otel.__all__:
        yield f"{otel.__name__}.{name}", getattr(otel, name)


def _ours(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("grok_azure")


def _constructed(cls: type) -> bool:
    if cls.__name__ in NOT_CONSTRUCTED or issubclass(cls, BaseException):
        return False
    return not any(base.__name__ == "GrokModel" and _ours(base) for base in cls.__mro__)


def _methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        for name, attr in vars(klass).items():
            if name in seen or (name.startswith("_") and name != "__call__"):
                continue
            seen.add(name)
            func = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
            if inspect.isfunction(func):
                yield name, func


def gaps() -> list[str]:
    """One line per undocumented parameter set: ``where: missing a, b``."""
    found: dict[str, set[str]] = {}

    def check(where: str, func: Callable[..., Any], *docs: str | None) -> None:
        missing = required(func) - set().union(*(documented(doc) for doc in docs))
        if missing:
            found[where] = missing

    classes: dict[type, str] = {}
    for where, obj in (*_exports(), *_resources()):
        if inspect.isclass(obj) and _ours(obj) and not is_typeddict(obj):
            classes.setdefault(obj, where)
        elif inspect.isfunction(obj) and _ours(obj):
            check(where, obj, obj.__doc__)
    for cls, where in classes.items():
        if _constructed(cls):
            init = cls.__init__
            if _ours(init):
                check(f"{where}(...)", init, cls.__doc__, init.__doc__)
            else:  # pydantic models and dataclasses: the fields, documented on the class
                signature_owner = _signature_function(cls)
                check(f"{where}(...)", signature_owner, cls.__doc__)
        for name, func in _methods(cls):
            # An override (TracingHook.on_request) implements its base's interface (Hook.on_request), whose
            # docstring documents the parameters.
            overridden = [vars(base)[name] for base in cls.__mro__[1:] if _ours(base) and name in vars(base)]
            check(f"{where}.{name}", func, func.__doc__, *(getattr(f, "__doc__", None) for f in overridden))
    return sorted(f"{where}: missing {', '.join(sorted(names))}" for where, names in found.items())


def _signature_function(cls: type) -> Callable[..., Any]:
    """A function with ``cls``'s constructor signature (pydantic builds it from the fields)."""

    def construct(*args: Any, **kwargs: Any) -> None: ...

    construct.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]
    return construct


def test_every_public_parameter_is_documented() -> None:
    missing = gaps()
    assert not missing, "parameters missing from the docstrings' Args sections:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize(
    ("doc", "names"),
    [
        (
            "Do it.\n\nArgs:\n    a: one.\n    b (int): two,\n        c: not an item.\n\nReturns:\n    x: no.",
            {"a", "b"},
        ),
        ("Do it.\n\n    Args:\n        **params: see ChatParams.\n    ", {"params"}),
        ("Do it.\n\nArgs:\n    a, b: one line for two is not read by mkdocstrings either.", set()),
        ("No sections; a: b.", set()),
    ],
)
def test_the_args_reader(doc: str, names: set[str]) -> None:
    assert documented(doc) == names


def test_overloads_add_their_parameters_and_unpack_ones_are_documented_by_reference() -> None:
    @typing.overload
    def f(*, a: int) -> int: ...
    @typing.overload
    def f(*, b: str, **params: Unpack[ChatParams]) -> str: ...
    def f(*args: int, **params: Any) -> Any: ...

    assert required(f) == {"a", "b", "args"}
