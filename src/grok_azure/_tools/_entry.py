"""What ``chat.completions.run_tools`` does, for each client: check the run, then run it or stream it.

``arguments`` are ``run_tools``'s own (``model``, ``messages``, ``tools``, ``max_rounds``,
``max_tool_calls_per_round``, ``on_tool_error``) and ``params`` its ``**params``; :class:`ToolRun` checks them all
before anything is sent. The run is given the client's credentials to scrub from tool failures.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ..types.tool_run import ToolRunResult
from ._credentials import client_secrets
from ._drive import Current, aevents, arun_plain, events, run_plain
from ._runner import ToolRun
from ._stream import AsyncToolRunStream, ToolRunStream

if TYPE_CHECKING:
    from ..resources.chat import AsyncCompletions, Completions

__all__ = ["arun_tools", "run_tools"]


def run_tools(completions: Completions, stream: bool, **arguments: Any) -> ToolRunResult | ToolRunStream:
    """The sync client's run (see ``Completions.run_tools``): async tools are refused."""
    run = ToolRun(stream=stream, asynchronous=False, secrets=_secrets(completions, arguments), **arguments)
    if not stream:
        return run_plain(completions, run)
    current = Current()
    return ToolRunStream(events(completions, run, True, current), current)


async def arun_tools(
    completions: AsyncCompletions, stream: bool, **arguments: Any
) -> ToolRunResult | AsyncToolRunStream:
    """The async client's run (see ``AsyncCompletions.run_tools``)."""
    run = ToolRun(stream=stream, asynchronous=True, secrets=_secrets(completions, arguments), **arguments)
    if not stream:
        return await arun_plain(completions, run)
    current = Current()
    return AsyncToolRunStream(aevents(completions, run, True, current), current)


def _secrets(completions: Completions | AsyncCompletions, arguments: dict[str, Any]) -> Any:
    return functools.partial(client_secrets, completions._client, arguments.get("params") or {})
