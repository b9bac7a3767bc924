"""One ``create()`` the way users write it, with a fresh client of either kind, for tests against servers of their
own on 127.0.0.1 (the async client on its default aiohttp transport, not respx)."""

from __future__ import annotations

import asyncio
from typing import Any

from grok_azure import AsyncGrokClient, GrokClient

MESSAGES = [{"role": "user", "content": "Hi"}]


def create_with(kind: str, options: dict[str, Any], *, stream: bool = False, **params: Any) -> Any:
    """``create(model="grok-4", messages=MESSAGES, **params)`` in a ``with`` block of a ``GrokClient`` (``kind``
    "sync") or an ``AsyncGrokClient`` ("async") made with ``options``: the completion, or every chunk of the
    stream, read in an ``for`` / ``async for`` loop."""
    call: dict[str, Any] = {"model": "grok-4", "messages": MESSAGES, **params}
    if kind == "sync":
        with GrokClient(**options) as client:
            if not stream:
                return client.chat.completions.create(**call)
            return [chunk for chunk in client.chat.completions.create(stream=True, **call)]

    async def run() -> Any:
        async with AsyncGrokClient(**options) as client:
            if not stream:
                return await client.chat.completions.create(**call)
            return [chunk async for chunk in await client.chat.completions.create(stream=True, **call)]

    return asyncio.run(run())
