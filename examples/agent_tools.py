"""An agent with two tools: the model calls them (in parallel), the SDK runs them and sends the results back.

``@tool`` turns typed functions into tools (the JSON schema comes from the signature and the docstring), and
``run_tools`` loops until the model answers: plainly first, then streamed with the async client, whose async
tools of one round run concurrently. Against the bundled emulator (GROK_AZURE_ENDPOINT unset) the model's tool
calls are scripted and its answer repeats the tool results; a real deployment decides for itself.

    python examples/agent_tools.py
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from grok_azure import ContentDeltaEvent, ToolResultEvent, tool
from grok_azure.testing import FoundryTarget, foundry_target

QUESTION = "What's the weather in Paris, and how far is it from Paris to Oslo?"


class Weather(BaseModel):
    city: str
    celsius: float
    sky: str


@tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> Weather:
    """Current weather for a city.

    Args:
        city: The city's name, e.g. "Paris".
        unit: Celsius or Fahrenheit (only Celsius is implemented here).
    """
    return Weather(city=city, celsius=18.5, sky="clear")


def _distance(origin: str, destination: str) -> int:
    return {("Paris", "Oslo"): 1840}.get((origin, destination), 1000)


@tool
def distance_km(
    origin: Annotated[str, Field(description="Where to start")],
    destination: Annotated[str, Field(description="Where to go")],
) -> int:
    """Distance by road between two cities, in kilometres."""
    return _distance(origin, destination)


@tool(name="distance_km")
async def distance_km_async(
    origin: Annotated[str, Field(description="Where to start")],
    destination: Annotated[str, Field(description="Where to go")],
) -> int:
    """Distance by road between two cities, in kilometres."""
    await asyncio.sleep(0)  # a real async tool would await an HTTP call here, concurrently with the others
    return _distance(origin, destination)


def script(target: FoundryTarget) -> None:
    """On the emulator, the model asks for both tools in one turn (parallel tool calls)."""
    if target.emulator is not None:
        target.emulator.reply(
            tool_calls=[
                {"name": "get_weather", "arguments": {"city": "Paris"}},
                {"name": "distance_km", "arguments": {"origin": "Paris", "destination": "Oslo"}},
            ]
        )


async def streamed(target: FoundryTarget) -> None:
    script(target)
    async with target.async_client() as client:
        run = await client.chat.completions.run_tools(
            model=target.deployment,
            messages=[{"role": "user", "content": QUESTION}],
            tools=[get_weather, distance_km_async],
            stream=True,
        )
        async with run:
            async for event in run:
                if isinstance(event, ToolResultEvent):
                    print(f"  round {event.round}: {event.call.name} -> {event.call.content}")
                elif isinstance(event, ContentDeltaEvent):
                    print(event.delta, end="", flush=True)
            result = await run.get_final_result()
    print(f"\n  {len(result.rounds)} rounds, {len(result.messages)} messages in the transcript")


def main() -> None:
    with foundry_target() as target:
        print(f"deployment {target.deployment} at {target.endpoint}\n")
        print("[plain run, sync client]")
        script(target)
        with target.client() as client:
            result = client.chat.completions.run_tools(
                model=target.deployment,
                messages=[{"role": "user", "content": QUESTION}],
                tools=[get_weather, distance_km],
            )
        for call in result.tool_calls:
            print(f"  {call.name}({call.arguments}) -> {call.content}")
        print(f"  answer: {result.text}\n")
        print("[streamed run, async client]")
        asyncio.run(streamed(target))


if __name__ == "__main__":
    main()
