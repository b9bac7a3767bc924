"""Every Python sample of the documentation (docs/*.md and README.md) runs, against a local Foundry emulator.

Samples are written as users write them: ``GrokClient()`` reads ``GROK_AZURE_ENDPOINT`` / ``GROK_AZURE_API_KEY``,
the old SDKs read ``AZURE_INFERENCE_ENDPOINT`` / ``AZURE_INFERENCE_CREDENTIAL``, and ``DefaultAzureCredential()``
signs in. Here the environment points at the emulator, azure-identity's credentials are replaced by a fake one
whose token the emulator accepts (so no credential probe ever runs), and any connection to a host other than the
loopback is refused. A block marked ``<!-- sample: pending -->`` (an API not landed yet) may fail (xfail).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grok_azure import load_catalog
from grok_azure.testing import FoundryEmulator

from ._samples import ROOT, Sample, all_samples, samples

API_KEY = "docs-samples-key-0123456789"
# The deployment names the samples use besides the catalog ids (which are deployed under their own names).
EXTRA_DEPLOYMENTS = {
    "my-grok": "grok-4-1-fast-non-reasoning",
    "prod-chat": "grok-4-1-fast-non-reasoning",
    "thinker": "grok-4",
    "fast": "grok-4-1-fast-reasoning",
    "big": "grok-4.7",
    "grok-east": "grok-4",
    "grok-west": "grok-4",
}
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    return isinstance(host, str) and (host in _LOOPBACK_NAMES or host.startswith("127."))


class FakeCredential:
    """Stands in for every azure-identity credential: a token the emulator accepts, no probe, no network."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        del scopes, kwargs
        return AccessToken(API_KEY, int(time.time()) + 3600)

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeCredential:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


