"""client.batches.run, review mends: bodies the SDK would refuse are refused up front; a changed input counts only
its own ids; learned limits are summed over deployments; Ctrl-C leaves no thread that holds the process, and every
call it let out is written."""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from itertools import count, islice
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from grok_azure import (
    AsyncGrokClient,
    BatchInputError,
    BatchInterrupted,
    BatchProgress,
    BatchResult,
    Deployment,
    GrokAzureWarning,
    GrokClient,
    GrokError,
)
from grok_azure._batch._format import read_requests
from grok_azure._batch._pacer import Pacer
from grok_azure._batch._runner import BatchRun, PacerHook, Start
from grok_azure._batch._store import ResultStore

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MODELS = {"chat": "grok-4-1-fast-non-reasoning"}


def line(custom_id: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": "chat", "messages": [{"role": "user", "content": custom_id}], **body},
    }


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in items))
    return path


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=completion_body("fine"))


def client(**options: Any) -> GrokClient:
    return GrokClient(endpoint=ENDPOINT, api_key=KEY, max_retries=0, deployment_models=MODELS, **options)


def aclient() -> AsyncGrokClient:
    return AsyncGrokClient(
        endpoint=ENDPOINT,
        api_key=KEY,
        max_retries=0,
        deployment_models=MODELS,
        http_client=httpx.AsyncClient(),
    )


# -- bodies the SDK would refuse: refused before anything is sent, with the line ---------------------------------

REFUSED = [
    ({"temperature": 9}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),
    ({"model": ""}, "model"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"messages": "hello"}, "messages"),
    ({"top_logprobs": 3}, "top_logprobs"),
]


@pytest.mark.parametrize(("body", "named"), REFUSED)
def test_a_body_create_would_refuse_refuses_the_file_before_a_call(
    tmp_path: Path, mock_api: respx.MockRouter, body: dict[str, Any], named: str
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=ok)
    source = write_jsonl(tmp_path / "in.jsonl", [line("a"), line("b"), line("bad", **body), line("c")])
    out = tmp_path / "out.jsonl"
    with client() as c, pytest.raises(BatchInputError) as caught:
        c.batches.run(source, out)
    assert caught.value.line == 3
    assert named in str(caught.value)
    assert route.call_count == 0
    assert not out.exists() or out.read_text() == ""


async def test_a_body_create_would_refuse_refuses_an_async_iterable_batch(
    tmp_path: Path, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=ok)
    async with aclient() as ac:
        with pytest.raises(BatchInputError) as caught:
            await ac.batches.run([line("a"), line("bad", stream_options={})], tmp_path / "out.jsonl")
    assert caught.value.line == 2
    assert "stream_options" in str(caught.value)
    assert route.call_count == 0


def test_valid_bodies_with_fields_the_sdk_does_not_know_still_run(
    tmp_path: Path, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=ok)
    items = [line("a", temperature=0.2, max_tokens=5), line("b", search_parameters={"mode": "off"})]
    with client() as c:
        summary = c.batches.run(items, tmp_path / "out.jsonl")
    assert (summary.done, route.call_count) == (2, 2)


