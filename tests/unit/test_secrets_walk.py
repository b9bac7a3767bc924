"""One reusable check that a secret is nowhere an exception reaches, and the tests that show the check can fail.

:func:`assert_no_secret` walks everything reachable from an exception: ``str``, ``repr``, ``args``, attributes
(``__dict__`` and ``__slots__``) recursively (requests, responses, headers, URLs, bodies, models), the
``__cause__``/``__context__`` chains, notes and exception groups, and the renderings of
``traceback.format_exception`` and ``TracebackException(..., capture_locals=True)`` (every local of every frame,
in the traceback and in the chain). Failures name where the secret was found, never the secret itself.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import sys
import traceback
import types
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import pydantic
import pytest

__all__ = ["assert_no_secret", "find_secret"]

# Objects the walk does not enter: code, frames (their locals are covered by the capture_locals rendering) and
# machinery whose state is not the exception's (event loops, locks, sockets).
_OPAQUE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    asyncio.AbstractEventLoop,
)
_MAX_DEPTH = 25


def _forms(secrets: Iterable[str]) -> list[tuple[str, str | bytes]]:
    """Each secret as text, percent-encoded and as bytes: the shapes in which it can sit in a URL or a body."""
    out: list[tuple[str, str | bytes]] = []
    for index, secret in enumerate(secrets):
        assert len(secret) >= 8, "a test secret must be long enough for the SDK to scrub it"
        label = f"secret #{index}"
        for form in {secret, quote(secret, safe="")}:
            out += [(label, form), (label, form.encode())]
    return out


class _Walk:
    def __init__(self, secrets: Iterable[str]) -> None:
        self.forms = _forms(secrets)
        self.hits: list[str] = []
        self.seen: set[int] = set()

    def check(self, where: str, value: str | bytes) -> None:
        for label, form in self.forms:
            if type(form) is type(value) and form in value:  # type: ignore[operator]
                self.hits.append(f"{label} in {where}")

    def text(self, where: str, render: Any) -> None:
        try:
            value = render()
        except Exception as exc:  # a rendering that fails is reported, not hidden
            self.hits.append(f"{where} could not be rendered: {type(exc).__name__}")
            return
        self.check(where, value if isinstance(value, (str, bytes)) else str(value))

    def visit(self, obj: Any, where: str, depth: int = 0) -> None:
        if obj is None or isinstance(obj, (bool, int, float, complex, _OPAQUE)):
            return
        if isinstance(obj, (str, bytes)):
            self.check(where, obj)
            return
        if isinstance(obj, (bytearray, memoryview)):
            self.check(where, bytes(obj))
            return
        if id(obj) in self.seen or depth > _MAX_DEPTH:
            return
        self.seen.add(id(obj))
        if isinstance(obj, types.TracebackType):  # kept in an attribute (azure-core keeps sys.exc_info())
            self.text(
                f"{where} rendered with capture_locals",
                lambda: "".join(
                    traceback.StackSummary.extract(traceback.walk_tb(obj), capture_locals=True).format()
                ),
            )
            return
        self.text(f"repr({where})", lambda: repr(obj))
        if isinstance(obj, BaseException):
            self._exception(obj, where, depth)
        elif isinstance(obj, httpx.Request):
            self.text(f"{where}.url", lambda: str(obj.url))
            self.visit(obj.headers.raw, f"{where}.headers", depth + 1)
            self._content(obj, where)
        elif isinstance(obj, httpx.Response):
            self.visit(obj.headers.raw, f"{where}.headers", depth + 1)
            self._content(obj, where)
            with contextlib.suppress(RuntimeError):  # a response without a request
                self.visit(obj.request, f"{where}.request", depth + 1)
        elif isinstance(obj, httpx.Headers):
            self.visit(obj.raw, where, depth + 1)
        elif isinstance(obj, httpx.URL):
            self.check(where, str(obj))
        elif isinstance(obj, pydantic.BaseModel):
            self.visit(obj.model_dump(), f"{where}.model_dump()", depth + 1)
        if isinstance(obj, Mapping):
            for key, value in list(obj.items()):
                self.visit(key, f"{where} key", depth + 1)
                self.visit(value, f"{where}[{key!r}]", depth + 1)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for index, value in enumerate(list(obj)):
                self.visit(value, f"{where}[{index}]", depth + 1)
        self._attributes(obj, where, depth)

    def _exception(self, exc: BaseException, where: str, depth: int) -> None:
        self.text(f"str({where})", lambda: str(exc))
        self.visit(exc.args, f"{where}.args", depth + 1)
        self.visit(getattr(exc, "__notes__", None), f"{where}.__notes__", depth + 1)
        self.visit(exc.__cause__, f"{where}.__cause__", depth + 1)
        self.visit(exc.__context__, f"{where}.__context__", depth + 1)
        self.visit(getattr(exc, "exceptions", None), f"{where}.exceptions", depth + 1)  # exception groups
        try:
            request = getattr(exc, "request", None)  # httpx's raises when unset
        except RuntimeError:
            request = None
        self.visit(request, f"{where}.request", depth + 1)

    def _content(self, message: httpx.Request | httpx.Response, where: str) -> None:
        try:
            content = message.content
        except (httpx.RequestNotRead, httpx.ResponseNotRead):
            return
        self.check(f"{where}.content", content)

    def _attributes(self, obj: Any, where: str, depth: int) -> None:
        attributes: dict[str, Any] = {}
        with contextlib.suppress(TypeError):
            attributes.update(vars(obj))
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if isinstance(slot, str) and slot not in attributes and hasattr(obj, slot):
                    attributes[slot] = getattr(obj, slot)
        for name, value in attributes.items():
            self.visit(value, f"{where}.{name}", depth + 1)


def _rendering(walk: _Walk, name: str, lines: Iterable[str]) -> None:
    """Check a traceback rendering line by line, naming the frame (file:line) and the local a hit is in."""
    frame = "the header"
    for line in "".join(lines).splitlines():
        stripped = line.strip()
        if stripped.startswith('File "'):
            where, _, function = stripped[len('File "') :].partition('", line ')
            frame = f"{where.rsplit('/src/', 1)[-1]}:{function.replace(', in ', ' in ')}"
        before = len(walk.hits)
        walk.check(name, line)
        if len(walk.hits) > before:
            local = stripped.partition(" = ")[0] if " = " in stripped else "its text"
            walk.hits[before:] = [f"{hit} at {frame}, {local}" for hit in walk.hits[before:]]


def find_secret(exc: BaseException, *secrets: str) -> list[str]:
    """Where any of ``secrets`` is reachable from ``exc``: object paths and traceback renderings."""
    walk = _Walk(secrets)
    walk.visit(exc, "exc")
    _rendering(walk, "traceback.format_exception", traceback.format_exception(exc))
    _rendering(
        walk,
        "TracebackException(capture_locals=True)",
        traceback.TracebackException.from_exception(exc, capture_locals=True).format(),
    )
    return walk.hits


def assert_no_secret(exc: BaseException, *secrets: str) -> None:
    """Fail, naming where (never what), if any of ``secrets`` is reachable from ``exc``."""
    __tracebackhide__ = True  # pytest would print this frame's arguments: the secrets themselves
    hits = find_secret(exc, *secrets)
    assert not hits, f"{type(exc).__name__} leaks a secret:\n  " + "\n  ".join(dict.fromkeys(hits))


# --- the check itself can fail: each place a secret can hide is found ------------------------------------------

SECRET = "walk-test-SECRET-0123456789"


def _raise(exc: BaseException) -> None:
    raise exc


def _caught(exc: BaseException) -> BaseException:
    with pytest.raises(type(exc)) as caught:
        _raise(exc)
    return caught.value


def test_clean_exception_passes() -> None:
    assert_no_secret(_caught(ValueError("nothing to see")), SECRET)


def test_secret_in_message_is_found() -> None:
    assert any("str(exc)" in hit for hit in find_secret(ValueError(f"key {SECRET}"), SECRET))


def test_failure_message_never_shows_the_secret() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_no_secret(ValueError(SECRET), SECRET)
    assert SECRET not in str(failure.value)
    assert "secret #0" in str(failure.value)


def test_secret_in_attached_request_headers_is_found() -> None:
    exc = httpx.ConnectError("refused", request=httpx.Request("GET", "http://x", headers={"a": SECRET}))
    assert any(".request" in hit for hit in find_secret(exc, SECRET))


def test_secret_in_cause_request_is_found() -> None:
    inner = httpx.ReadError("reset", request=httpx.Request("GET", "http://x", headers={"api-key": SECRET}))
    outer = RuntimeError("wrapped")
    outer.__cause__ = inner
    assert any("__cause__.request" in hit for hit in find_secret(outer, SECRET))


def test_secret_in_context_is_found() -> None:
    outer = RuntimeError("wrapped")
    outer.__context__ = KeyError(SECRET)
    assert any("__context__" in hit for hit in find_secret(outer, SECRET))


def test_secret_percent_encoded_in_url_is_found() -> None:
    secret = "walk/secret+value=0123456789"
    exc = RuntimeError("x")
    exc.url = httpx.URL("http://x/", params={"sig": secret})  # type: ignore[attr-defined]
    assert find_secret(exc, secret)


def test_secret_in_nested_attribute_body_is_found() -> None:
    class Holder:
        def __init__(self) -> None:
            self.payload = {"outer": [{"inner": SECRET.encode()}]}

    exc = RuntimeError("x")
    exc.holder = Holder()  # type: ignore[attr-defined]
    assert any("payload" in hit for hit in find_secret(exc, SECRET))


def test_secret_in_response_body_is_found() -> None:
    exc = RuntimeError("x")
    exc.response = httpx.Response(401, content=SECRET.encode())  # type: ignore[attr-defined]
    assert any("response.content" in hit for hit in find_secret(exc, SECRET))


def _frame_holding_secret() -> None:
    credential = {"api-key": SECRET}  # noqa: F841 - the local is the point: capture_locals renders it
    raise ValueError("boom")


def test_secret_in_a_frame_local_is_found_only_with_capture_locals() -> None:
    with pytest.raises(ValueError, match="boom") as caught:
        _frame_holding_secret()
    hits = find_secret(caught.value, SECRET)
    assert len(hits) == 1
    assert hits[0].startswith("secret #0 in TracebackException(capture_locals=True) at ")
    assert hits[0].endswith("in _frame_holding_secret, credential")


def _chain_over_frame_holding_secret() -> None:
    try:
        _frame_holding_secret()
    except ValueError as exc:
        raise RuntimeError("outer") from exc


def test_secret_in_a_chained_frame_local_is_found() -> None:
    with pytest.raises(RuntimeError) as caught:
        _chain_over_frame_holding_secret()
    hits = find_secret(caught.value, SECRET)
    assert any(hit.startswith("secret #0 in TracebackException(capture_locals=True)") for hit in hits)


def test_secret_in_a_kept_traceback_is_found() -> None:
    with pytest.raises(ValueError, match="boom") as caught:
        _frame_holding_secret()
    exc = RuntimeError("x")
    exc.exc_traceback = caught.value.__traceback__  # type: ignore[attr-defined]
    assert any("exc.exc_traceback" in hit for hit in find_secret(exc, SECRET))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups are Python 3.11+")
def test_secret_in_exception_group_member_is_found() -> None:
    group = builtins.ExceptionGroup("many", [ValueError("ok"), KeyError(SECRET)])
    assert find_secret(group, SECRET)
