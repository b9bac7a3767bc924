"""The emulator's request log: one INFO line per request on ``grok_azure.emulator`` when asked, none otherwise,
never a credential or a message; on by default in ``grok-azure emulator``, off with ``--quiet``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from grok_azure import (
    APIConnectionError,
    AsyncGrokClient,
    AuthenticationError,
    ChatCompletionStreamManager,
    GrokClient,
    MessageParam,
)
from grok_azure.testing import Fault, FoundryEmulator

KEY = "request-log-key-0123456789"
DEPLOYMENTS = {"prod-chat": "grok-4.7"}
MAPPING = {"prod-chat": "grok-4.7"}
SECRET_PROMPT = "my secret prompt 4711"
MESSAGES: list[MessageParam] = [{"role": "user", "content": SECRET_PROMPT}]
LOGGER = "grok_azure.emulator"


@pytest.fixture
def logging_emu() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, log_requests=True) as emulator:
        yield emulator


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_call_and_a_stream_each_log_one_info_line(
    logging_emu: FoundryEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=LOGGER)
    with GrokClient(endpoint=logging_emu.url, api_key=KEY, deployment_models=MAPPING) as client:
        client.chat.completions.create(model="prod-chat", messages=MESSAGES)
        with client.chat.completions.stream(model="prod-chat", messages=MESSAGES) as stream:
            for _ in stream.text_stream:
                pass

    plain, streamed = _lines(caplog)
    assert plain.startswith(
        "POST /openai/v1/chat/completions deployment=prod-chat model=grok-4.7 stream=false"
    )
    assert " -> 200 duration=" in plain
    assert "stream=true -> 200 duration=" in streamed
    assert all(r.levelname == "INFO" for r in caplog.records if r.name == LOGGER)
    assert KEY not in caplog.text
    assert SECRET_PROMPT not in caplog.text
    assert "Echo" not in caplog.text  # nor the answer


async def test_async_calls_are_logged_too(
    logging_emu: FoundryEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=LOGGER)
    async with AsyncGrokClient(endpoint=logging_emu.url, api_key=KEY, deployment_models=MAPPING) as client:
        await client.chat.completions.create(model="prod-chat", messages=MESSAGES)
        async with client.chat.completions.stream(model="prod-chat", messages=MESSAGES) as stream:
            async for _ in stream.text_stream:
                pass

    assert [line.split(" -> ")[0].rsplit(" ", 1)[1] for line in _lines(caplog)] == [
        "stream=false",
        "stream=true",
    ]
    assert SECRET_PROMPT not in caplog.text


def test_a_refused_key_is_logged_with_its_status_but_not_the_key(
    logging_emu: FoundryEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=LOGGER)
    wrong = "wrong-key-9876543210"
    with (
        GrokClient(endpoint=logging_emu.url, api_key=wrong, deployment_models=MAPPING) as client,
        pytest.raises(AuthenticationError),
    ):
        client.chat.completions.create(model="prod-chat", messages=MESSAGES)

    (line,) = _lines(caplog)
    assert line.startswith("POST /openai/v1/chat/completions deployment=- model=- ")
    assert "-> 401 " in line
    assert wrong not in caplog.text


def test_a_bearer_token_and_a_query_key_stay_out_of_the_log(
    logging_emu: FoundryEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=LOGGER)
    response = httpx.post(
        f"{logging_emu.url}/openai/v1/chat/completions?api-key=query-secret-123",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "prod-chat", "messages": MESSAGES},
    )
    httpx.get(f"{logging_emu.url}/nowhere?sig=sig-secret-456", headers={"api-key": KEY})

    assert response.status_code == 200
    lines = _lines(caplog)
    assert lines[0].startswith("POST /openai/v1/chat/completions ")
    assert lines[1].startswith("GET /nowhere deployment=- model=- stream=false -> 404 ")
    for secret in (KEY, "query-secret-123", "sig-secret-456", SECRET_PROMPT):
        assert secret not in caplog.text


def test_a_stream_cut_mid_body_is_logged_as_cut(
    logging_emu: FoundryEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=LOGGER)
    logging_emu.fault(Fault.drop(after_chunks=1))
    with GrokClient(
        endpoint=logging_emu.url, api_key=KEY, deployment_models=MAPPING, max_retries=0
    ) as client:
        stream = client.chat.completions.stream(model="prod-chat", messages=MESSAGES)
        with pytest.raises(APIConnectionError):
            _read_all(stream)

    (line,) = _lines(caplog)
    assert "stream=true -> 200 cut (" in line


def _read_all(manager: ChatCompletionStreamManager) -> None:
    with manager as stream:
        for _ in stream.text_stream:
            pass


def test_off_by_default(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    with (
        FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emulator,
        GrokClient(endpoint=emulator.url, api_key=KEY, deployment_models=MAPPING) as client,
    ):
        client.chat.completions.create(model="prod-chat", messages=MESSAGES)
        assert len(emulator.requests) == 1
    assert _lines(caplog) == []


def test_the_pytest_fixture_logs_nothing(
    foundry_emulator: FoundryEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    httpx.get(f"{foundry_emulator.url}/openai/v1/models", headers={"api-key": foundry_emulator.api_key})
    assert len(foundry_emulator.requests) == 1
    assert _lines(caplog) == []


# -- the command line: on by default, --quiet turns it off --------------------------------------------------


def _serve_one_request(*options: str) -> str:
    """Run ``python -m grok_azure emulator``, send it one chat, stop it; its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK_AZURE_", "AZURE_INFERENCE_"))}
    argv = [
        sys.executable,
        "-m",
        "grok_azure",
        "emulator",
        "--api-key",
        KEY,
        "--deployment",
        "prod-chat=grok-4.7",
    ]
    with subprocess.Popen(
        [*argv, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()  # the first line; "" (EOF) if the command failed
            response = httpx.post(
                f"{url}/openai/v1/chat/completions",
                headers={"api-key": KEY},
                json={"model": "prod-chat", "messages": MESSAGES},
                timeout=10,
            )
            assert response.status_code == 200
            proc.send_signal(signal.SIGTERM)
            return proc.communicate(timeout=20)[1]
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_emulator_command_logs_requests_on_stderr_by_default() -> None:
    err = _serve_one_request()
    assert "POST /openai/v1/chat/completions deployment=prod-chat model=grok-4.7 stream=false -> 200" in err
    assert SECRET_PROMPT not in err
    assert KEY not in err


def test_the_emulator_command_is_silent_with_quiet() -> None:
    err = _serve_one_request("--quiet")
    assert "Foundry emulator serving" in err  # the banner still says where it serves
    assert "/openai/v1/chat/completions" not in err
