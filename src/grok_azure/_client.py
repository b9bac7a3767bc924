"""GrokClient and AsyncGrokClient: configuration plus the two thin I/O shells.

Everything that decides something (endpoint, auth choice, request building, error mapping) lives in I/O-free
modules and in :class:`_BaseClient`; the two clients below only move bytes with httpx's sync or async API.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from typing_extensions import ParamSpec, Self

from ._auth import (
    AsyncAuth,
    AsyncTokenAuth,
    Auth,
    KeyAuth,
    SyncTokenAuth,
    choose_auth,
    default_async_credential,
    default_sync_credential,
)
from ._call_flow import (
    ONE_TARGET,
    Call,
    CallFlow,
    Close,
    Done,
    GetHeaders,
    ReadBody,
    Refresh,
    Send,
    Sleep,
    Target,
    TargetPool,
    Waker,
)
from ._call_models import Meter, ModelPolicy
from ._constants import DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven
from ._cutoff import arm as arm_cutoff
from ._cutoff import bounded, cut_read
from ._deadline import UNBOUNDED, Deadline, check_budget
from ._deployments import Deployment, DeploymentPool
from ._endpoint import Endpoint, resolve_endpoint
from ._errors import ClientClosedError, ConfigurationError, GrokError, RequestValidationError
from ._hooks import CallInfo, CallObserver, Hook, check_hooks, observing
from ._inflate import aiter_decoded, iter_decoded
from ._limits import DEFAULT_RESPONSE_LIMITS, ResponseLimits
from ._logging import guard_loggers, logger, remember_key
from ._model_directory import ModelDirectory
from ._retry import DEFAULT_MAX_RETRIES, RetryPolicy
from ._secrets import QuietMapping, RedactingDict
from ._selection import ModelSelection
from ._transport import ProxyTypes, bind_direct_response, default_async_client, default_sync_client
from ._usage import UsageTracker
from ._validate import check_response_limits
from ._warnings import OnceRegistry
from ._wire import (
    BodyReader,
    PreparedRequest,
    check_headers,
    coerce_timeout,
    new_request_id,
    prepare_chat_request,
    send_failure,
)
from .resources.chat import AsyncChat, Chat
from .resources.models import Models

if TYPE_CHECKING:
    from azure.core.credentials import AzureKeyCredential

    from ._auth import AsyncCredential, SyncCredential  # noqa: F401 (named in the clients' base classes)
    from ._catalog import Catalog, ModelSpec
    from .resources.batches import AsyncBatches, Batches


class _Lifecycle:
    """Whether a client's resources were closed, and the retry waits and body reads to end when they are; shared by
    a client and its ``with_options`` copies."""

    __slots__ = ("closed", "reading", "waiting")

    def __init__(self) -> None:
        self.closed = False
        self.waiting: set[Waker] = set()
        # A plain set, not a WeakSet: close() copies it while other threads add and remove (a WeakSet's iteration
        # runs Python code, and fails when another thread changes it); every read removes its own (done()).
        self.reading: set[httpx.Response] = set()

    def read(self, response: httpx.Response) -> None:
        """Before a body (or a stream) is read: :meth:`close` shuts its socket down, so that a read blocked in
        another thread or task ends now, not at its read timeout (closing the pool does not wake it)."""
        self.reading.add(response)
        if self.closed:
            cut_read(response)

    def done(self, response: httpx.Response) -> None:
        """After the read, before the response is closed: its connection may serve another request next (of this
        client, or of others on a pool passed in), whose socket close() must not touch."""
        self.reading.discard(response)

    @contextlib.contextmanager
    def wait(self, waker: Waker) -> Iterator[None]:
        """Around a call's retry wait: :meth:`close` wakes it. Registered before ``closed`` is read, so a close
        either comes before (and the wait is skipped) or finds the waker to wake."""
        self.waiting.add(waker)
        try:
            if self.closed:
                waker.wake()
            yield
        finally:
            self.waiting.discard(waker)

    def close(self) -> None:
        self.closed = True
        for waker in list(self.waiting):
            waker.wake()
        for response in list(self.reading):
            cut_read(response)


_P = ParamSpec("_P")


def _forgets_arguments_on_failure(init: Callable[_P, None]) -> Callable[_P, None]:
    """A constructor whose failure leaves no frame holding what it was given.

    ``traceback`` with ``capture_locals=True`` renders every local of every frame an exception passed through, and
    a constructor's frames hold the API key, the credential and the endpoint (which may carry a secret query). A
    construction error therefore leaves with those frames cleared; its message already names what was wrong.
    """

    @functools.wraps(init)
    def construct(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            init(*args, **kwargs)
        except Exception as exc:  # a GrokError, or a bug's raw error: neither may show the key in a frame
            error = exc
        else:
            return
        traceback.clear_frames(error.__traceback__)
        del args, kwargs
        raise error

    return construct


_Cred = TypeVar("_Cred")
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)


class _BaseClient(Generic[_Cred, _Http]):
    """Configuration and every per-call decision shared by both clients; no I/O.

    The constructor is shared too: the two clients differ only in the types of ``credential`` and ``http_client``
    (the type parameters) and in the few classes named below.
    """

    endpoint: Endpoint
    api_version: str | None
    timeout: httpx.Timeout
    default_headers: dict[str, str]
    response_limits: ResponseLimits
    models: Models
    usage: UsageTracker
    _owns_resources: bool

    # What differs between the clients' construction: the token auth class, the credential made when none is
    # given, and the HTTP client (plus the transport to send to directly) the SDK builds.
    _TOKEN_AUTH: Callable[[Any, Sequence[str]], Any]
    _DEFAULT_CREDENTIAL: Callable[[], Any]
    _DEFAULT_HTTP: Callable[[str, ProxyTypes | None], tuple[Any, Any]]

    @_forgets_arguments_on_failure
    def __init__(
        self,
        *,
        endpoint: str | None = None,
        api_key: str | AzureKeyCredential | None = None,
        credential: _Cred | None = None,
        route: str | None = None,
        api_version: str | None = None,
        credential_scopes: Sequence[str] | None = None,
        api_key_header: str = "api-key",
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
        response_limits: ResponseLimits | None = None,
        http_client: _Http | None = None,
        proxy: ProxyTypes | None = None,
        environ: Mapping[str, str] | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
        deployments: Sequence[Deployment] | DeploymentPool | None = None,
        deployment_models: Mapping[str, str | ModelSpec] | None = None,
        catalog: Catalog | None = None,
        validate: bool = True,
        usage: UsageTracker | None = None,
        auto_model: ModelSelection | None = None,
        hooks: Sequence[Hook] | None = None,
    ) -> None:
        """See the class docstring of :class:`GrokClient` for every argument."""
        env = QuietMapping(os.environ if environ is None else environ)  # a rendered frame must not list it
        self.api_version = api_version
        self.timeout = coerce_timeout(timeout)
        check_headers(default_headers, param="default_headers")
        self.default_headers = RedactingDict(default_headers or {})
        check_response_limits(response_limits)  # a dict would fail only when a response is read
        self.response_limits = response_limits or DEFAULT_RESPONSE_LIMITS
        self.max_retries = _check_max_retries(max_retries)
        self.retry = _check_policy(retry)
        self.deadline = check_budget(deadline, "deadline")
        self._hooks = check_hooks(hooks)
        self._observing = observing(self._hooks, self.retry.on_retry)
        self._owns_resources = True
        self._lifecycle = _Lifecycle()
        self._owned_credential: Any = None

        def make_auth(where: Endpoint, key: str | AzureKeyCredential | None, cred: Any) -> Any:
            choice = choose_auth(key, cred, env)
            if choice.api_key is not None:
                auth = KeyAuth(choice.api_key, api_key_header)
                # Refuse a key or header name httpx could not send now, not as a confusing error on the first call.
                check_headers({api_key_header: "-"}, param="api_key_header")
                check_headers(auth.headers(), param="api_key")
                remember_key(auth)  # no log record may quote it
                return auth
            if choice.credential is None and self._owned_credential is None:
                # DefaultAzureCredential is only imported (and created) when nothing else was given.
                self._owned_credential = type(self)._DEFAULT_CREDENTIAL()
            scopes = list(credential_scopes) if credential_scopes else [where.default_scope]
            return self._TOKEN_AUTH(choice.credential or self._owned_credential, scopes)

        if deployments is None:
            self.endpoint = resolve_endpoint(endpoint, route, environ=env)
            self._auth = make_auth(self.endpoint, api_key, credential)
            self._targets: tuple[Target, ...] = (Target(self.endpoint, self._auth, self.endpoint.host),)
            self._pool: TargetPool = ONE_TARGET
        else:
            self._use_deployments(deployments, endpoint, api_key, route, credential, make_auth)
        _refuse_dated_v1_versions(self._targets, api_version)
        # Per target, the deployment name it sends instead of the call's model and its served_by label (admit's
        # arguments, the same for every call).
        self._routing = (tuple(t.model for t in self._targets), tuple(t.name for t in self._targets))
        self._model_policy = _model_policy(
            ModelDirectory(
                catalog,
                deployment_models,
                environ=env,
                pool_names=[t.model for t in self._targets if t.model is not None],
            ),
            validate,
            usage,
            auto_model,
        )
        self._owns_http = http_client is None
        self._http: _Http
        self._direct: Any  # the transport to send to directly, when the SDK built the client; else None
        if http_client is None:
            self._http, self._direct = type(self)._DEFAULT_HTTP(self.endpoint.chat_completions_url, proxy)
        else:
            if proxy is not None:
                raise ConfigurationError(
                    "proxy= configures the HTTP client the SDK builds; with http_client=, set the proxy on that "
                    "client"
                )
            self._http, self._direct = http_client, None
        self._bind_resources()
        self.models = Models(self._model_policy)
        self.usage = self._model_policy.tracker
        guard_loggers()  # the loggers the credential's and transport's modules made when they were imported

    def _use_deployments(
        self,
        deployments: Sequence[Deployment] | DeploymentPool,
        endpoint: str | None,
        api_key: object,
        route: str | None,
        credential: object,
        make_auth: Callable[[Endpoint, Any, Any], Any],
    ) -> None:
        if endpoint is not None or api_key is not None:
            raise ConfigurationError(
                "Pass either deployments= or endpoint=/api_key=, not both: each Deployment names its own"
            )
        pool = deployments if isinstance(deployments, DeploymentPool) else DeploymentPool(deployments)
        targets = []
        for item in pool.deployments:
            where = resolve_endpoint(item.endpoint, item.route or route)
            own = item.api_key is not None or item.credential is not None
            auth = make_auth(where, item.api_key, item.credential if own else credential)
            targets.append(Target(where, auth, item.name, item.deployment, item.api_version))
        self._targets = tuple(targets)
        self._pool = pool
        self.endpoint = targets[0].endpoint
        self._auth = targets[0].auth

    @property
    def deployment_pool(self) -> DeploymentPool | None:
        """The :class:`DeploymentPool` given as ``deployments=`` (its health state), or None."""
        return self._pool if isinstance(self._pool, DeploymentPool) else None

    def _start(
        self, body: dict[str, Any], stream: bool, params: Mapping[str, Any], encoded: bytes | None = None
    ) -> tuple[Call, Meter]:
        """Everything one call needs (see :class:`Call`) and its usage :class:`Meter`.

        ``encoded`` is ``body`` as JSON, when the caller has it (sent as it is unless the body changes here).

        Validates the request options, resolves ``model="auto"`` and checks the body against the deployment's model
        (``validate``), all before anything is sent; the caller reserves the budget (``Meter.reserve``) right
        before sending.
        """
        timeout = params.get("timeout", NOT_GIVEN)
        attempt_timeout = self.timeout if timeout is NOT_GIVEN else coerce_timeout(timeout)
        deadline = params.get("deadline", NOT_GIVEN)
        seconds = self.deadline if deadline is NOT_GIVEN else check_budget(deadline, "deadline")
        stream_seconds = check_budget(params.get("stream_deadline"), "stream_deadline")
        if stream_seconds is not None and not stream:
            raise RequestValidationError(
                "stream_deadline is only valid with stream=True", param="stream_deadline"
            )
        extra_headers = params.get("extra_headers")
        extra_query = params.get("extra_query")
        model = body["model"]
        meter = self._model_policy.admit(body, *self._routing, encoded)
        if body["model"] != model:  # model="auto" was resolved: the encoding is out of date
            encoded = None
        request_id = new_request_id()  # one request id for every attempt, on every deployment
        prepare = _Preparer(self, body, attempt_timeout, extra_headers, extra_query, request_id, encoded)
        call = Call(
            targets=self._targets,
            pool=self._pool,
            prepare=prepare,
            prepared={0: prepare(0)},
            stream=stream,
            policy=self.retry,
            max_retries=self.max_retries,
            deadline=UNBOUNDED if seconds is None else Deadline(seconds),
            stream_deadline=None
            if stream_seconds is None
            else Deadline(stream_seconds, budget="stream_deadline"),
            max_body_bytes=self.response_limits.max_body_bytes,
            closed_error=self._closed_check,
            hold=meter,
        )
        hooks = self._observing[logger.isEnabledFor(logging.INFO)]
        if hooks is not None:  # most calls have no hook, and pay for none
            call.observer = meter.observer = CallObserver(hooks, CallInfo(request_id, body, stream))
        return call, meter

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        api_version: str | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        validate: bool | NotGiven = NOT_GIVEN,
        hooks: Sequence[Hook] | NotGiven | None = NOT_GIVEN,
    ) -> Self:
        """A copy with other defaults that shares this client's connection pool, credential, deployment health,
        deployment models and usage tracker.

        Arguments left out keep this client's values; ``deadline=None`` removes the deadline; ``hooks`` replaces
        the hooks (``None`` or ``[]``: none).

        Args:
            timeout: Seconds for each attempt, an ``httpx.Timeout``, or None for no timeout (as for the client).
            default_headers: Headers merged over this client's ``default_headers``, name by name (checked like
                ``api_key``); None: keep them as they are.
            api_version: The ``api-version`` query parameter; None leaves it out. A dated version on the
                ``/openai/v1`` route raises :class:`ConfigurationError`.
            max_retries: How many times a failed attempt is retried (0: never).
            retry: The :class:`RetryPolicy` that replaces this client's.
            deadline: Seconds for a whole call, its retries and waits included; None: no deadline.
            validate: Whether requests are checked against their deployment's model before sending (see the
                client's ``validate``).
            hooks: The :class:`Hook` objects that replace this client's (None or ``[]``: none).

        Raises:
            ConfigurationError: ``max_retries``, ``retry``, ``hooks`` or ``api_version`` is not usable.
            RequestValidationError: ``timeout``, ``deadline`` or a header is malformed.
        """
        clone = copy.copy(self)
        # The copy shares the connection pool, credential and deployment health; only the original closes them.
        clone._owns_resources = False
        if not isinstance(max_retries, NotGiven):
            clone.max_retries = _check_max_retries(max_retries)
        if not isinstance(retry, NotGiven):
            clone.retry = _check_policy(retry)
        if not isinstance(deadline, NotGiven):
            clone.deadline = check_budget(deadline, "deadline")
        if not isinstance(timeout, NotGiven):
            clone.timeout = coerce_timeout(timeout)
        if default_headers is not None:
            check_headers(default_headers, param="default_headers")
            clone.default_headers = RedactingDict({**self.default_headers, **default_headers})
        if not isinstance(api_version, NotGiven):
            _refuse_dated_v1_versions(self._targets, api_version)
            clone.api_version = api_version
        if not isinstance(hooks, NotGiven):
            clone._hooks = check_hooks(hooks)
        clone._observing = observing(clone._hooks, clone.retry.on_retry)
        if not isinstance(validate, NotGiven):
            policy = self._model_policy
            clone._model_policy = _model_policy(policy.directory, validate, policy.tracker, policy.auto)
        clone._bind_resources()
        clone.models = Models(clone._model_policy)
        return clone

    def _bind_resources(self) -> None:
        raise NotImplementedError

    _closed_check: Callable[..., ClientClosedError | None]  # self._closed_error, bound once (_bind_resources)

    # The names of the few operations that differ between the clients (sync and async spellings).
    _HEADERS: str
    _REFRESH: str
    _CLOSE: str

    def _perform(self, command: Any) -> Any:
        """Start one command of the call loop; the value, or (async client) an awaitable of it."""
        kind = type(command)
        if kind is Send:
            return self._transmit(command.request, command.within)
        if kind is GetHeaders:
            return getattr(command.target.auth, self._HEADERS)()
        if kind is ReadBody:
            return self._read(command.response, command.reader)
        if kind is Close:
            return getattr(command.response, self._CLOSE)()
        if kind is Refresh:
            refresh = getattr(command.target.auth, self._REFRESH)
            return refresh(command.sent_headers, command.response_headers)
        return self._sleep(command)

    _transmit: Callable[[httpx.Request, float | None], Any]
    _read: Callable[[httpx.Response, BodyReader], Any]
    _sleep: Callable[[Sleep], Any]

    def _closed_error(self, *, in_flight: bool = False, retrying: bool = False) -> ClientClosedError | None:
        """The error for a call on a closed client (or on an ``http_client`` the caller closed), else None.

        ``in_flight``: the client was closed while a request was on its way, which may have reached the service
        (and been billed): the message must not say that nothing was sent. ``retrying``: earlier attempts of the
        call were sent; only the next one was not.
        """
        sent = (
            "the request was already on its way and may have reached the service"
            if in_flight
            else "its earlier attempts were sent, but no further attempt was"
            if retrying
            else "nothing was sent"
        )
        if self._lifecycle.closed:
            return ClientClosedError(
                f"This {type(self).__name__} is closed (close() was called or its with block ended); {sent}. "
                "Create a new client."
            )
        if self._http.is_closed:
            return ClientClosedError(
                f"The http_client given to this {type(self).__name__} is closed; {sent}. Pass an open "
                "client, or let the SDK make its own."
            )
        return None

    def _check_open(self) -> None:
        error = self._closed_error()
        if error is not None:
            raise error

    def _failure(self, exc: Exception, request: httpx.Request) -> GrokError:
        """The GrokError for an exception raised by the transport or while reading a body.

        A pool closed in the middle of a call (httpx says so with a bare RuntimeError) is a ClientClosedError.
        """
        closed = None if isinstance(exc, GrokError) else self._closed_error(in_flight=True)
        return closed if closed is not None else send_failure(exc, request)

    def _closing(self) -> bool:
        """Mark the shared resources closed; False when there is nothing (more) for this object to close."""
        if not self._owns_resources or self._lifecycle.closed:
            return False
        self._lifecycle.close()  # a call waiting to retry ends now, with ClientClosedError
        return True

    def __repr__(self) -> str:
        # getattr: a traceback rendered with capture_locals calls this on a client whose __init__ failed.
        endpoint = getattr(self, "endpoint", None)
        if endpoint is None:
            return f"<{type(self).__name__} (not configured)>"
        return (
            f"{type(self).__name__}(endpoint={endpoint.base_url!r}, route={endpoint.route!r}, "
            f"auth={getattr(self, '_auth', None)!r})"
        )

    _auth: Any


class GrokClient(_BaseClient["SyncCredential", httpx.Client]):
    """A synchronous client for Grok deployments on an Azure AI Foundry resource.

    >>> client = GrokClient()  # GROK_AZURE_ENDPOINT and GROK_AZURE_API_KEY, or DefaultAzureCredential
    >>> client.chat.completions.create(model="grok-4", messages=[{"role": "user", "content": "Hi"}]).text

    Args:
        endpoint: The Foundry resource or project URL (default: ``GROK_AZURE_ENDPOINT``).
        api_key: A key or an ``AzureKeyCredential`` (default: ``GROK_AZURE_API_KEY``). Checked when the client
            is built: CR, LF, control or non-ASCII characters raise :class:`RequestValidationError`.
        credential: An Entra ID token credential or a ``() -> str`` provider, instead of a key.
        route: ``"openai_v1"`` or ``"model_inference"``; normally inferred from the endpoint.
        api_version: The ``api-version`` query parameter (required by, and defaulted for, the model-inference
            route).
        credential_scopes: Token scopes; default: the one for the endpoint's host.
        api_key_header: The header that carries the key (``Ocp-Apim-Subscription-Key`` behind API Management).
        timeout: Seconds, an ``httpx.Timeout``, or None for no timeout.
        default_headers: Headers sent with every request (checked like ``api_key``).
        response_limits: How much a response may make the client hold in memory (:class:`ResponseLimits`).
        http_client: Your own ``httpx.Client`` (hooks, proxies, TLS). The SDK sends through it with redirects
            off whatever its ``follow_redirects`` says, and does not close it.
        proxy: A proxy URL or ``httpx.Proxy`` for the client the SDK builds. Without it the environment decides,
            as for httpx: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY``, and ``NO_PROXY``. Chosen once, for the
            endpoint, when the client is built (see docs/proxies.md). Not allowed together with ``http_client``.
        environ: Where to read ``GROK_AZURE_*`` settings; default ``os.environ`` (proxy variables always come
            from the process environment, as for httpx).
        max_retries: How many times a failed attempt is retried (default 2; 0: never). See docs/retries.md.
        retry: The :class:`RetryPolicy`: which failures retry, the backoff, the longest server-stated wait, an
            ``on_retry`` callback (default: ``RetryPolicy()``).
        deadline: Seconds for a whole call, its retries and waits included (None: no deadline; per call:
            ``deadline=``).
        deployments: :class:`Deployment` objects or a :class:`DeploymentPool`: calls go to one of them and fail
            over to another (see docs/failover.md); instead of ``endpoint`` and ``api_key``.
        deployment_models: Your deployment names and the catalog model behind each
            (``{"prod-chat": "grok-4-1-fast-non-reasoning"}``), merged over ``GROK_AZURE_DEPLOYMENTS_FILE`` (a JSON
            object) and ``GROK_AZURE_DEPLOYMENTS`` (``"a=grok-4,b=grok-4.7"``), name by name. A deployment named
            after a catalog id or alias needs no entry. An unknown model raises :class:`ConfigurationError`.
        catalog: The :class:`Catalog` to resolve models in (e.g. ``load_catalog().with_models(...)``); default:
            the packaged one, with ``GROK_AZURE_CATALOG``'s file merged over it.
        validate: Check each request against its deployment's model before sending (default True): stated
            rejections raise (:class:`UnsupportedParameterError`, :class:`PromptTooLongError`,
            :class:`ModelRetiredError`), unconfirmed ones warn once (``GrokAzureWarning``). False: no model checks.
        usage: The :class:`UsageTracker` that counts this client's tokens and cost (share one across clients;
            give it a ``budget`` to stop calls that would exceed it). Default: a new one, without a budget.
            Available as ``client.usage``.
        auto_model: The :class:`ModelSelection` that ``model="auto"`` uses to choose among the mapped
            deployments (needs shown by the request are added).
        hooks: :class:`Hook` objects that see every attempt (request, response, error, retry) and the end of
            every call, in order: metrics, extra headers, tracing (``grok_azure.otel.TracingHook``). See
            docs/observability.md.
    """

    chat: Chat

    @functools.cached_property
    def batches(self) -> Batches:
        """``client.batches.run(...)``: a JSONL batch through this client (see docs/batches.md); made on first
        use, so clients that never run one never load the batch runner."""
        from .resources.batches import Batches

        return Batches(self)

    _auth: Auth
    _HEADERS, _REFRESH, _CLOSE = "headers", "refresh_after_unauthorized", "close"
    _TOKEN_AUTH = SyncTokenAuth
    _DEFAULT_CREDENTIAL = staticmethod(default_sync_credential)
    _DEFAULT_HTTP = staticmethod(default_sync_client)

    def _sleep(self, command: Sleep) -> None:
        with self._lifecycle.wait(command.waker):
            command.waker.sleep(command.seconds)

    def _bind_resources(self) -> None:
        self.__dict__.pop("batches", None)  # a with_options copy makes its own (see batches)
        self.chat = Chat(self)
        # One bound method for every call's Call, not a new one per call (each is an object a call holds).
        self._closed_check = self._closed_error

    def _execute(self, flow: CallFlow, reply: GrokError | None = None) -> httpx.Response:
        """Perform the call loop's commands with httpx's sync API (every decision is the flow's).

        ``reply``: None to start the flow; a stream's failure before its first chunk to resume it (a retry).
        """
        command = flow.send(reply)
        while type(command) is not Done:
            command = flow.send(_settled(self._perform, command))
        return command.response

    def _transmit(self, request: httpx.Request, within: float | None = None) -> httpx.Response | GrokError:
        """Hand the request to httpx (redirects off); a failure comes back as a GrokError with a clean cause.

        Returned, not raised: the original (holding the request's headers) must not be chained to anything.
        ``within`` is not needed here: httpcore bounds every write and read by the attempt's timeouts, which the
        call loop shortened to what the deadline leaves, and a blocking write cannot outlast its timeout.
        """
        started = time.perf_counter()
        try:
            if self._direct is None:
                return self._http.send(request, stream=True, follow_redirects=False)
            return bind_direct_response(self._direct.handle_request(request), request, started)
        except Exception as exc:
            return self._failure(exc, request)

    def _read(self, response: httpx.Response, body: BodyReader) -> GrokError | None:
        """Read the body into ``body``, then release the connection (dropping it on failure); the failure, if any.

        Under a deadline, a timer shuts the socket down when it runs out: each read is bounded by the read timeout,
        but a body dripping in within it would outlast the deadline.
        """
        left = body.time_left()
        cancel = None if left is None else arm_cutoff(left, functools.partial(cut_read, response))
        lifecycle = self._lifecycle
        lifecycle.read(response)
        try:
            for chunk in iter_decoded(response):
                body.feed(chunk)
            body.finish()
        except Exception as exc:
            return self._failure(exc, response.request)
        finally:
            if cancel is not None:
                cancel()
            lifecycle.done(response)
            response.close()
        return None

    def close(self) -> None:
        """Close the connection pool (unless it was passed in) and any credential this client created.

        Every later call, on this client or a ``with_options`` copy of it, raises :class:`ClientClosedError`.
        Closing again does nothing; closing a copy does nothing either (the original owns the pool).
        """
        if not self._closing():
            return
        if self._owns_http:
            self._http.close()
        if self._owned_credential is not None:
            self._owned_credential.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncGrokClient(_BaseClient["AsyncCredential", httpx.AsyncClient]):
    """The asyncio twin of :class:`GrokClient`: the same arguments, awaitable methods.

    ``http_client`` is an ``httpx.AsyncClient``. The client the SDK builds runs on aiohttp's pool; ``proxy`` (or
    the environment's proxy) works there too for ``http://`` and ``https://`` proxies, and a ``socks5://`` proxy
    switches to httpx's native pool (with ``httpx[socks]`` installed).

    Args:
        endpoint: The Foundry resource or project URL (default: ``GROK_AZURE_ENDPOINT``).
        api_key: A key or an ``AzureKeyCredential`` (default: ``GROK_AZURE_API_KEY``). Checked when the client
            is built: CR, LF, control or non-ASCII characters raise :class:`RequestValidationError`.
        credential: An Entra ID token credential (``azure.identity.aio``'s, or a sync one), or a ``() -> str``
            provider that may return an awaitable, instead of a key. Default: ``DefaultAzureCredential``
            (``azure.identity.aio``) when no key is found.
        route: ``"openai_v1"`` or ``"model_inference"``; normally inferred from the endpoint.
        api_version: The ``api-version`` query parameter (required by, and defaulted for, the model-inference
            route).
        credential_scopes: Token scopes; default: the one for the endpoint's host.
        api_key_header: The header that carries the key (``Ocp-Apim-Subscription-Key`` behind API Management).
        timeout: Seconds for each attempt, an ``httpx.Timeout``, or None for no timeout.
        default_headers: Headers sent with every request (checked like ``api_key``).
        response_limits: How much a response may make the client hold in memory (:class:`ResponseLimits`).
        http_client: Your own ``httpx.AsyncClient``. The SDK sends through it with redirects off whatever its
            ``follow_redirects`` says, and does not close it.
        proxy: A proxy URL or ``httpx.Proxy`` for the client the SDK builds (see above and docs/proxies.md);
            without it ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` and ``NO_PROXY`` decide. Not allowed
            together with ``http_client``.
        environ: Where to read ``GROK_AZURE_*`` settings; default ``os.environ`` (proxy variables always come
            from the process environment).
        max_retries: How many times a failed attempt is retried (default 2; 0: never). See docs/retries.md.
        retry: The :class:`RetryPolicy` (default: ``RetryPolicy()``).
        deadline: Seconds for a whole call, its retries and waits included (None: no deadline; per call:
            ``deadline=``).
        deployments: :class:`Deployment` objects or a :class:`DeploymentPool` to fail over across (see
            docs/failover.md); instead of ``endpoint`` and ``api_key``.
        deployment_models: Your deployment names and the catalog model behind each, as for
            :class:`GrokClient` (merged over ``GROK_AZURE_DEPLOYMENTS_FILE`` and ``GROK_AZURE_DEPLOYMENTS``).
        catalog: The :class:`Catalog` to resolve models in; default: the packaged one, with
            ``GROK_AZURE_CATALOG``'s file merged over it.
        validate: Check each request against its deployment's model before sending (default True); False: no
            model checks.
        usage: The :class:`UsageTracker` that counts this client's tokens and cost (default: a new one, without a
            budget). Available as ``client.usage``.
        auto_model: The :class:`ModelSelection` that ``model="auto"`` uses to choose among the mapped
            deployments.
        hooks: :class:`Hook` objects that see every attempt and the end of every call (plain sync methods: keep
            them quick). See docs/observability.md.
    """

    chat: AsyncChat

    @functools.cached_property
    def batches(self) -> AsyncBatches:
        """``client.batches.run(...)``: a JSONL batch through this client (see docs/batches.md); made on first
        use, so clients that never run one never load the batch runner."""
        from .resources.batches import AsyncBatches

        return AsyncBatches(self)

    _auth: AsyncAuth
    _HEADERS, _REFRESH, _CLOSE = "aheaders", "arefresh_after_unauthorized", "aclose"
    _TOKEN_AUTH = AsyncTokenAuth
    _DEFAULT_CREDENTIAL = staticmethod(default_async_credential)
    _DEFAULT_HTTP = staticmethod(default_async_client)

    async def _sleep(self, command: Sleep) -> None:
        with self._lifecycle.wait(command.waker):
            await command.waker.asleep(command.seconds)

    def _bind_resources(self) -> None:
        self.__dict__.pop("batches", None)  # a with_options copy makes its own (see batches)
        self.chat = AsyncChat(self)
        # One bound method for every call's Call, not a new one per call (each is an object a call holds).
        self._closed_check = self._closed_error

    async def _execute(self, flow: CallFlow, reply: GrokError | None = None) -> httpx.Response:
        """Perform the call loop's commands with httpx's async API (see :meth:`GrokClient._execute`)."""
        command = flow.send(reply)
        while type(command) is not Done:
            # What _settled does for the sync client, written out: a helper coroutine would be one more frame
            # (and two more objects for the garbage collector to walk) for every request in flight.
            try:
                result = await self._perform(command)
            except BaseException as exc:  # cancellation too: the loop frees what it holds, then raises it
                result = exc
            command = flow.send(result)
        return command.response

    async def _transmit(
        self, request: httpx.Request, within: float | None = None
    ) -> httpx.Response | GrokError:
        """Hand the request to httpx (redirects off); a failure comes back as a GrokError with a clean cause.

        ``within``: the seconds the call's budgets leave for the whole send, its upload included (aiohttp bounds no
        write: a server that stops reading a large body would hold the call for ever); None: unbounded.

        ``except Exception`` also catches what httpx-aiohttp leaves unmapped (oversized headers, for one), and
        never ``asyncio.CancelledError``, a BaseException.
        """
        started = time.perf_counter()
        direct = self._direct
        try:
            sending = (
                self._http.send(request, stream=True, follow_redirects=False)
                if direct is None
                else direct.handle_async_request(request)
            )
            response = await (sending if within is None else bounded(within, sending, request))
        except Exception as exc:
            return self._failure(exc, request)
        return response if direct is None else bind_direct_response(response, request, started)

    async def _read(self, response: httpx.Response, body: BodyReader) -> GrokError | None:
        """Read the body into ``body``, then release the connection (dropping it on failure); the failure, if any.

        Under a deadline the whole read is bounded by what it leaves (see :meth:`GrokClient._read`).
        """
        left = body.time_left()
        reading = _read_into(response, body)
        lifecycle = self._lifecycle
        # close() cuts it (its socket, or the aiohttp transport's body: see _cutoff.cut_read).
        lifecycle.read(response)
        try:
            await (reading if left is None else bounded(left, reading, response.request))
        except Exception as exc:
            return self._failure(exc, response.request)
        finally:
            lifecycle.done(response)
            await response.aclose()
        return None

    async def close(self) -> None:
        """Close the connection pool (unless it was passed in) and any credential this client created.

        Every later call, on this client or a ``with_options`` copy of it, raises :class:`ClientClosedError`.
        Closing again does nothing; closing a copy does nothing either (the original owns the pool).
        """
        if not self._closing():
            return
        if self._owns_http:
            await self._http.aclose()
        if self._owned_credential is not None:
            await self._owned_credential.close()

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# A dated api-version ("2024-10-21", "2025-04-01-preview"); "preview" and "latest" are not dated.
_DATED_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


def _refuse_dated_v1_versions(targets: Sequence[Target], api_version: str | None) -> None:
    """Refuse a dated api-version for a target on the /openai/v1 route: the service answers it with 400
    "api-version query parameter is not allowed when using /v1 path".

    Args:
        targets: the client's targets; each uses its own ``api_version``, else ``api_version``.
        api_version: the client's.
    """
    for target in targets:
        version = target.api_version or api_version
        if target.endpoint.route != "openai_v1" or version is None or not _DATED_VERSION.match(version):
            continue
        whose = "api_version" if target.api_version is None else f"Deployment {target.name!r} api_version"
        raise ConfigurationError(
            f"{whose}={version!r} is a dated API version, which the /openai/v1 route refuses (the service answers "
            "400 'api-version query parameter is not allowed when using /v1 path'). Leave api_version out on "
            "/openai/v1 (api_version='preview' selects preview features), or use the /models route "
            "(route='model_inference') to pin a dated version."
        )


def _model_policy(
    directory: ModelDirectory, validate: object, usage: object, auto_model: object
) -> ModelPolicy:
    if not isinstance(validate, bool):
        raise ConfigurationError(f"validate must be True or False; got {validate!r}")
    if usage is not None and not isinstance(usage, UsageTracker):
        raise ConfigurationError(f"usage must be a UsageTracker or None; got {type(usage).__name__}")
    if auto_model is not None and not isinstance(auto_model, ModelSelection):
        raise ConfigurationError(
            f"auto_model must be a ModelSelection or None; got {type(auto_model).__name__}"
        )
    tracker = usage if usage is not None else UsageTracker()
    return ModelPolicy(directory, validate, tracker, auto_model, OnceRegistry())


class _Preparer:
    """Builds a call's request (without credentials) for a target index: ``Call.prepare``.

    A class, not a closure: a closure over these six values would hold seven more objects for every call in
    flight, which the garbage collector walks while the call waits.
    """

    __slots__ = ("_body", "_client", "_encoded", "_extra_headers", "_extra_query", "_request_id", "_timeout")

    def __init__(
        self,
        client: _BaseClient[Any, Any],
        body: dict[str, Any],
        timeout: httpx.Timeout,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
        request_id: str,
        encoded: bytes | None,
    ) -> None:
        self._client = client
        self._encoded = encoded
        self._body = body
        self._timeout = timeout
        self._extra_headers = extra_headers
        self._extra_query = extra_query
        self._request_id = request_id

    def __call__(self, index: int) -> PreparedRequest:
        client = self._client
        target = client._targets[index]
        body = self._body
        same = target.model is None
        return prepare_chat_request(
            target.endpoint,
            body if same else {**body, "model": target.model},
            api_version=target.api_version or client.api_version,
            timeout=self._timeout,
            default_headers=client.default_headers,
            extra_headers=self._extra_headers,
            extra_query=self._extra_query,
            request_id=self._request_id,
            encoded=self._encoded if same else None,
        )


def _check_max_retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0; got {value!r}")
    return value


_DEFAULT_POLICY = RetryPolicy()


def _check_policy(value: object) -> RetryPolicy:
    if value is None:
        return _DEFAULT_POLICY
    if not isinstance(value, RetryPolicy):
        raise ConfigurationError(f"retry must be a RetryPolicy or None; got {type(value).__name__}")
    return value


async def _read_into(response: httpx.Response, body: BodyReader) -> None:
    async for chunk in aiter_decoded(response):
        body.feed(chunk)
    body.finish()


def _settled(perform: Callable[[Any], Any], command: Any) -> Any:
    """What ``perform(command)`` returned, or what it raised: the call loop decides what a failure means."""
    try:
        return perform(command)
    except BaseException as exc:  # an interrupt too: the loop frees what it holds, then raises it
        return exc
