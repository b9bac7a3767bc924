"""The callable class for ``Dataset.map_batches``: an :class:`~grok_azure.AsyncGrokClient` per Ray actor.

Each actor keeps one event loop on a thread of its own and one client on it, for the actor's life: connections,
Entra ID tokens and usage accounting carry over from batch to batch (``asyncio.run`` per batch would rebuild
them). Every row's call goes through ``client.chat.completions`` (validation, retries under Azure's
``retry-after`` and ``x-ratelimit-reset-*`` headers, deadlines, failover, cost) after the cluster's
:class:`~grok_azure.ray.QuotaCoordinator` lets it go; a hook on the client passes each attempt's status and
rate-limit headers back to the coordinator's pacer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from .._batch._format import BatchRequest, BatchResult
from .._batch._pacer import check_concurrency, estimate_tokens
from .._batch._runner import Outcome, PacerHook, _result, call_arguments
from .._client import AsyncGrokClient
from .._errors import GrokError
from ._rows import columns_of, output_batch, requests_of

__all__ = ["GrokBatchProcessor"]

_T = TypeVar("_T")
_RATE_HEADERS = ("x-ratelimit-", "retry-after")


class _CoordinatorSink:
    """The coordinator as :class:`PacerHook` reports to it: each retry's charge and each answer's status and
    rate-limit headers. A hook must not block, so the messages go without waiting; the batch waits for them before
    it returns (:meth:`settled`), so no report is still on its way when the batch's rows are out."""

    def __init__(self, coordinator: Any) -> None:
        self._coordinator = coordinator
        self._pending: list[Any] = []

    def charge(self, estimated_tokens: int) -> None:
        self._pending.append(self._coordinator.charge.remote(estimated_tokens))

    def on_response(self, status: int, headers: Mapping[str, str], source: str | None = None) -> None:
        # Only what the pacer reads crosses to the actor.
        rate = {k.lower(): v for k, v in headers.items() if k.lower().startswith(_RATE_HEADERS)}
        self._pending.append(self._coordinator.on_response.remote(status, rate, source))

    async def settled(self) -> None:
        """Wait until the coordinator has taken every message sent so far."""
        pending, self._pending = self._pending, []
        await asyncio.gather(*pending)