# -- a changed input: only its own ids count ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_resuming_with_a_changed_input_counts_only_its_ids(
    tmp_path: Path, mock_api: respx.MockRouter, kind: str
) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=ok)
    first = write_jsonl(tmp_path / "a.jsonl", [line(f"a{i}") for i in range(4)])
    second = write_jsonl(tmp_path / "b.jsonl", [line("a0"), *(line(f"b{i}") for i in range(3))])
    out = tmp_path / "out.jsonl"
    seen: list[BatchProgress] = []
    with client() as c:
        c.batches.run(first, out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "sync":
            with client() as c:
                summary = c.batches.run(second, out, on_progress=seen.append)
        else:
            async with aclient() as ac:
                summary = await ac.batches.run(second, out, on_progress=seen.append)
    said = [str(w.message) for w in caught if issubclass(w.category, GrokAzureWarning)]
    assert len(said) == 1
    assert "3 line(s) whose custom_id is not in this input" in said[0]
    assert (summary.total, summary.done, summary.failed) == (4, 4, 0)
    assert summary.skipped_already_done == 1  # a0, the one id both inputs have
    assert summary.not_in_input == 3
    assert summary.remaining == 0
    assert summary.resume_hint() == "all requests are done"
    assert seen
    for progress in seen:
        assert progress.done + progress.failed <= progress.total
        assert progress.eta is None or progress.eta >= 0


def test_an_unchanged_input_resumes_without_a_warning(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=ok)
    source = write_jsonl(tmp_path / "a.jsonl", [line(f"a{i}") for i in range(3)])
    out = tmp_path / "out.jsonl"
    with client() as c:
        c.batches.run(source, out)
        with warnings.catch_warnings():
            warnings.simplefilter("error", GrokAzureWarning)
            again = c.batches.run(source, out)
    assert (again.done, again.skipped_already_done, again.not_in_input) == (3, 3, 0)


# -- learned limits: one per deployment, paced to their sum ------------------------------------------------------


def limit_headers(requests: int) -> dict[str, str]:
    return {"x-ratelimit-limit-requests": str(requests), "x-ratelimit-reset-requests": "1s"}


def test_learned_limits_are_kept_per_deployment_and_summed() -> None:
    pacer = Pacer()
    pacer.on_response(200, limit_headers(10), source="east")
    assert pacer.rpm == 600
    pacer.on_response(200, limit_headers(10), source="east")  # the same quota again: not counted twice
    assert pacer.rpm == 600
    pacer.on_response(200, limit_headers(20), source="west")
    assert pacer.rpm == 1800
    given = Pacer(rpm=700)  # a given limit is the total, whatever the headers say
    given.on_response(200, limit_headers(10), source="east")
    given.on_response(200, limit_headers(10), source="west")
    assert given.rpm == 700


def test_a_client_over_two_deployments_paces_to_both_quotas() -> None:
    east, west = "https://east.services.ai.azure.com", "https://west.services.ai.azure.com"
    pacer = Pacer()
    deployments = [
        Deployment(east, api_key=KEY, name="east", deployment="chat"),
        Deployment(west, api_key=KEY, name="west", deployment="chat"),
    ]
    with respx.mock(assert_all_called=False) as router:
        for host in (east, west):
            router.post(url__startswith=host).mock(
                return_value=httpx.Response(200, json=completion_body("x"), headers=limit_headers(10))
            )
        with GrokClient(
            deployments=deployments, max_retries=0, deployment_models=MODELS, hooks=[PacerHook(pacer)]
        ) as c:
            for _ in range(20):  # the pool spreads calls by weight: both deployments answer
                c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert pacer.rpm == 1200  # 10 a second from each


# -- Ctrl-C: abandoned calls never hold the process --------------------------------------------------------------


def test_ctrl_c_abandons_calls_on_daemon_threads(tmp_path: Path, mock_api: respx.MockRouter) -> None:
    release = threading.Event()

    def slow_unless_first(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["messages"][0]["content"] != "fast":
            release.wait(10)
        return httpx.Response(200, json=completion_body("x"))

    def interrupt(progress: BatchProgress) -> None:
        raise KeyboardInterrupt

    mock_api.post(CHAT_URL).mock(side_effect=slow_unless_first)
    items = [line("fast"), *(line(f"slow{i}") for i in range(3))]
    out = tmp_path / "out.jsonl"
    try:
        with client() as c, pytest.raises(BatchInterrupted) as caught:
            c.batches.run(items, out, rpm=60_000, concurrency=4, grace=0, on_progress=interrupt)
        left = [t for t in threading.enumerate() if t.name.startswith("grok-azure-batch") and t.is_alive()]
        assert left  # the slow calls are still running...
        assert all(t.daemon for t in left)  # ...on threads that cannot keep the interpreter from exiting
    finally:
        release.set()
    assert caught.value.summary.interrupted
    assert [json.loads(raw)["custom_id"] for raw in out.read_text().splitlines()] == ["fast"]


def test_ctrl_c_as_a_call_thread_starts_writes_every_call_that_was_sent(
    tmp_path: Path, mock_api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grok_azure._batch._runner as runner

    first_sent = threading.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        which = json.loads(request.content)["messages"][0]["content"]
        if which == "a":
            first_sent.set()
        # The call whose thread the Ctrl-C hit answers last, well after the others.
        threading.Event().wait(0.5 if which == "b" else 0.05)
        return httpx.Response(200, json=completion_body("x"))

    starts = 0

    class InterruptedAfterStart(threading.Thread):
        """Ctrl-C lands in the second call thread's ``start``, just after the thread began: where a signal most
        often lands, since the batch's main thread waits there for each new call's thread to come up."""

        def start(self) -> None:
            nonlocal starts
            super().start()
            starts += 1
            if starts == 2:
                first_sent.wait(5)  # the first call is surely on the wire
                raise KeyboardInterrupt

    fake_threading = type(threading)("threading")
    fake_threading.__dict__.update(vars(threading))
    fake_threading.Thread = InterruptedAfterStart  # type: ignore[attr-defined]
    monkeypatch.setattr(runner, "threading", fake_threading)
    mock_api.post(CHAT_URL).mock(side_effect=answer)
    out = tmp_path / "out.jsonl"
    with client() as c, pytest.raises(BatchInterrupted):
        c.batches.run([line("a"), line("b"), line("c")], out, rpm=60_000, concurrency=4, grace=5)
    for thread in threading.enumerate():
        if thread.name == "grok-azure-batch":
            thread.join(5)
    sent = sorted(json.loads(call.request.content)["messages"][0]["content"] for call in mock_api.calls)
    written = sorted(json.loads(raw)["custom_id"] for raw in out.read_text().splitlines())
    assert "a" in sent
    assert "c" not in sent  # nothing starts after the stop
    assert written == sent  # a call sent before the stop had its grace period, wherever the Ctrl-C landed


async def test_a_cancelled_async_batch_writes_every_call_it_sent(
    tmp_path: Path, mock_api: respx.MockRouter
) -> None:
    started = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=completion_body("x"))

    mock_api.post(CHAT_URL).mock(side_effect=answer)
    out = tmp_path / "out.jsonl"
    async with aclient() as c:
        batch = asyncio.ensure_future(
            c.batches.run([line(f"id{i}") for i in range(8)], out, rpm=60_000, concurrency=8, grace=5)
        )
        await started.wait()  # a call is on the wire
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
    sent = sorted(json.loads(call.request.content)["messages"][0]["content"] for call in mock_api.calls)
    written = sorted(json.loads(raw)["custom_id"] for raw in out.read_text().splitlines())
    assert sent  # the call on the wire was sent...
    assert written == sent  # ...and every call that was sent was written within the grace period


def test_a_call_that_claims_its_send_after_the_stop_sends_nothing_and_runs_on_resume(tmp_path: Path) -> None:
    requests = list(read_requests([line("a"), line("b")]))
    store = ResultStore(tmp_path / "out.jsonl")
    try:
        run = BatchRun(
            requests,
            ["a", "b"],
            store,
            Pacer(rpm=60_000, concurrency=2, clock=count().__next__),
            concurrency=2,
        )
        first, second = [step for step in islice(run.steps(), 10) if isinstance(step, Start)][:2]
        assert run.claim(first)  # its thread came up before the Ctrl-C
        run.stop()
        assert not run.claim(second)  # its thread came up after: it must not send
        waiter = threading.Thread(target=run.wait_sending, args=(5,))
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive()  # the grace period waits for the claimed call...
        run.release(first)
        waiter.join(5)
        assert not waiter.is_alive()  # ...and ends as soon as it has
        assert run.progress().in_flight == 0  # neither is counted: both run on resume
    finally:
        store.close()


def _one_call_run(store: ResultStore) -> tuple[BatchRun, Start]:
    run = BatchRun(
        list(read_requests([line("a")])),
        ["a"],
        store,
        Pacer(rpm=60_000, concurrency=1, clock=count().__next__),
        concurrency=1,
    )
    step = next(step for step in run.steps() if isinstance(step, Start))
    return run, step


def test_a_call_whose_line_cannot_be_written_is_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ResultStore(tmp_path / "out.jsonl")
    try:
        run, step = _one_call_run(store)

        def disk_full(result: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(store, "write", disk_full)
        assert run.claim(step)
        with pytest.raises(OSError, match="No space left"):
            run.record(step, GrokError("the service said no"))  # its thread ends with this
        run.stop()
        waiter = threading.Thread(target=run.wait_sending, args=(60,))
        waiter.start()
        waiter.join(5)
        assert not waiter.is_alive()  # Ctrl-C's grace period does not wait for a call that is over
    finally:
        store.close()


def test_ctrl_c_neither_waits_behind_a_line_being_written_nor_holds_its_lock(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "out.jsonl")
    try:
        run, step = _one_call_run(store)
        writing, go_on = threading.Event(), threading.Event()
        real_write = store.write

        def slow_write(result: BatchResult) -> None:  # a slow fsync, under the run's lock
            writing.set()
            go_on.wait(10)
            real_write(result)

        store.write = slow_write  # type: ignore[method-assign]
        assert run.claim(step)
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                run.record(step, GrokError("a line to write"))
            except BaseException as exc:
                errors.append(exc)

        writer_thread = threading.Thread(target=writer)
        writer_thread.start()
        assert writing.wait(5)

        def ctrl_c() -> None:  # what the driver does; a second Ctrl-C may land anywhere in it
            run.stop()
            run.wait_sending(0.05)

        stopping = threading.Thread(target=ctrl_c)
        stopping.start()
        stopping.join(5)
        try:
            assert not stopping.is_alive()  # done while the line is still being written...
            assert run._lock.locked()  # ...whose lock it never took (nor could give back for the writer)
        finally:
            go_on.set()
            writer_thread.join(5)
        assert errors == []
        assert [
            BatchResult.from_line(raw).custom_id for raw in (tmp_path / "out.jsonl").read_text().splitlines()
        ] == ["a"]
    finally:
        store.close()