class FakeAsyncCredential(FakeCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().get_token(*scopes, **kwargs)

    async def close(self) -> None:  # type: ignore[override]
        pass

    async def __aenter__(self) -> FakeAsyncCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass


_CREDENTIALS = (
    "DefaultAzureCredential",
    "ManagedIdentityCredential",
    "AzureCliCredential",
    "ClientSecretCredential",
    "WorkloadIdentityCredential",
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[FoundryEmulator]:
    deployments = {spec.id: spec.id for spec in load_catalog().current()} | EXTRA_DEPLOYMENTS
    with FoundryEmulator(api_key=API_KEY, deployments=deployments) as emu:
        yield emu


@pytest.fixture(scope="module", autouse=True)
def _forget_pages() -> Iterator[None]:
    # Drop the pages' clients and streams while the interpreter is whole, not at its shutdown.
    yield
    _PAGES.clear()
    gc.collect()


@pytest.fixture
def sample_world(
    emulator: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> FoundryEmulator:
    """The environment a sample runs in: variables, fake credentials, loopback only, a scratch directory."""
    emulator.reset()
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "GROK_AZURE_DEPLOYMENTS",
        "GROK_AZURE_DEPLOYMENTS_FILE",
        "GROK_AZURE_CATALOG",
        "GROK_AZURE_TEST_DEPLOYMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", emulator.url)
    monkeypatch.setenv("GROK_AZURE_API_KEY", emulator.api_key)
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENT", "grok-4")
    monkeypatch.setenv("AZURE_INFERENCE_ENDPOINT", f"{emulator.url}/models")
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", emulator.api_key)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emulator.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emulator.api_key)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)

    import azure.identity
    import azure.identity.aio

    for name in _CREDENTIALS:
        monkeypatch.setattr(azure.identity, name, FakeCredential)
        monkeypatch.setattr(azure.identity.aio, name, FakeAsyncCredential, raising=False)

    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host):
            raise socket.gaierror(f"docs samples reach only the loopback; refused to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise ConnectionRefusedError(f"docs samples reach only the loopback; refused {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.chdir(tmp_path)
    return emulator


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A sample may configure logging (basicConfig, a logger's level): undone after it."""
    loggers = [logging.getLogger(), logging.getLogger("grok_azure")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)  # also clears the loggers' isEnabledFor caches


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    """A sample may tune the garbage collector (docs/performance.md does): undone after it, so that the rest of
    the suite runs with the interpreter's settings and nothing stays frozen out of collection."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


# Per page: the namespace its blocks share and how many of its blocks ran.
_PAGES: dict[str, tuple[dict[str, Any], list[int]]] = {}
SAMPLES = all_samples()


def _compiled(sample: Sample) -> Any:
    # Padded so that a traceback names the line of the Markdown page.
    return compile("\n" * (sample.line - 1) + sample.code, str(sample.path), "exec")


def _run(sample: Sample) -> None:
    namespace, ran = _PAGES.setdefault(sample.path.as_posix(), ({"__name__": "__docs_sample__"}, [0]))
    earlier = [s for s in SAMPLES if s.path == sample.path and s.line < sample.line]
    missed, ran[0] = earlier[ran[0] :], len(earlier) + 1
    for previous in missed:  # blocks above this one that did not run (this test was selected alone)
        # Its own test reports its failure; this block fails too if it needed what that one defines.
        with contextlib.suppress(Exception):
            exec(_compiled(previous), namespace)
    exec(_compiled(sample), namespace)


def _run_tests(sample: Sample, emulator: FoundryEmulator) -> int:
    """Call the pytest-style tests a sample defines (``def test_...(foundry_emulator)``); how many ran.

    The tests the emulator page shows are run as pytest would, with the plugin's fixture as the emulator.
    """
    page = str(sample.path)
    last = sample.line + sample.code.count("\n")
    namespace, _ = _PAGES[sample.path.as_posix()]
    count = 0
    for name, value in list(namespace.items()):
        code = getattr(value, "__code__", None)
        if not name.startswith("test_") or code is None or code.co_filename != page:
            continue
        if not sample.line <= code.co_firstlineno <= last:
            continue  # defined by another block of the page
        parameters = inspect.signature(value).parameters
        assert set(parameters) <= {"foundry_emulator"}, f"{name}: no fixture for {sorted(parameters)}"
        emulator.reset()
        result = value(**dict.fromkeys(parameters, emulator))
        if inspect.iscoroutine(result):
            asyncio.run(result)
        count += 1
    return count


def _param(sample: Sample) -> Any:
    marks = [pytest.mark.xfail(strict=False, reason="sample: pending (its API has not landed)")]
    return pytest.param(sample, id=sample.id, marks=marks if sample.pending else [])


@pytest.mark.parametrize("sample", [_param(s) for s in SAMPLES])
def test_sample_runs(
    sample: Sample, sample_world: FoundryEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(sample)
    ran_tests = _run_tests(sample, sample_world)
    assert ran_tests == sample.code.count("\ndef test_") + sample.code.count("\nasync def test_")
    # A sample that prints shows its reader something: it must print something.
    if "print(" in sample.code:
        assert capsys.readouterr().out.strip(), f"{sample.id} printed nothing"


def test_every_page_is_found() -> None:
    pages = {sample.path.relative_to(ROOT).as_posix() for sample in SAMPLES}
    assert {"docs/getting-started.md", "docs/migration/openai.md", "README.md"} <= pages


def test_blocks_are_read_with_their_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n\n"
        "<!-- sample: pending -->\n```python\ny = x\n```\n\n- item\n\n    ```python\n    z = 2\n    ```\n"
    )
    found = samples(page)
    assert [(s.line, s.code, s.pending) for s in found] == [
        (4, "x = 1", False),
        (13, "y = x", True),
        (19, "z = 2", False),
    ]


def test_samples_reach_only_the_loopback(sample_world: FoundryEmulator) -> None:
    import httpx

    with pytest.raises(httpx.ConnectError, match="only the loopback"):
        httpx.get("https://example.com")
    assert httpx.get(
        f"{sample_world.url}/openai/v1/models", headers={"api-key": sample_world.api_key}
    ).is_success


def test_credentials_are_fakes_the_emulator_accepts(sample_world: FoundryEmulator) -> None:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    assert DefaultAzureCredential().get_token("https://ai.azure.com/.default").token == sample_world.api_key
    assert isinstance(ManagedIdentityCredential(client_id="x"), FakeCredential)