class GrokBatchProcessor:
    """Sends each row of a Ray Dataset to Grok on Foundry and returns its batch output row.

    Pass the class (not an instance) to ``map_batches``, with its arguments in ``fn_constructor_kwargs``; Ray
    builds one per actor::

        coordinator = QuotaCoordinator.remote(rpm=600, tpm=200_000)
        results = ds.map_batches(
            GrokBatchProcessor,
            fn_constructor_kwargs={"coordinator": coordinator, "model": "grok-4"},
            compute=ray.data.ActorPoolStrategy(size=4),
            batch_size=64,
        )

    Input rows have the OpenAI batch input shape: ``custom_id`` (unique, a string), ``body`` (the chat
    completion request, as a struct or a JSON string) and optionally ``method`` (``"POST"``) and ``url``
    (``"/chat/completions"``). Output rows have the batch output shape: ``id``, ``custom_id``, ``response``
    (``{"status_code", "request_id", "body"}``) and ``error`` (``{"code", "message"}`` for a failed row, whose
    code is the batch runner's). A row that fails, whether its request is bad or the call fails, becomes a
    failed row; it never fails the dataset.

    Args:
        coordinator: the cluster's :class:`~grok_azure.ray.QuotaCoordinator` (an actor handle); None: no shared
            pacing (each call still retries on 429 by itself).
        model: the deployment for rows whose body names none.
        endpoint: the Foundry endpoint; None: ``GROK_AZURE_ENDPOINT`` on the worker node.
        api_key: a key; None: ``GROK_AZURE_API_KEY`` on the worker node, else Entra ID. A key given here travels
            through Ray's object store with the constructor arguments: prefer the node's environment or Entra ID.
        credential_factory: builds each actor's Entra ID credential (``lambda: ManagedIdentityCredential()``, from
            ``azure.identity.aio``); a credential holds a connection pool and a token cache, so it is made where
            it is used rather than shipped. None: the client's default.
        concurrency: the most calls in flight in one actor (the coordinator bounds the cluster's total).
        keep_columns: input columns besides the request's to copy to the output (any other unknown column is
            refused: it would be neither sent nor kept).
        client_options: more :class:`~grok_azure.AsyncGrokClient` arguments (``deadline``, ``max_retries``,
            ``deployments``, ``hooks``...).
    """

    def __init__(
        self,
        *,
        coordinator: Any | None = None,
        model: str | None = None,
        endpoint: str | None = None,
        api_key: str | None = None,
        credential_factory: Callable[[], Any] | None = None,
        concurrency: int = 16,
        keep_columns: Sequence[str] = (),
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        check_concurrency(concurrency)
        self._coordinator = coordinator
        self._model = model
        self._concurrency = concurrency
        self._keep = tuple(keep_columns)
        # One bound for the actor, whatever number of batches Ray hands it at once.
        self._slots = asyncio.Semaphore(concurrency)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="grok-azure-ray", daemon=True)
        self._thread.start()
        options = dict(client_options or {})
        self._sink = _CoordinatorSink(coordinator) if coordinator is not None else None
        if self._sink is not None:
            options["hooks"] = [*options.get("hooks", ()), PacerHook(self._sink)]
        self._client: AsyncGrokClient = self._on_loop(
            self._build(endpoint, api_key, credential_factory, options)
        )

    @staticmethod
    async def _build(
        endpoint: str | None,
        api_key: str | None,
        credential_factory: Callable[[], Any] | None,
        options: dict[str, Any],
    ) -> AsyncGrokClient:
        # On the actor's loop: an async credential and the client's pool belong to the loop that uses them.
        if credential_factory is not None:
            options["credential"] = credential_factory()
        return AsyncGrokClient(endpoint=endpoint, api_key=api_key, **options)

    def _on_loop(self, coroutine: Awaitable[_T]) -> _T:
        async def run() -> _T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        """Send the batch's rows and return their output rows (in input order).

        Args:
            batch: the batch Ray hands over: a mapping of column to values (default or ``"numpy"`` format), a
                ``pyarrow.Table`` or a ``pandas.DataFrame``.

        Raises:
            BatchInputError: a missing ``custom_id`` or ``body`` column, an unknown column, or a row without a
                usable ``custom_id`` (no output row could name it).
        """
        columns = columns_of(batch, self._keep)
        return self._on_loop(self._process(columns))

    async def _process(self, columns: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
        parsed = list(requests_of(columns, self._model))
        slots = self._slots

        async def run(item: BatchRequest | BatchResult) -> BatchResult:
            if isinstance(item, BatchResult):  # the row's request was refused before sending
                return item
            async with slots:
                return await self._send(item)

        results = await asyncio.gather(*(run(item) for _, item in parsed))
        if self._sink is not None:
            await self._sink.settled()
        return output_batch(zip((row for row, _ in parsed), results, strict=True), self._keep)

    async def _send(self, request: BatchRequest) -> BatchResult:
        estimated = estimate_tokens(request.body)
        coordinator = self._coordinator
        lease = uuid.uuid4().hex
        if coordinator is not None:
            try:
                await coordinator.acquire.remote(estimated, lease)
            except (
                BaseException
            ):  # cancelled while waiting: the coordinator must not count it, whenever it hears
                coordinator.cancel.remote(lease)
                raise
        outcome: Outcome
        try:
            outcome = await self._client.chat.completions.with_raw_response.create(
                **call_arguments(request.body)
            )
        except GrokError as exc:
            outcome = exc
        except BaseException:  # a bug or a cancellation: the slot is freed, the error goes on
            if coordinator is not None:
                coordinator.release.remote(lease, estimated, None, None, True)
            raise
        result, tokens, cost = _result(request.custom_id, outcome)
        if coordinator is not None:
            await coordinator.release.remote(lease, estimated, tokens, cost, not result.ok)
        return result

    def close(self) -> None:
        """Close the actor's client and stop its loop (also on garbage collection; Ray may end the actor's
        process without either)."""
        if self._loop.is_closed():
            return
        try:
            client: AsyncGrokClient | None = getattr(self, "_client", None)  # None: the constructor failed
            if client is not None:
                self._on_loop(client.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown there is no one to tell
            self.close()
