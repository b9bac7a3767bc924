"""The request each attempt sends, as built on the hot path: what httpx would have added, and nothing kept that
holds a secret. Through the public clients (respx), with a look at the URL cache where secrets are concerned."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from grok_azure import AsyncGrokClient, GrokClient, RequestValidationError
from grok_azure._endpoint import resolve_endpoint
from grok_azure._secrets import RedactingHeaders, RedactingRequest
from grok_azure._wire import (
    _TARGETS,
    PreparedRequest,
    SentHeaders,
    _plainly_sendable,
    header_problem,
    new_request_id,
    prepare_chat_request,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
SECRET = "sv=2024&sig=SECRET-signature-0123456789"


def _sent(route: respx.Route) -> httpx.Request:
    request: httpx.Request = route.calls.last.request
    return request


def test_host_and_content_length_are_sent_once(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    request = _sent(route)
    names = [name.lower() for name, _ in request.headers.raw]
    assert names.count(b"host") == 1
    assert names.count(b"content-length") == 1
    assert request.headers["host"] == "res.services.ai.azure.com"
    assert request.headers["content-length"] == str(len(request.content))


def test_a_host_header_of_the_callers_is_kept_and_not_doubled(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="grok-4", messages=MESSAGES, extra_headers={"Host": "front.door"}
        )
    request = _sent(route)
    assert [value for name, value in request.headers.raw if name.lower() == b"host"] == [b"front.door"]


def test_every_attempt_gets_its_own_retry_count_on_the_same_url(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(503, json={"error": {"message": "busy"}}),
            httpx.Response(200, json=completion_body()),
        ]
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=None) as client:
        client.with_options(max_retries=1).chat.completions.create(model="grok-4", messages=MESSAGES)
    first, second = (call.request for call in route.calls)
    assert first.url == second.url == CHAT_URL
    assert [first.headers["x-grok-azure-retry-count"], second.headers["x-grok-azure-retry-count"]] == [
        "0",
        "1",
    ]


def test_a_url_with_a_secret_query_is_not_kept(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    _TARGETS.clear()
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_query={"sig": SECRET})
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.calls[0].request.url.params["sig"] == SECRET  # sent as given
    assert not any(SECRET in str(key) for key in _TARGETS)
    assert len(_TARGETS) == 1  # the URL without the secret is


async def test_query_parameters_with_several_values_are_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    # respx mocks httpx's own transports, so the async client gets one (its default runs on aiohttp).
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        await client.chat.completions.create(
            model="grok-4", messages=MESSAGES, extra_query={"tag": ["a", "b"]}
        )
    assert _sent(route).url.params.get_list("tag") == ["a", "b"]


# --- the encoded header fields -------------------------------------------------------------------------------


def test_httpx_keeps_headers_as_the_fast_path_builds_them() -> None:
    # The SDK builds httpx.Headers from already encoded (name, lower-case name, value) fields; if httpx ever keeps
    # them otherwise, this fails before any request goes out malformed.
    # It makes them without __init__, so every attribute __init__ sets must be one the SDK sets too.
    assert vars(httpx.Headers([("X-Name", "v")])) == {
        "_list": [(b"X-Name", b"x-name", b"v")],
        "_encoding": None,
    }


def test_a_request_made_without_init_has_what_init_would_give_it() -> None:
    # The SDK makes each attempt's request without httpx.Request.__init__ (RedactingRequest.of_parts); if httpx
    # ever sets another attribute there, this fails before a request goes out without it.
    url = httpx.URL("https://example.test/openai/v1/chat/completions")
    headers = RedactingHeaders.of_encoded([(b"Host", b"host", b"example.test")])
    extensions = {"timeout": {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0}}
    made = RedactingRequest.of_parts("POST", url, headers, b"{}", extensions)
    httpx_made = httpx.Request(
        "POST", url, headers=headers, stream=httpx.ByteStream(b"{}"), extensions=extensions
    )
    httpx_made.read()
    assert vars(made).keys() == vars(httpx_made).keys()
    assert (made.method, made.url, list(made.headers.raw), made.extensions, made.content) == (
        httpx_made.method,
        httpx_made.url,
        list(httpx_made.headers.raw),
        httpx_made.extensions,
        httpx_made.content,
    )
    assert made.url is url  # kept, not copied
    assert made.headers is headers
    assert b"".join(made.stream) == b"{}"  # type: ignore[arg-type]


def _headers_sent(extra_headers: dict[str, str] | None = None, **client: object) -> list[tuple[bytes, bytes]]:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(CHAT_URL).respond(200, json=completion_body())
        with GrokClient(endpoint=ENDPOINT, api_key=KEY, **client) as grok:  # type: ignore[arg-type]
            grok.chat.completions.create(model="grok-4", messages=MESSAGES, extra_headers=extra_headers)
    return list(_sent(route).headers.raw)


def test_the_fields_sent_are_what_httpx_would_make_of_the_same_headers() -> None:
    sent = _headers_sent({"X-Trace": "abc", "x-other": "1"}, default_headers={"X-Team": "blue"})
    names = [name for name, _ in sent]
    assert names[0] == b"Host"
    assert names[-1] == b"Content-Length"
    request_id = dict(httpx.Headers(sent))["x-ms-client-request-id"]
    expected = httpx.Headers(
        [
            ("Host", "res.services.ai.azure.com"),
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("user-agent", dict(httpx.Headers(sent))["user-agent"]),
            ("x-ms-client-request-id", request_id),
            ("X-Team", "blue"),
            ("X-Trace", "abc"),
            ("x-other", "1"),
            ("x-grok-azure-retry-count", "0"),
            ("api-key", KEY),
            ("Content-Length", dict(httpx.Headers(sent))["content-length"]),
        ]
    )
    assert sent == expected.raw


def test_a_header_of_the_callers_named_like_the_credentials_is_sent_as_before() -> None:
    # The credential's header replaces the caller's of the same name, where the caller's stood.
    sent = _headers_sent({"api-key": "not-the-key", "X-After": "1"})
    assert [value for name, value in sent if name.lower() == b"api-key"] == [KEY.encode()]
    names = [name.lower() for name, _ in sent]
    assert names.index(b"api-key") < names.index(b"x-after")


_SDK_NAMES = [
    "host",
    "content-length",
    "transfer-encoding",
    "x-grok-azure-retry-count",
    "user-agent",
    "accept",
    "content-type",
    "x-ms-client-request-id",
    "extra-parameters",
]
# Every name the SDK sends itself, in its own case, upper case, and capitalised word by word.
_SDK_NAMES_ANY_CASE = st.sampled_from(
    [variant for name in _SDK_NAMES for variant in (name, name.upper(), name.title())]
)


@given(
    st.dictionaries(
        st.one_of(_SDK_NAMES_ANY_CASE, st.sampled_from(["api-key", "Authorization", "x-key"])),
        st.sampled_from(["k1", "Bearer a.b.c"]),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["openai_v1", "model_inference"]),
)
def test_a_request_without_caller_headers_sends_what_the_full_merge_would(
    auth: dict[str, str], route: str
) -> None:
    # Without default_headers or extra_headers the headers are built without the name-clash walk: whatever the
    # credential's header names (one may be named like one of the SDK's own, in any case), the result must be the
    # walk's. reasoning_effort is outside the /models spec, so that route adds its extra-parameters header.
    endpoint = resolve_endpoint(ENDPOINT, route)
    body = {"model": "m", "messages": [], "reasoning_effort": "low"}
    prepared = prepare_chat_request(endpoint, body, api_version=None, timeout=httpx.Timeout(5.0))
    assert prepared.sdk_named
    assert ("extra-parameters" in prepared.headers) is (route == "model_inference")
    walked = dataclasses.replace(prepared, sdk_named=False)
    for attempt in (0, 1):
        fast, full = prepared.build(auth, attempt).headers, walked.build(auth, attempt).headers
        assert type(fast) is type(full)
        assert getattr(fast, "pairs", None) == getattr(full, "pairs", None)
        assert list(fast.raw) == list(full.raw)


@pytest.mark.parametrize(
    "given_headers", [{"default_headers": {"X-Team": "blue"}}, {"extra_headers": {"X": "1"}}]
)
def test_a_request_with_caller_headers_is_not_taken_for_one_with_only_the_sdks(given_headers: Any) -> None:
    endpoint = resolve_endpoint(ENDPOINT)
    prepared = prepare_chat_request(
        endpoint,
        {"model": "m", "messages": []},
        api_version=None,
        timeout=httpx.Timeout(5.0),
        **given_headers,
    )
    assert not prepared.sdk_named


def test_a_key_header_named_like_one_of_the_sdks_replaces_it_where_it_stood() -> None:
    sent = _headers_sent(api_key_header="User-Agent")
    assert [value for name, value in sent if name.lower() == b"user-agent"] == [KEY.encode()]
    assert [name for name, _ in sent].index(b"User-Agent") < [name for name, _ in sent].index(
        b"x-grok-azure-retry-count"
    )


def test_request_ids_are_distinct_version_4_uuids(mock_api: respx.MockRouter) -> None:
    import uuid

    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        for _ in range(50):
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
    ids = [call.request.headers["x-ms-client-request-id"] for call in route.calls]
    parsed = [uuid.UUID(value) for value in ids]
    assert [str(u) for u in parsed] == ids  # canonical lower-case form
    assert {u.version for u in parsed} == {4}
    assert {u.variant for u in parsed} == {uuid.RFC_4122}
    assert len(set(ids)) == 50


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_makes_request_ids_of_its_own() -> None:
    # Request ids come from the random module, not os.urandom: a forked child (a gunicorn or multiprocessing
    # worker) must not repeat its parent's sequence.
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(writer, new_request_id().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    child = os.read(reader, 64).decode()
    os.close(reader)
    assert child != new_request_id()


def test_request_ids_do_not_follow_the_applications_random_seed() -> None:
    import random

    random.seed(42)
    first = new_request_id()
    random.seed(42)
    assert new_request_id() != first  # workers seeded alike still send distinct ids
    random.seed(7)
    expected = [random.random() for _ in range(3)]
    random.seed(7)
    new_request_id()
    assert [random.random() for _ in range(3)] == expected  # and the application's sequence is its own


# --- headers kept as strings until read ---------------------------------------------------------------------

_PAIRS = {"Host": "example.test", "accept": "application/json", "Accept": "text/plain", "api-key": KEY}


def test_sent_headers_untouched_hand_over_the_strings_they_were_given() -> None:
    pairs = dict(_PAIRS)
    headers = SentHeaders.of_pairs(pairs)
    assert headers.pairs is pairs  # what the aiohttp transport sends, as given
    assert KEY not in repr(headers)  # hidden like any RedactingHeaders


def test_sent_headers_read_through_httpx_are_what_httpx_would_make_of_the_same_pairs() -> None:
    headers = SentHeaders.of_pairs(dict(_PAIRS))
    made = httpx.Headers(list(_PAIRS.items()))
    assert list(headers.raw) == list(made.raw)
    assert headers.multi_items() == made.multi_items()
    assert headers.pairs is None  # read: from now on the fields are the headers


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h.__setitem__("X-New", "1"),
        lambda h: h.__setitem__("ACCEPT", "*/*"),  # replaces the first of two, drops the other
        lambda h: h.__delitem__("api-key"),
        lambda h: h.update({"api-key": "other"}),
        lambda h: h.set_encoded(b"traceparent", b"00-abc-def-01"),
    ],
)
def test_sent_headers_changed_through_httpx_change_as_httpx_headers_do(change: Any) -> None:
    headers = SentHeaders.of_pairs(dict(_PAIRS))
    made = RedactingHeaders(list(_PAIRS.items()))
    change(headers)
    change(made)
    assert headers.pairs is None  # the transport sends the fields, changes included
    assert list(headers.raw) == list(made.raw)


# --- the shortcut of the credential-header check --------------------------------------------------------------


@given(
    st.dictionaries(
        st.one_of(
            st.text(max_size=12), st.sampled_from(["api-key", "Authorization", "x-api-key"]), st.integers()
        ),
        st.one_of(st.text(max_size=24), st.sampled_from(["Bearer a.b.c", "key\tvalue", "k\r\n"]), st.none()),
        max_size=3,
    )
)
def test_headers_the_shortcut_passes_are_ones_the_full_check_passes(headers: dict[Any, Any]) -> None:
    # A credential header is checked on every attempt; the shortcut may only say "fine" where header_problem would.
    if _plainly_sendable(headers):
        assert [header_problem(name, value) for name, value in headers.items()] == [None] * len(headers)


@pytest.mark.parametrize("value", ["key\r\nX-Injected: 1", "kéy", "key\x00", 42])
def test_a_credential_header_the_shortcut_refuses_still_gets_the_full_check(value: object) -> None:
    prepared = PreparedRequest("POST", "https://example.test/openai/v1/chat/completions")
    with pytest.raises(RequestValidationError) as caught:
        prepared.build({"api-key": value})  # type: ignore[dict-item]
    assert caught.value.param == "credential"
    assert str(value) not in str(caught.value)  # the value is never quoted: it is a credential


def test_a_tab_in_a_credential_header_is_sent() -> None:
    prepared = PreparedRequest("POST", "https://example.test/openai/v1/chat/completions")
    assert prepared.build({"api-key": "a\tb"}).headers["api-key"] == "a\tb"


def test_a_repr_after_a_hook_added_bytes_httpx_cannot_decode_does_not_raise() -> None:
    headers = RedactingHeaders({"api-key": KEY, "Accept": "application/json"})
    assert dict(headers.items())["accept"] == "application/json"  # httpx settles on ascii here, and keeps it
    headers.update({"X-Raw": b"caf\xe9"})  # as a hook may: httpx's own items() now raises
    shown = repr(headers)  # a traceback rendered with its locals calls this
    assert KEY not in shown
    assert "x-raw" in shown.lower()
