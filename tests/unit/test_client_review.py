"""Defects a hostile review found in the client shell: a 401 refresh keeps its connection; a close mid-call
does not claim that nothing was sent."""

from __future__ import annotations

import itertools
import threading

import pytest

from grok_azure import AsyncGrokClient, ClientClosedError, GrokClient

from ._loopback import LoopbackServer, SeenRequest, json_response

MESSAGES = [{"role": "user", "content": "hi"}]
# A global, not a local: the test's own frame is rendered too, and it must not be what holds the key.
UNEXPECTED_SECRET = "sk-unexpected-" + "s" * 24
COMPLETION = {
    "id": "c",
    "object": "chat.completion",
    "created": 1,
    "model": "grok-4",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}


def _revoking_server() -> LoopbackServer:
    """Answers 401 to the first token (``token-0``, revoked), 200 to the others."""

    def respond(request: SeenRequest) -> list[bytes]:
        if request.headers.get("authorization", "").endswith("token-0"):
            return json_response(request, {"error": {"code": "401", "message": "revoked"}}, status=401)
        return json_response(request, COMPLETION)

    return LoopbackServer(respond)


def test_a_401_refresh_resends_on_the_same_connection() -> None:
    counter = itertools.count()
    with (
        _revoking_server() as server,
        GrokClient(endpoint=server.url, credential=lambda: f"token-{next(counter)}", max_retries=0) as client,
    ):
        for _ in range(5):
            assert client.chat.completions.create(model="m", messages=MESSAGES).text == "ok"
    assert len(server.requests) == 6  # the revoked token, its refresh, then four more calls
    assert server.connections == 1


async def test_async_a_401_refresh_resends_on_the_same_connection() -> None:
    counter = itertools.count()
    with _revoking_server() as server:
        async with AsyncGrokClient(
            endpoint=server.url, credential=lambda: f"token-{next(counter)}", max_retries=0
        ) as client:
            for _ in range(5):
                completion = await client.chat.completions.create(model="m", messages=MESSAGES)
                assert completion.text == "ok"
    assert len(server.requests) == 6
    assert server.connections == 1


def test_closing_the_client_during_a_call_does_not_say_nothing_was_sent() -> None:
    arrived = threading.Event()
    release = threading.Event()

    def respond(request: SeenRequest) -> list[bytes]:
        arrived.set()
        release.wait(5)
        return json_response(request, COMPLETION)

    with LoopbackServer(respond) as server:
        client = GrokClient(endpoint=server.url, api_key="k" * 32, max_retries=0)
        closer = threading.Thread(target=lambda: (arrived.wait(5), client.close(), release.set()))
        closer.start()
        try:
            with pytest.raises(ClientClosedError) as caught:
                client.chat.completions.create(model="m", messages=MESSAGES)
        finally:
            release.set()
            closer.join()
    assert len(server.requests) == 1
    assert "nothing was sent" not in str(caught.value)
    assert "may have reached the service" in str(caught.value)


def test_a_call_after_close_still_says_nothing_was_sent() -> None:
    client = GrokClient(endpoint="https://res.services.ai.azure.com", api_key="k" * 32)
    client.close()
    with pytest.raises(ClientClosedError, match="nothing was sent"):
        client.chat.completions.create(model="m", messages=MESSAGES)


@pytest.mark.parametrize("client_class", [GrokClient, AsyncGrokClient])
def test_an_unexpected_error_while_building_a_client_leaves_no_key_in_its_frames(
    monkeypatch: pytest.MonkeyPatch, client_class: type[GrokClient] | type[AsyncGrokClient]
) -> None:
    import traceback

    import grok_azure._client

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, not a GrokError")

    monkeypatch.setattr(grok_azure._client, "resolve_endpoint", broken)
    with pytest.raises(RuntimeError) as caught:
        client_class(endpoint="https://res.services.ai.azure.com", api_key=UNEXPECTED_SECRET)
    rendered = "".join(
        traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
    )
    assert "resolve_endpoint" in rendered or "_configure" in rendered  # the frames are there, only emptied
    assert UNEXPECTED_SECRET not in rendered
