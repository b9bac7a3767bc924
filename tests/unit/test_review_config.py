"""Review follow-up: client settings that were accepted and failed later, or escaped as raw errors.

The checks live in ``grok_azure._validate``; the client constructors and ``with_options`` must call them (see the
H12 report). Until they do, these tests are expected failures; strict, so wiring them turns them into errors that
say to drop the mark.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from grok_azure import AsyncGrokClient, ConfigurationError, GrokClient, GrokError, RequestValidationError

from .conftest import ENDPOINT, KEY

BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"timeout": float("nan")}, "timeout"),
    ({"timeout": float("inf")}, "timeout"),
    ({"timeout": httpx.Timeout(-1)}, "timeout"),
    ({"timeout": httpx.Timeout(5.0, read=float("nan"))}, "timeout"),
    ({"response_limits": {"max_body_bytes": 1}}, "response_limits"),
    ({"default_headers": [("x-a", "b")]}, "default_headers"),
    ({"default_headers": "x-a: b"}, "default_headers"),
]
IDS = [f"{param}-{index}" for index, (_, param) in enumerate(BAD_SETTINGS)]


@pytest.mark.parametrize("client_class", [GrokClient, AsyncGrokClient])
@pytest.mark.parametrize(("settings", "param"), BAD_SETTINGS, ids=IDS)
def test_a_bad_setting_is_refused_when_the_client_is_made(
    client_class: type[GrokClient] | type[AsyncGrokClient], settings: dict[str, Any], param: str
) -> None:
    with pytest.raises(RequestValidationError) as info:
        client_class(endpoint=ENDPOINT, api_key=KEY, **settings)
    assert info.value.param == param


@pytest.mark.parametrize(("settings", "param"), [s for s in BAD_SETTINGS if "response_limits" not in s[0]])
def test_a_bad_setting_is_refused_by_with_options(settings: dict[str, Any], param: str) -> None:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(GrokError) as info:
        client.with_options(**settings)
    assert isinstance(info.value, RequestValidationError)
    assert info.value.param == param


# --- proxies httpx cannot use ---------------------------------------------------------------------------

PROXY_PASSWORD = "proxy-password-0123456789"


@pytest.mark.parametrize("client_class", [GrokClient, AsyncGrokClient])
@pytest.mark.parametrize(
    "proxy_url",
    [f"ftp://user:{PROXY_PASSWORD}@127.0.0.1:21", f"gopher://user:{PROXY_PASSWORD}@127.0.0.1:70"],
)
def test_an_unusable_proxy_in_the_environment_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, client_class: type[GrokClient] | type[AsyncGrokClient], proxy_url: str
) -> None:
    import traceback

    monkeypatch.setenv("ALL_PROXY", proxy_url)
    with pytest.raises(ConfigurationError) as info:
        client_class(endpoint=ENDPOINT, api_key=KEY)
    error = info.value
    assert error.__traceback__ is not None
    # From the SDK's first frame on: this test's own frame holds the URL, as the caller's would.
    sdk_frames = error.__traceback__.tb_next
    rendered = "".join(
        traceback.TracebackException(type(error), error, sdk_frames, capture_locals=True).format()
    )
    assert PROXY_PASSWORD not in rendered
    assert "proxy" in str(info.value).lower()


@pytest.mark.parametrize("client_class", [GrokClient, AsyncGrokClient])
def test_a_socks_proxy_without_socksio_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, client_class: type[GrokClient] | type[AsyncGrokClient]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "socksio", None)  # as if it were not installed
    monkeypatch.setenv("ALL_PROXY", f"socks5://user:{PROXY_PASSWORD}@127.0.0.1:1080")
    with pytest.raises(ConfigurationError) as info:
        client_class(endpoint=ENDPOINT, api_key=KEY)
    assert "socksio" in str(info.value)
    assert PROXY_PASSWORD not in str(info.value)
    assert PROXY_PASSWORD not in str(info.value.__cause__)
