"""Smoke test of an installed grok-azure wheel (run by .ci/run from a fresh venv, outside the checkout).

    <venv>/bin/python -I scripts/smoke_test.py --venv <venv>

Checks that ``grok_azure`` is imported from ``<venv>`` (not from a checkout), that the wheel carries ``py.typed``
and the model catalog, a call and a streamed call (sync and async) against the embedded Foundry emulator (the
``emulator`` extra), and the command line both as ``python -m grok_azure`` and as the ``grok-azure`` script.
Exits non-zero with a message on the first failure.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grok_azure import MessageParam

KEY = "smoke-test-key-0123456789"
DEPLOYMENTS = {"smoke": "grok-4.7"}
MESSAGES: list[MessageParam] = [{"role": "user", "content": "smoke"}]


def check(condition: bool, message: str) -> None:
    """Stop with ``message`` unless ``condition`` holds.

    Args:
        condition: what must hold.
        message: what is wrong when it does not.
    """
    if not condition:
        sys.exit(f"smoke test FAILED: {message}")
    print(f"ok: {message}")


def check_installed(venv: Path) -> None:
    """``grok_azure`` comes from ``venv``'s site-packages, with its data files.

    Args:
        venv: the virtual environment the wheel was installed into.
    """
    import grok_azure

    where = Path(grok_azure.__file__).resolve()
    check(where.is_relative_to(venv.resolve()), f"grok_azure imported from the venv ({where})")
    check("site-packages" in where.parts, "grok_azure is an installed package, not a source tree")
    package = importlib.resources.files("grok_azure")
    check(package.joinpath("py.typed").is_file(), "the wheel carries py.typed")
    check(
        package.joinpath("_catalog").joinpath("grok_models.json").is_file(),
        "the wheel carries the model catalog",
    )


def check_calls() -> None:
    """A call and a streamed call, sync and async, against the embedded emulator."""
    from grok_azure import AsyncGrokClient, GrokClient
    from grok_azure.testing import FoundryEmulator

    with (
        FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emulator,
        GrokClient(endpoint=emulator.url, api_key=KEY, deployment_models=DEPLOYMENTS) as client,
    ):
        completion = client.chat.completions.create(model="smoke", messages=MESSAGES)
        check(completion.text == "Echo: smoke", f"a call answers ({completion.text!r})")
        with client.chat.completions.stream(model="smoke", messages=MESSAGES) as stream:
            streamed = "".join(stream.text_stream)
        check(streamed == "Echo: smoke", f"a streamed call answers ({streamed!r})")

        async def call_async() -> str:
            async with AsyncGrokClient(
                endpoint=emulator.url, api_key=KEY, deployment_models=DEPLOYMENTS
            ) as async_client:
                answer = await async_client.chat.completions.create(model="smoke", messages=MESSAGES)
                return answer.text or ""

        check(asyncio.run(call_async()) == "Echo: smoke", "an async call answers")


def check_command_line(venv: Path) -> None:
    """``python -m grok_azure`` and the ``grok-azure`` console script run.

    Args:
        venv: the virtual environment whose ``grok-azure`` script is run.
    """
    import grok_azure

    # No endpoint: `chat` must use its embedded emulator, whatever the caller's shell has configured.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK_AZURE_", "AZURE_INFERENCE_"))}
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    script = bin_dir / ("grok-azure.exe" if os.name == "nt" else "grok-azure")
    check(script.is_file(), f"the grok-azure console script is installed ({script})")
    runs = {
        "python -m grok_azure --help": [sys.executable, "-m", "grok_azure", "--help"],
        "grok-azure --version": [str(script), "--version"],
        "grok-azure chat": [str(script), "chat", "--no-stream", "smoke"],
    }
    for name, argv in runs.items():
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
        check(done.returncode == 0, f"{name} exits 0 (stderr: {done.stderr.strip()[-300:]!r})")
        if name.startswith("python -m"):
            check("emulator" in done.stdout, f"{name} lists the commands")
        elif name.endswith("--version"):
            check(grok_azure.__version__ in done.stdout, f"{name} prints {grok_azure.__version__}")
        else:
            check("Echo: smoke" in done.stdout, f"{name} answers through its embedded emulator")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, required=True, help="the venv the wheel was installed into")
    venv = parser.parse_args().venv
    check_installed(venv)
    check_calls()
    check_command_line(venv)
    print("smoke test passed")


if __name__ == "__main__":
    main()
