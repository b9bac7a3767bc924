"""Fixtures of the end-to-end suite: a target (the emulator, or a real deployment), both routes, both clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from grok_azure import AsyncGrokClient, GrokClient
from grok_azure.testing import FoundryEmulator

from ._support import (
    API_KEY,
    EMULATOR_DEPLOYMENTS,
    KINDS,
    NEEDS_EMULATOR,
    ROUTES,
    Driver,
    Target,
    emulator_target,
    open_driver,
    real_target_from_env,
)


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    real = real_target_from_env(os.environ)
    if real is not None:
        yield real
        return
    with FoundryEmulator(api_key=API_KEY, deployments=EMULATOR_DEPLOYMENTS) as emulator:
        yield emulator_target(emulator)


@pytest.fixture(autouse=True)
def _fresh_emulator(request: pytest.FixtureRequest) -> None:
    # Scripts, faults and the request log of one test must not leak into the next.
    if "target" in request.fixturenames:
        emulator = request.getfixturevalue("target").emulator
        if emulator is not None:
            emulator.reset()


@pytest.fixture
def emu(target: Target) -> FoundryEmulator:
    """The emulator; skips the test against a real deployment."""
    if target.emulator is None:
        pytest.skip(f"emulator only: {NEEDS_EMULATOR}")
    return target.emulator


@pytest.fixture
def deployment(target: Target) -> str:
    return target.deployment


@pytest.fixture
def reasoner(target: Target) -> str:
    """A deployment that returns reasoning_content (set GROK_AZURE_TEST_REASONING_DEPLOYMENT for real runs)."""
    if target.reasoning_deployment is None:
        pytest.skip(
            "no reasoning deployment: set GROK_AZURE_TEST_REASONING_DEPLOYMENT (one that returns reasoning_content)"
        )
    return target.reasoning_deployment


@pytest.fixture(params=ROUTES)
def route(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(target: Target, route: str) -> Iterator[GrokClient]:
    with GrokClient(**target.client_options(route)) as sync_client:
        yield sync_client


@pytest.fixture
async def aclient(target: Target, route: str) -> AsyncIterator[AsyncGrokClient]:
    """The async client with its default transport (aiohttp)."""
    async with AsyncGrokClient(**target.client_options(route)) as async_client:
        yield async_client


@pytest.fixture(params=KINDS)
async def chat(request: pytest.FixtureRequest, target: Target, route: str) -> AsyncIterator[Driver]:
    """``chat.completions`` of a GrokClient or of an AsyncGrokClient (default transport), on ``route``."""
    async with open_driver(request.param, **target.client_options(route)) as driver:
        yield driver
