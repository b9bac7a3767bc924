"""One AsyncGrokClient across event loops, as users meet them: a module-level client used by one ``asyncio.run()``
after another (or by a test framework's loop per test), a client never closed, and one shared by two running loops."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import pytest

from grok_azure import AsyncGrokClient, ConfigurationError

from ._loopback import LoopbackServer, SeenRequest, json_response
from .conftest import KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]


def answer(request: SeenRequest) -> list[bytes]:
    return json_response(request, completion_body())


def test_one_client_serves_one_asyncio_run_after_another() -> None:
    with LoopbackServer(answer) as server:
        client = AsyncGrokClient(endpoint=server.url, api_key=KEY)

        async def ask() -> str | None:
            return (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text

        first = asyncio.run(ask())
        second = asyncio.run(ask())  # a new loop: the first one's connections are gone with it
        third = asyncio.run(ask())
        asyncio.run(client.close())
    assert first == second == third
    assert len(server.requests) == 3


def test_a_client_shared_by_two_running_loops_says_so() -> None:
    with LoopbackServer(answer) as server:
        client = AsyncGrokClient(endpoint=server.url, api_key=KEY)
        other = asyncio.new_event_loop()
        runner = threading.Thread(target=other.run_forever, daemon=True)
        runner.start()
        try:
            create = client.chat.completions.create(model="grok-4", messages=MESSAGES)
            asyncio.run_coroutine_threadsafe(create, other).result(10)  # the client now belongs to `other`

            async def ask() -> object:
                return await client.chat.completions.create(model="grok-4", messages=MESSAGES)

            # A usage error, raised at once: not retried as a network failure would be.
            with pytest.raises(ConfigurationError, match="another event loop, which is running now"):
                asyncio.run(ask())
            assert len(server.requests) == 1
        finally:
            asyncio.run_coroutine_threadsafe(client.close(), other).result(10)
            other.call_soon_threadsafe(other.stop)
            runner.join(10)
            other.close()


def test_a_client_never_closed_prints_nothing() -> None:
    with LoopbackServer(answer) as server:
        script = textwrap.dedent(
            f"""
            import asyncio
            from grok_azure import AsyncGrokClient

            async def main():
                client = AsyncGrokClient(endpoint={server.url!r}, api_key={KEY!r})
                await client.chat.completions.create(model="grok-4", messages=[{{"role": "user", "content": "Hi"}}])

            asyncio.run(main())
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 0, done.stderr
    assert "Unclosed" not in done.stderr
    assert done.stderr == ""


def test_clients_never_closed_and_collected_while_their_loop_runs_print_nothing() -> None:
    # Dev mode shows ResourceWarnings and logs aiohttp's "Unclosed client session", as pytest and debug runs do. A
    # client is collected with its transport and session in no set order (it sits in reference cycles): the
    # session, finalized first, printed that for nearly every client kept alive by an open connection.
    script = textwrap.dedent(
        """
        import asyncio, gc
        from grok_azure import AsyncGrokClient
        from grok_azure.testing import FoundryEmulator

        KEY = "unclosed-client-key-0123456789"

        async def main(url):
            for _ in range(4):
                client = AsyncGrokClient(endpoint=url, api_key=KEY, validate=False)
                await client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "Hi"}])
                del client
                gc.collect()
                await asyncio.sleep(0.05)

        with FoundryEmulator(api_key=KEY, deployments={"chat": "grok-4"}) as emulator:
            asyncio.run(main(emulator.url))
        """
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Unclosed" not in done.stderr


def test_a_client_moves_on_from_a_loop_that_is_idle_but_not_closed() -> None:
    with LoopbackServer(answer) as server:
        client = AsyncGrokClient(endpoint=server.url, api_key=KEY)
        first = asyncio.new_event_loop()
        try:
            create = client.chat.completions.create(model="grok-4", messages=MESSAGES)
            first.run_until_complete(create)  # `first` stays open, idle

            async def ask() -> str | None:
                return (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text

            assert asyncio.run(ask()) == "Hello!"
            asyncio.run(client.close())
        finally:
            first.close()
        assert len(server.requests) == 2
