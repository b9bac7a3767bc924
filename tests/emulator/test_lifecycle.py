"""Starting, stopping and configuring the emulator."""

from __future__ import annotations

import logging
import socket
import threading

import httpx
import pytest

from grok_azure._catalog import load_catalog
from grok_azure.testing import Fault, FoundryEmulator

from .conftest import OPENAI_PATH, user


def test_default_emulator_deploys_every_current_model_under_its_id() -> None:
    with FoundryEmulator() as emu:
        expected = {spec.id: spec.id for spec in load_catalog().current()}
        assert emu.deployments == expected
        assert len(emu.api_key) >= 32
        response = httpx.get(emu.url + "/openai/v1/models", headers={"api-key": emu.api_key})
        assert [m["id"] for m in response.json()["data"]] == list(expected)


def test_default_keys_differ_between_emulators() -> None:
    assert FoundryEmulator().api_key != FoundryEmulator().api_key


def test_url_is_loopback_with_the_bound_port() -> None:
    with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}) as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        port = int(emu.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_wildcard_host_is_reached_through_loopback() -> None:
    with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, host="0.0.0.0") as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        assert httpx.get(emu.url + "/openai/v1/models", headers={"api-key": "k"}).status_code == 200


def test_server_logs_stay_quiet_even_for_cut_connections(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}) as emu:
        emu.fault(Fault.drop(after_chunks=1))
        body = {"model": "d", "messages": user(), "stream": True}
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(emu.url + OPENAI_PATH, json=body, headers={"api-key": "k"})
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_url_before_start_raises() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = FoundryEmulator().url


def test_explicit_port_in_use_fails_to_start() -> None:
    with FoundryEmulator(api_key="k") as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"):
            FoundryEmulator(api_key="k", port=port).start()


def test_start_twice_raises_and_stop_twice_is_harmless() -> None:
    emu = FoundryEmulator(api_key="k").start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            emu.start()
    finally:
        emu.stop()
    emu.stop()


def test_restart_after_stop_serves_again() -> None:
    emu = FoundryEmulator(api_key="k", deployments={"d": "grok-4"})
    for _ in range(2):
        with emu:
            response = httpx.get(emu.url + "/openai/v1/models", headers={"api-key": "k"})
            assert response.status_code == 200


async def test_async_context_manager_serves_requests() -> None:
    async with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}) as emu:
        url = emu.url
        async with httpx.AsyncClient(base_url=url, headers={"api-key": "k"}) as client:
            response = await client.post(OPENAI_PATH, json={"model": "d", "messages": user("hi")})
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "/openai/v1/models")


def test_unknown_model_in_deployments_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown model 'grok-99'"):
        FoundryEmulator(deployments={"x": "grok-99"})


def test_deployment_model_names_are_normalised_by_the_catalog() -> None:
    assert FoundryEmulator(deployments={"x": "grok-4.1-fast-reasoning"}).deployments == {
        "x": "grok-4-1-fast-reasoning"
    }


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_fault_rate_outside_unit_interval_is_rejected(rate: float) -> None:
    with pytest.raises(ValueError, match="fault_rate"):
        FoundryEmulator(fault_rate=rate)


def test_scripts_for_unknown_deployments_are_rejected() -> None:
    emu = FoundryEmulator(api_key="k", deployments={"d": "grok-4"})
    with pytest.raises(ValueError, match="unknown deployment"):
        emu.reply("x", deployment="nope")
    with pytest.raises(ValueError, match="unknown deployment"):
        emu.fault(Fault.drop(1), deployment="nope")
    with pytest.raises(ValueError, match="times"):
        emu.reply("x", times=0)
    with pytest.raises(TypeError, match="Fault"):
        emu.fault("drop")  # type: ignore[arg-type]


def test_many_emulators_leave_no_threads_or_sockets_behind() -> None:
    baseline = {t.ident for t in threading.enumerate()}
    ports = []
    for _ in range(12):
        with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}) as emu:
            ports.append(int(emu.url.rsplit(":", 1)[1]))
            assert httpx.post(
                emu.url + OPENAI_PATH, json={"model": "d", "messages": user()}, headers={"api-key": "k"}
            ).is_success
    assert {t.ident for t in threading.enumerate()} == baseline
    for port in ports:  # every listening socket is closed: nothing accepts on those ports any more
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_stop_cuts_a_stalled_stream() -> None:
    emu = FoundryEmulator(api_key="k", deployments={"d": "grok-4"}).start()
    emu.fault(Fault.stall(after_chunks=1, seconds=3600))
    received: list[bytes] = []
    errors: list[BaseException] = []

    def consume() -> None:
        body = {"model": "d", "messages": user(), "stream": True}
        try:
            with httpx.stream("POST", emu.url + OPENAI_PATH, json=body, headers={"api-key": "k"}) as r:
                for chunk in r.iter_raw():
                    received.append(chunk)
        except httpx.HTTPError as exc:
            errors.append(exc)

    reader = threading.Thread(target=consume)
    reader.start()
    while not received and reader.is_alive():
        reader.join(0.01)
    emu.stop()
    reader.join(30)
    assert not reader.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], httpx.RemoteProtocolError)
    assert b"[DONE]" not in b"".join(received)


def test_serve_forever_returns_once_stopped_from_another_thread() -> None:
    emu = FoundryEmulator(api_key="k", deployments={"d": "grok-4"})
    runner = threading.Thread(target=emu.serve_forever)
    runner.start()
    while True:
        try:
            url = emu.url
            break
        except RuntimeError:
            runner.join(0.01)
    assert httpx.get(url + "/openai/v1/models", headers={"api-key": "k"}).status_code == 200
    emu.stop()
    runner.join(30)
    assert not runner.is_alive()
