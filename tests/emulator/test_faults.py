"""Injected faults: throttling, server errors, content filtering, slow, stalled, dropped and broken streams."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from grok_azure.testing import Fault, FoundryEmulator

from .conftest import MODELS_PATH, accumulate, chat, sse_events, summarize, user


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_rate_limited_answers_azure_429_with_retry_after_seconds(
    emu: FoundryEmulator, http: httpx.Client, route: str
) -> None:
    emu.fault(Fault.rate_limited(retry_after=1.5))
    response = chat(http, route)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert "retry-after-ms" not in response.headers
    error = response.json()["error"]
    assert error["code"] == "429"
    assert "have exceeded token rate limit" in error["message"]
    assert "Please retry after 2 seconds" in error["message"]
    if route == "model_inference":
        assert "API version 2025-05-01" in error["message"]


@pytest.mark.parametrize("header", ["retry-after-ms", "x-ms-retry-after-ms"])
def test_rate_limited_can_send_a_millisecond_header_instead(
    emu: FoundryEmulator, http: httpx.Client, header: str
) -> None:
    emu.fault(Fault.rate_limited(retry_after=1.5, header=header))  # type: ignore[arg-type]
    response = chat(http)
    assert response.headers[header] == "1500"
    assert "retry-after" not in response.headers


def test_rate_limited_without_any_retry_header(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.rate_limited(header=None))
    response = chat(http)
    assert response.status_code == 429
    assert not any("retry-after" in name for name in response.headers)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_answers_json_with_that_status(
    emu: FoundryEmulator, http: httpx.Client, status: int
) -> None:
    emu.fault(Fault.server_error(status))
    response = chat(http)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()["error"]) == {"code", "message"}


def test_html_server_error_looks_like_a_gateway_page(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.server_error(502, html=True))
    response = chat(http)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in response.text


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_content_filter_answers_the_wrapped_400_with_categories(
    emu: FoundryEmulator, http: httpx.Client, route: str
) -> None:
    emu.fault(Fault.content_filter())
    response = chat(http, route)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["status"]) == ("content_filter", "prompt", 400)
    assert error["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    result = error["innererror"]["content_filter_result"]
    assert set(result) == {"hate", "jailbreak", "self_harm", "sexual", "violence"}
    assert result["violence"]["filtered"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_filtered_completion_ends_with_content_filter_in_both_forms(
    emu: FoundryEmulator, http: httpx.Client, stream: bool
) -> None:
    emu.fault(Fault.filtered_completion())
    response = chat(http, messages=user("one two three four"), stream=stream)
    assert response.status_code == 200
    if stream:
        events = sse_events(response)
        summary = accumulate(events)
        filters = events[-2]["choices"][0]["content_filter_results"]
    else:
        summary = summarize(response.json())
        filters = response.json()["choices"][0]["content_filter_results"]
    assert summary["finish_reason"] == "content_filter"
    assert summary["content"] == "Echo: one "
    assert filters["violence"] == {"filtered": True, "severity": "high"}


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_context_length_fault_answers_context_length_exceeded(
    emu: FoundryEmulator, http: httpx.Client, route: str
) -> None:
    emu.fault(Fault.context_length())
    response = chat(http, route)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"


def test_faults_answer_before_validation(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.server_error(503))
    assert chat(http, temperature=99).status_code == 503


def test_faults_need_a_known_deployment_first(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.server_error(500))
    assert chat(http, model="nope").status_code == 404
    assert chat(http).status_code == 500


def test_fault_times_and_deployment_scope(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.server_error(503), times=2, deployment="grok4")
    assert chat(http, model="fast").status_code == 200
    assert [chat(http, model="grok4").status_code for _ in range(3)] == [503, 503, 200]


def test_fault_then_script_applies_the_script_to_the_next_successful_answer(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.fault(Fault.rate_limited())
    emu.reply("after the retry")
    assert chat(http).status_code == 429
    assert chat(http).json()["choices"][0]["message"]["content"] == "after the retry"


def test_slow_first_byte_still_answers(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.slow_first_byte(0.05))
    assert chat(http).json()["choices"][0]["message"]["content"] == "Echo: hello there"


def test_slow_first_byte_trips_a_short_read_timeout(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.slow_first_byte(5))
    with pytest.raises(httpx.ReadTimeout):
        http.post("/openai/v1/chat/completions", json={"model": "fast", "messages": user()}, timeout=0.2)


def test_stall_pauses_a_stream_which_then_completes(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.stall(after_chunks=2, seconds=0.05))
    events = sse_events(chat(http, stream=True))
    assert events[-1] == "[DONE]"
    assert accumulate(events)["content"] == "Echo: hello there"


def test_stall_mid_stream_trips_a_read_timeout_after_the_first_events(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.fault(Fault.stall(after_chunks=2, seconds=5))
    received = bytearray()
    with pytest.raises(httpx.ReadTimeout):
        drain(http, received, timeout=0.5)
    assert received.count(b"data: ") == 2


def test_stall_on_a_non_streamed_request_pauses_mid_body(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.stall(after_chunks=0, seconds=0.05))
    response = chat(http)
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hello there"


@pytest.mark.parametrize("after", [0, 1, 3, 100])
def test_drop_cuts_the_stream_without_done(emu: FoundryEmulator, http: httpx.Client, after: int) -> None:
    emu.fault(Fault.drop(after_chunks=after))
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        drain(http, received)
    assert b"[DONE]" not in received
    total = len(sse_events(chat(http, stream=True))) - 1  # events of an intact stream, without [DONE]
    assert received.count(b"data: ") == min(after, total)


def test_drop_on_a_non_streamed_request_cuts_the_body(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.drop(after_chunks=0))
    with pytest.raises(httpx.RemoteProtocolError):
        chat(http)
    assert chat(http).status_code == 200  # the emulator keeps serving


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_error_event_sends_an_error_payload_then_ends_without_done(
    emu: FoundryEmulator, http: httpx.Client, route: str
) -> None:
    emu.fault(Fault.error_event(after_chunks=2, code="overloaded", message="try later"))
    events = sse_events(chat(http, route, stream=True))
    assert len(events) == 3
    assert events[-1] == {
        "error": {"code": "overloaded", "message": "try later", "param": None, "type": None}
    }
    assert "[DONE]" not in events


def test_error_event_on_a_non_streamed_request_is_a_500(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.error_event(after_chunks=1))
    response = chat(http)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"


def drain(http: httpx.Client, received: bytearray, timeout: float = 10) -> None:
    """Read a streamed chat answer into ``received`` until it ends or fails."""
    body = {"model": "fast", "messages": user(), "stream": True}
    with http.stream("POST", "/openai/v1/chat/completions", json=body, timeout=timeout) as response:
        for chunk in response.iter_raw():
            received += chunk


def statuses(emu: FoundryEmulator, count: int) -> list[int]:
    with httpx.Client(base_url=emu.url, headers={"api-key": "k"}) as client:
        body: dict[str, Any] = {"model": "d", "messages": user()}
        return [client.post("/openai/v1/chat/completions", json=body).status_code for _ in range(count)]


def test_random_faults_are_deterministic_for_a_seed() -> None:
    runs = []
    for _ in range(2):
        with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, fault_rate=0.5, seed=7) as emu:
            runs.append(statuses(emu, 40))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 408, 429, 500, 503}
    assert 8 <= runs[0].count(200) <= 32


def test_random_faults_replay_after_reset() -> None:
    with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, fault_rate=0.5, seed=3) as emu:
        first = statuses(emu, 20)
        emu.reset()
        assert statuses(emu, 20) == first


@pytest.mark.parametrize(("rate", "expected"), [(0.0, {200}), (1.0, {408, 429, 500, 503})])
def test_fault_rate_bounds(rate: float, expected: set[int]) -> None:
    with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, fault_rate=rate, seed=1) as emu:
        assert set(statuses(emu, 30)) == expected


def test_random_faults_do_not_touch_other_routes() -> None:
    with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, fault_rate=1.0, seed=1) as emu:
        assert httpx.get(emu.url + "/openai/v1/models", headers={"api-key": "k"}).status_code == 200
        info = httpx.get(emu.url + "/models/info?api-version=2025-05-01", headers={"api-key": "k"})
        assert info.status_code == 200


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Fault.rate_limited(retry_after=-1), "retry_after"),
        (lambda: Fault.rate_limited(header="x-retry"), "header"),
        (lambda: Fault.server_error(501), "status"),
        (lambda: Fault.slow_first_byte(-0.5), "seconds"),
        (lambda: Fault.stall(-1, 1), "after_chunks"),
        (lambda: Fault.drop(-2), "after_chunks"),
        (lambda: Fault.rate_limited(counters="empty"), "counters"),
    ],
)
def test_invalid_fault_arguments_are_rejected(factory: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        factory()


def test_models_route_429_body_is_json(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.rate_limited())
    response = http.post(MODELS_PATH, json={"model": "fast", "messages": user()})
    assert json.loads(response.content)["error"]["code"] == "429"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"


@pytest.mark.parametrize(
    ("header", "limit", "policy"),
    [
        ("x-ratelimit-reset-tokens", "token rate limit", "DeploymentRatelimit-Token"),
        ("x-ratelimit-reset-requests", "call rate limit", "DeploymentRatelimit-Call"),
    ],
)
def test_rate_limited_with_only_a_reset_header_and_a_policy_id(
    emu: FoundryEmulator, http: httpx.Client, header: str, limit: str, policy: str
) -> None:
    emu.fault(Fault.rate_limited(retry_after=1.5, header=header))  # type: ignore[arg-type]
    response = chat(http)
    assert response.status_code == 429
    assert response.headers[header] == "2"
    assert response.headers["policy-id"] == policy
    assert not any("retry-after" in name for name in response.headers)
    other = "x-ratelimit-reset-requests" if header.endswith("tokens") else "x-ratelimit-reset-tokens"
    assert other not in response.headers
    message = response.json()["error"]["message"]
    assert f"have exceeded {limit} of your current" in message
    assert "Please retry after 2 seconds" in message


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_request_timeout_answers_azure_408(emu: FoundryEmulator, http: httpx.Client, route: str) -> None:
    emu.fault(Fault.request_timeout())
    response = chat(http, route)
    assert response.status_code == 408
    assert response.headers["content-type"] == "application/json"
    # /models declares x-ms-error-code; errors on /openai/v1 were recorded without it.
    assert response.headers.get("x-ms-error-code") == (None if route == "openai_v1" else "Timeout")
    assert response.json() == {"error": {"code": "Timeout", "message": "The operation was timeout."}}
    assert emu.requests[-1].status == 408


def test_request_timeout_can_wait_before_answering(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.request_timeout(seconds=0.05))
    assert chat(http).status_code == 408
    assert chat(http).status_code == 200  # used once


def test_request_timeout_rejects_a_negative_wait() -> None:
    with pytest.raises(ValueError, match="seconds"):
        Fault.request_timeout(seconds=-1)


def test_random_faults_include_408_and_every_429_header_form() -> None:
    forms = {"retry-after", "retry-after-ms", "x-ms-retry-after-ms", "x-ratelimit-reset-requests"}
    forms.add("x-ratelimit-reset-tokens")
    with (
        FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, fault_rate=1.0, seed=11) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": "k"}) as client,
    ):
        body: dict[str, Any] = {"model": "d", "messages": user()}
        replies = [client.post("/openai/v1/chat/completions", json=body) for _ in range(80)]
    assert {r.status_code for r in replies} == {408, 429, 500, 503}
    seen = {name for r in replies if r.status_code == 429 for name in r.headers if name in forms}
    assert seen == forms
    # Each random 429 carries exactly one of the forms.
    assert all(sum(name in forms for name in r.headers) == 1 for r in replies if r.status_code == 429)


# -- Azure's placeholder counters: -1 / 0 instead of a quota reading ------------------------------------------


@pytest.mark.parametrize(("counters", "remaining"), [("unknown", "-1"), ("zero", "0")])
def test_rate_limited_with_placeholder_counters_and_no_hint_at_all(
    emu: FoundryEmulator, http: httpx.Client, counters: str, remaining: str
) -> None:
    emu.fault(Fault.rate_limited(header=None, counters=counters))  # type: ignore[arg-type]
    response = chat(http)
    assert response.status_code == 429
    limits = {name: value for name, value in response.headers.items() if name.startswith("x-ratelimit-")}
    assert limits == {
        "x-ratelimit-limit-requests": "0",
        "x-ratelimit-limit-tokens": "0",
        "x-ratelimit-remaining-requests": remaining,
        "x-ratelimit-remaining-tokens": remaining,
        "x-ratelimit-reset-requests": "0",
        "x-ratelimit-reset-tokens": "0",
    }
    assert not any("retry-after" in name for name in response.headers)
    assert response.json()["error"]["code"] == "429"


def test_placeholder_counters_with_only_a_reset_header(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.fault(Fault.rate_limited(retry_after=1.5, header="x-ratelimit-reset-tokens", counters="unknown"))
    response = chat(http)
    assert response.status_code == 429
    assert response.headers["x-ratelimit-reset-tokens"] == "2"  # the hint replaces that placeholder
    assert response.headers["x-ratelimit-reset-requests"] == "0"
    assert response.headers["x-ratelimit-remaining-tokens"] == "-1"
    assert response.headers["policy-id"] == "DeploymentRatelimit-Token"
    assert not any("retry-after" in name for name in response.headers)


def test_placeholder_counters_keep_a_retry_header_when_asked(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.fault(Fault.rate_limited(retry_after=0.25, header="retry-after-ms", counters="zero"))
    response = chat(http)
    assert response.headers["retry-after-ms"] == "250"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.headers["x-ratelimit-limit-requests"] == "0"


@pytest.mark.parametrize(("counters", "remaining"), [("unknown", "-1"), ("zero", "0")])
def test_emulator_can_report_placeholder_counters_on_every_reply(counters: str, remaining: str) -> None:
    options: dict[str, Any] = {"rate_limit_counters": counters, "rpm": 60}  # one request per 1 s window
    with (
        FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, **options) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": "k"}) as client,
    ):
        body: dict[str, Any] = {"model": "d", "messages": user()}
        replies = [client.post("/openai/v1/chat/completions", json=body) for _ in range(2)]
    statuses = [r.status_code for r in replies]
    # The quota is still enforced (unless the two requests straddled a window edge), only not reported.
    assert statuses in ([200, 429], [200, 200])
    for reply in replies:
        assert reply.headers["x-ratelimit-remaining-requests"] == remaining
        assert reply.headers["x-ratelimit-remaining-tokens"] == remaining
        assert reply.headers["x-ratelimit-limit-tokens"] == "0"
        assert reply.headers["x-ratelimit-reset-requests"] == "0"
        assert not any("retry-after" in name for name in reply.headers)


def test_emulator_rejects_an_unknown_counter_report() -> None:
    with pytest.raises(ValueError, match="counters"):
        FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, rate_limit_counters="hidden")  # type: ignore[arg-type]


def test_rate_limited_can_send_retry_after_as_an_http_date(emu: FoundryEmulator, http: httpx.Client) -> None:
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    emu.fault(Fault.rate_limited(retry_after=2, header="retry-after-date"))
    before = datetime.now(timezone.utc)
    response = chat(http)
    assert response.status_code == 429
    when = parsedate_to_datetime(response.headers["retry-after"])
    assert response.headers["retry-after"].endswith(" GMT")
    assert 1.0 <= (when - before).total_seconds() <= 2.0  # whole seconds: up to one second is cut off
    assert "retry-after-ms" not in response.headers
