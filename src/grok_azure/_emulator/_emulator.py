"""FoundryEmulator: the app served by uvicorn on a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import uvicorn
from typing_extensions import Self

from .._catalog import Catalog, ModelSpec, load_catalog
from ._app import build_app
from ._auth import TokenValidator
from ._completions import UsageConvention
from ._core import SERVER_THREAD, EmulatorCore, install_log_filter
from ._faults import Fault
from ._quota import DEFAULT_QUOTA_WINDOW, Clock, CounterReport, QuotaLimit, Quotas
from ._request_log import RequestLog
from ._state import FinishReason, RecordedRequest, Reply, ToolCallDeltas

DEFAULT_API_VERSIONS = ("2025-04-01", "2025-05-01")
# Retired on 2026-04-10 ("Replace with 2025-04-01", api-version-updates.md); answered as retired, not as unknown.
RETIRED_API_VERSIONS = ("2024-05-01-preview",)
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. The explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted
    sockets whose protocol says TCP, and without it every response waits ~40 ms for a delayed ACK."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        if os.name == "posix":  # on Windows SO_REUSEADDR would let two servers share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class FoundryEmulator:
    """A local stand-in for an Azure AI Foundry resource serving Grok deployments, in the spirit of Azurite.

    Routes: ``POST /openai/v1/chat/completions`` and ``GET /openai/v1/models`` (OpenAI shapes; an
    ``api-version`` other than ``preview`` is answered 400 "api-version query parameter is not allowed when using
    /v1 path", as Foundry does), and ``POST /models/chat/completions?api-version=...`` and
    ``GET /models/info?api-version=...`` (the legacy Model Inference route, which needs one of ``api_versions``
    and honours the ``extra-parameters`` header; one of ``retired_api_versions`` is answered 400
    ``BadRequest`` "API version not supported").
    The body's ``model`` is the deployment name, as on Azure; on ``/models`` it may instead come from the
    ``azureml-model-deployment`` header (or, for ``/info``, the ``model`` query parameter), or be omitted when
    there is a single deployment. Any other path answers Azure's 404.

    Auth is Foundry's: an ``api-key`` header, or ``Authorization: Bearer`` with the key or with a token that
    ``token_validator`` accepts. Requests are validated with the catalog's rules for the deployed model
    (:mod:`grok_azure._emulator._validation`): only the facts a source states refuse a request, unless
    ``enforce_unconfirmed`` is true, which refuses on the unconfirmed ones too (xAI's documented rules, which
    Azure probably but not certainly applies). The default answer echoes the last user message
    (``"Echo: <text>"``); scripted replies (:meth:`reply`) and faults (:meth:`fault`) take precedence.
    Replies, streams and headers follow recorded Azure traffic for Grok (see
    :mod:`grok_azure._emulator._completions` and :mod:`grok_azure._emulator._delivery`): usage counts reasoning
    outside ``completion_tokens`` (``usage_convention="openai"`` counts it inside), streamed tool calls arrive
    whole in one delta each (``tool_call_deltas="fragmented"`` streams id and name, then argument pieces).
    Every request is recorded in :attr:`requests`. ``log_requests`` also logs one INFO line per request on the
    ``grok_azure.emulator`` logger (method, path, deployment, model, stream or not, status, duration; never
    credentials or messages); off by default, on in ``grok-azure emulator``.

    ``deployments`` maps deployment names to model names in ``catalog`` (default: the packaged one), or to
    :class:`~grok_azure.ModelSpec` objects (a model the catalog does not know, or an entry with other rules);
    by default every current catalog model is deployed under its own id. A deployment of a retired model
    answers every request with an error (404 ``Resource not found``, the one recorded answer of a retired
    Azure deployment; unconfirmed for Grok) unless ``serve_retired`` is true, which serves it as it was
    before retirement. ``api_key`` defaults to a random key. ``fault_rate`` answers that share of
    chat requests with a random 408, 429 (any of its header forms), 500 or 503, deterministically for a given
    ``seed``.

    Quotas (off by default) are enforced per deployment the way Azure does (:mod:`grok_azure._emulator._quota`):
    ``rpm`` requests and ``tpm`` tokens per minute, given as one limit for every deployment or as a mapping of
    deployment name to limit (deployments left out are not limited), and evaluated over windows of
    ``quota_window`` seconds (1 or 10; ``rpm * quota_window / 60`` requests per window). Tokens are charged on
    arrival from an estimate: prompt characters / 4 plus ``max_tokens`` (or 1,024). A request that does not
    fit gets Azure's 429 with ``retry-after`` and ``retry-after-ms``; every charged reply carries
    ``x-ratelimit-limit/remaining/reset-*`` headers that count down. Without a limit the counters still count
    down (from 1,000 requests and 400,000 tokens a minute) but never refuse. ``clock`` (seconds, monotonic)
    drives the windows; a test can pass a fake one to refill windows without sleeping. ``rate_limit_counters``
    ``"unknown"`` (remaining -1 of limit 0) or ``"zero"`` (0 of 0) reports the placeholders Azure sends when it
    does not report its counters, on every reply, while quotas are still enforced (a quota 429 then has no
    retry header).

    Use it as a (sync or async) context manager, or call :meth:`start` and :meth:`stop`::

        with FoundryEmulator(api_key="test-key", deployments={"my-grok": "grok-4"}) as emu:
            client = GrokClient(endpoint=emu.url, api_key=emu.api_key)
            emu.fault(Fault.rate_limited(retry_after=1.5, header="retry-after-ms"))
            emu.reply("scripted", tool_calls=[{"name": "get_weather"}])

        FoundryEmulator(deployments={"a": "grok-4.7", "b": "grok-4.7"}, rpm={"a": 600}, tpm=400_000)

    Args:
        api_key: the key requests must send (``api-key`` header or ``Authorization: Bearer``); default: a random
            one, read back as :attr:`api_key`.
        deployments: deployment name -> catalog model id or alias, or a :class:`~grok_azure.ModelSpec`; default:
            every current catalog model under its own id. An unknown model raises ``ValueError``.
        host: the address to bind (default ``127.0.0.1``, the loopback only).
        port: the port to bind; 0 (default) lets the system choose a free one (see :attr:`url`).
        token_validator: called with a bearer token that is not the key; True accepts it. None (default):
            only the key is accepted.
        fault_rate: the share of chat requests (0 to 1; default 0) answered with a random 408, 429, 500 or 503.
        seed: seeds the random faults (``fault_rate``), so a run repeats them; None (default): a new random
            sequence each time.
        api_versions: the ``api-version`` values the ``/models`` route accepts (default ``2025-04-01`` and
            ``2025-05-01``).
        retired_api_versions: the ``api-version`` values answered as retired (default ``2024-05-01-preview``).
        rpm: requests per minute: one limit for every deployment, or deployment name -> limit; None (default):
            no limit.
        tpm: tokens per minute, given as ``rpm`` is; None (default): no limit.
        quota_window: the quota window in seconds: 1 (default) or 10.
        clock: a ``() -> float`` of monotonic seconds driving the quota windows; None (default):
            ``time.monotonic``.
        rate_limit_counters: ``"live"`` (default: the ``x-ratelimit-*`` headers count down), or ``"unknown"`` /
            ``"zero"``: Azure's placeholders on every reply.
        catalog: the :class:`~grok_azure.Catalog` models are looked up in; default: the packaged one.
        serve_retired: True serves a retired model's deployment as before its retirement; False (default)
            answers its requests with 404.
        enforce_unconfirmed: True also refuses requests on the catalog's unconfirmed rules; False (default):
            only on stated ones.
        tool_call_deltas: how streamed tool calls arrive: ``"whole"`` (default: one delta each) or
            ``"fragmented"`` (id and name, then argument pieces).
        usage_convention: ``"grok"`` (default: reasoning tokens outside ``completion_tokens``) or ``"openai"``
            (inside).
        log_requests: log one INFO line per request on the ``grok_azure.emulator`` logger (default False).
    """

    def __init__(
        self,
        api_key: str | None = None,
        deployments: Mapping[str, str | ModelSpec] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_validator: TokenValidator | None = None,
        fault_rate: float = 0.0,
        seed: int | None = None,
        api_versions: Sequence[str] = DEFAULT_API_VERSIONS,
        retired_api_versions: Sequence[str] = RETIRED_API_VERSIONS,
        rpm: QuotaLimit = None,
        tpm: QuotaLimit = None,
        quota_window: float = DEFAULT_QUOTA_WINDOW,
        clock: Clock | None = None,
        rate_limit_counters: CounterReport = "live",
        catalog: Catalog | None = None,
        serve_retired: bool = False,
        enforce_unconfirmed: bool = False,
        tool_call_deltas: ToolCallDeltas = "whole",
        usage_convention: UsageConvention = "grok",
        log_requests: bool = False,
    ) -> None:
        if catalog is None:
            catalog = load_catalog()
        if deployments is None:
            deployments = {spec.id: spec.id for spec in catalog.current()}
        specs: dict[str, ModelSpec] = {}
        for name, model in deployments.items():
            spec = model if isinstance(model, ModelSpec) else catalog.get(model)
            if spec is None:
                raise ValueError(f"deployment {name!r}: unknown model {model!r}")
            specs[name] = spec
        self._core = EmulatorCore(
            api_key=secrets.token_urlsafe(32) if api_key is None else api_key,
            deployments=specs,
            token_validator=token_validator,
            api_versions=api_versions,
            retired_api_versions=retired_api_versions,
            serve_retired=serve_retired,
            enforce_unconfirmed=enforce_unconfirmed,
            tool_call_deltas=tool_call_deltas,
            usage_convention=usage_convention,
            fault_rate=fault_rate,
            seed=seed,
            quotas=Quotas(
                specs, rpm=rpm, tpm=tpm, window=quota_window, clock=clock, counters=rate_limit_counters
            ),
        )
        self._models = {name: spec.id for name, spec in specs.items()}
        self._log_requests = log_requests
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket: socket.socket | None = None

    # -- configuration -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The resource root, e.g. ``http://127.0.0.1:51234`` (available once started)."""
        if self._socket is None:
            raise RuntimeError("the emulator is not running; call start() or use it as a context manager")
        host, port = self._socket.getsockname()[:2]
        # A wildcard bind is reachable through loopback; an IPv6 literal needs brackets in a URL.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def api_key(self) -> str:
        return self._core.api_key

    @property
    def deployments(self) -> dict[str, str]:
        """Deployment name -> catalog model id (a copy)."""
        return dict(self._models)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a snapshot)."""
        return self._core.recorded()

    # -- scripting -----------------------------------------------------------------------------------------

    def reply(
        self,
        text: str | None = None,
        *,
        reasoning: str | None = None,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        finish_reason: FinishReason | None = None,
        times: int = 1,
        deployment: str | None = None,
        tool_call_deltas: ToolCallDeltas | None = None,
    ) -> Reply:
        """Script the answer to the next ``times`` chat requests (to ``deployment``, or to any).

        ``tool_call_deltas`` streams this reply's tool calls ``"whole"`` or ``"fragmented"`` (None: the
        emulator's ``tool_call_deltas``); see :class:`~grok_azure.testing.Reply` for the rest.

        Args:
            text: the answer's content; None (default): the echo, or ``""`` when tool calls are scripted.
            reasoning: the answer's ``reasoning_content``; None (default): none.
            tool_calls: tool calls to answer with, each a mapping with ``name`` and optional ``arguments`` (a
                dict or a JSON string; left out: arguments valid for the offered tool's schema are generated).
            finish_reason: the ``finish_reason`` to report; None (default): the natural one.
            times: how many chat requests get this answer (default 1).
            deployment: only requests to this deployment take it; None (default): any. An unknown name raises
                ``ValueError``.
            tool_call_deltas: ``"whole"`` or ``"fragmented"`` for this reply's streamed tool calls; None
                (default): the emulator's setting.

        Returns:
            The queued :class:`~grok_azure.testing.Reply`.

        Raises:
            ValueError: a tool call without a name, malformed arguments, an unknown ``finish_reason`` or
                ``deployment``.
        """
        self._check_deployment(deployment)
        scripted = Reply(text, reasoning, tuple(tool_calls or ()), finish_reason, tool_call_deltas)
        self._core.replies.push(scripted, times, deployment)
        return scripted

    def fault(self, fault: Fault, *, times: int = 1, deployment: str | None = None) -> None:
        """Inject ``fault`` into the next ``times`` chat requests (to ``deployment``, or to any).

        Args:
            fault: what goes wrong, built with a :class:`~grok_azure.testing.Fault` factory
                (``Fault.rate_limited()``...).
            times: how many chat requests it hits (default 1).
            deployment: only requests to this deployment; None (default): any.

        Raises:
            TypeError: ``fault`` is not a :class:`~grok_azure.testing.Fault`.
            ValueError: an unknown ``deployment``.
        """
        if not isinstance(fault, Fault):
            raise TypeError(f"expected a Fault, got {type(fault).__name__}")
        self._check_deployment(deployment)
        self._core.faults.push(fault, times, deployment)

    def reset(self) -> None:
        """Forget recorded requests, scripted replies and faults; empty the quota windows; restart tool-call
        ids and random faults."""
        self._core.reset()

    def _check_deployment(self, deployment: str | None) -> None:
        if deployment is not None and deployment not in self._models:
            raise ValueError(f"unknown deployment {deployment!r}; known: {sorted(self._models)}")

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the port and serve in a background thread; return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        install_log_filter()
        sock = _bind(self._host, self._port)
        app: Any = build_app(self._core)
        if self._log_requests:
            app = RequestLog(app, self._core.deployments)
        config = uvicorn.Config(
            app,
            loop="asyncio",
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=self._run, args=(server, sock), name=SERVER_THREAD, daemon=True)
        self._server, self._socket, self._thread = server, sock, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._cleanup()
                raise RuntimeError("the emulator's server did not start")
            time.sleep(0.005)
        return self

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._core.closing = asyncio.Event()
            await server.serve(sockets=[sock])

        asyncio.run(main())

    def stop(self) -> None:
        """Cut streams in progress, shut the server down and join its thread. Safe to call twice."""
        server, thread, loop, closing = self._server, self._thread, self._loop, self._core.closing
        if server is None or thread is None:
            return
        server.should_exit = True
        if loop is not None and closing is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may close in between
                loop.call_soon_threadsafe(closing.set)
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_STOP_TIMEOUT)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._loop = self._socket = None
        self._core.closing = None

    def serve_forever(self) -> None:
        """Start (unless running) and block until interrupted (Ctrl+C), then stop."""
        if self._thread is None:
            self.start()
        thread = self._thread
        try:
            while thread is not None and thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._socket is not None else "stopped"
        return f"FoundryEmulator({where}, deployments={self._models!r})"
