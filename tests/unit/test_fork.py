"""A client made before ``os.fork()`` works in both processes: the child opens connections of its own rather than
sending on the sockets it shares with its parent (where both would read each other's answers), and an async
client forked from inside a running event loop serves the child's loop."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any

import pytest

from grok_azure import AsyncGrokClient, GrokClient

from ._loopback import LoopbackServer, SeenRequest, json_response
from .conftest import KEY, completion_body

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform"),
    # Python 3.12+ warns of fork() in a process with threads (the test's server runs in some): the child here only
    # makes calls and exits.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]
OPTIONS: dict[str, Any] = {"api_key": KEY, "max_retries": 0, "timeout": 10.0, "validate": False}


def _echo(request: SeenRequest) -> list[bytes]:
    asked = json.loads(request.body)["messages"][-1]["content"]
    if asked.startswith("parent"):
        time.sleep(0.1)  # the parent's answers come late: a child reading its socket would get them
    return json_response(request, completion_body(f"answer to {asked}"))


def _ask(who: str, call: Any) -> list[str]:
    answers = []
    for index in range(5):
        asked = f"{who}-{index}"
        try:
            answer = call(asked)
        except Exception as exc:  # reported, not raised: the child reports through a pipe
            answers.append(f"{type(exc).__name__}: {exc}")
        else:
            answers.append("ok" if answer == f"answer to {asked}" else f"crossed: {asked} got {answer}")
    return answers


def _fork(work: Any) -> tuple[int, int]:
    """A child that runs ``work("child")`` and sends back its answers: its pid, and the pipe to read them from."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child's coverage is not collected)
        try:
            os.write(write, json.dumps(work("child")).encode())
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def _answers_of(pid: int, read: int) -> list[str]:
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        answers: list[str] = json.loads(pipe.read())
    return answers


def test_a_sync_client_serves_parent_and_child_on_connections_of_their_own() -> None:
    with LoopbackServer(_echo) as server, GrokClient(endpoint=server.url, **OPTIONS) as client:

        def call(asked: str) -> str:
            return client.chat.completions.create(
                model="grok-4", messages=[{"role": "user", "content": asked}]
            ).text

        assert call("warm-up") == "answer to warm-up"  # a pooled connection, now shared by parent and child
        before = server.connections
        child = _fork(lambda who: _ask(who, call))
        assert _ask("parent", call) == ["ok"] * 5
        assert _answers_of(*child) == ["ok"] * 5
        assert server.connections > before  # the child's own


def test_an_async_client_forked_in_a_running_loop_serves_the_childs_loop() -> None:
    with LoopbackServer(_echo) as server:
        client = AsyncGrokClient(endpoint=server.url, **OPTIONS)

        async def call(asked: str) -> str:
            completion = await client.chat.completions.create(
                model="grok-4", messages=[{"role": "user", "content": asked}]
            )
            return completion.text

        def in_a_new_loop(who: str) -> list[str]:
            # As multiprocessing's fork start method does: the child runs its work from inside the parent's stack
            # (its loop too), here in a thread of its own with a loop of its own.
            answers: list[list[str]] = []
            thread = threading.Thread(
                target=lambda: answers.append(_ask(who, lambda q: asyncio.run(call(q))))
            )
            thread.start()
            thread.join()
            return answers[0]

        async def main() -> tuple[list[str], list[str]]:
            assert await call("warm-up") == "answer to warm-up"
            child = _fork(in_a_new_loop)
            parent = [await call(f"parent-{index}") for index in range(5)]
            return parent, _answers_of(*child)

        parent, child = asyncio.run(main())
        assert child == ["ok"] * 5
        assert parent == [f"answer to parent-{index}" for index in range(5)]
