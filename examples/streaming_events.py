"""Typed stream events: reasoning, content, tool-call arguments as they arrive, usage, and the final completion.

Offers a ``get_weather`` tool and prints each kind of event. Against the bundled emulator (GROK_AZURE_ENDPOINT
unset) the reply is scripted, so every kind of event shows up; a real deployment decides for itself whether
to reason visibly (only some models return ``reasoning_content``) and whether to call the tool.

    python examples/streaming_events.py
"""

from __future__ import annotations

import json

from grok_azure import (
    ChunkEvent,
    ContentDeltaEvent,
    DoneEvent,
    ReasoningDeltaEvent,
    ToolCallArgumentsDeltaEvent,
    ToolCallArgumentsDoneEvent,
    UsageEvent,
)
from grok_azure.testing import foundry_target

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def main() -> None:
    with foundry_target() as target, target.client() as client:
        if target.emulator is not None:
            target.emulator.reply(
                "Let me look that up.",
                reasoning="The user asks about the weather in Paris, so I should call get_weather.",
                tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
            )
        chunks = 0
        section = ""
        with client.chat.completions.stream(
            model=target.deployment,
            messages=[{"role": "user", "content": "What's the weather in Paris right now?"}],
            tools=[WEATHER_TOOL],
        ) as stream:
            for event in stream:
                # Each delta kind opens its own section, so interleaved pieces stay readable.
                match event:
                    case ChunkEvent():
                        chunks += 1
                    case ReasoningDeltaEvent(delta=delta):
                        section = _open(section, "reasoning")
                        print(delta, end="", flush=True)
                    case ContentDeltaEvent(delta=delta):
                        section = _open(section, "content")
                        print(delta, end="", flush=True)
                    case ToolCallArgumentsDeltaEvent(index=index, name=name, arguments_delta=delta):
                        section = _open(section, "tool-call arguments")
                        print(f"  #{index} {name} += {delta!r}")
                    case ToolCallArgumentsDoneEvent(name=name, arguments=arguments, id=call_id):
                        section = _open(section, "tool call")
                        print(f"  {name}({json.loads(arguments)}) id={call_id}")
                    case UsageEvent(usage=usage):
                        section = _open(section, "usage")
                        print(f"  {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens")
                    case DoneEvent():
                        section = _open(section, "done")
            final = stream.get_final_completion()
        print(f"  {chunks} chunks; finish_reason={final.finish_reason}")
        print(f"  final text: {final.text!r}")
        for call in final.tool_calls:
            print(f"  final tool call: {call.function.name}({call.function.arguments})")


def _open(current: str, name: str) -> str:
    """Print a header when the kind of event changes; streamed text needs its line ended first."""
    if current != name:
        print(("\n" if current in _INLINE else "") + f"[{name}]")
    return name


_INLINE = ("reasoning", "content")


if __name__ == "__main__":
    main()
