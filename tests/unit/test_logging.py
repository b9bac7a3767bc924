"""The SDK's logging: one line per attempt, debug detail, content only when asked, no credential ever."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import subprocess
import sys
from typing import Any

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, GrokClient, RateLimitError, RetryPolicy, StreamInterruptedError

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES: list[Any] = [{"role": "user", "content": "my very private prompt"}]
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, rng=random.Random(1))
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
MODELS = {"grok-4": "grok-4"}


def ok() -> httpx.Response:
    return httpx.Response(
        200, json=completion_body("the private answer"), headers={"apim-request-id": "apim-1"}
    )


def busy() -> httpx.Response:
    return httpx.Response(503, json={"error": {"code": "503", "message": "busy"}})


def lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "grok_azure" and r.levelno == level]


def create(**kw: Any) -> str:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST, deployment_models=MODELS, **kw) as client:
        return client.chat.completions.create(model="grok-4", messages=MESSAGES).text


def test_one_info_line_per_attempt(mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=[busy(), ok()])
    caplog.set_level(logging.INFO, logger="grok_azure")
    create()
    request_id = route.calls[0].request.headers["x-ms-client-request-id"]
    first, second = lines(caplog)
    assert first.startswith("openai_v1 res.services.ai.azure.com -> 503 attempt=1 wait=0.00s duration=")
    assert f"request_id={request_id}" in first
    assert "apim-request-id=-" in first
    assert second.startswith("openai_v1 res.services.ai.azure.com -> 200 attempt=2 wait=0.00")
    assert second.endswith(f"request_id={request_id} apim-request-id=apim-1")
    assert len(lines(caplog)) == 2  # nothing else at INFO


def test_a_transport_failure_logs_its_error_type(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=[httpx.ConnectError("refused"), ok()])
    caplog.set_level(logging.INFO, logger="grok_azure")
    create()
    failed, served = lines(caplog)
    assert "-> APIConnectionError attempt=1" in failed
    assert "-> 200 attempt=2" in served


def test_the_async_client_logs_the_same_lines(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=[busy(), ok()])
    caplog.set_level(logging.INFO, logger="grok_azure")

    async def main() -> None:
        async with AsyncGrokClient(
            endpoint=ENDPOINT,
            api_key=KEY,
            retry=FAST,
            http_client=httpx.AsyncClient(),
            deployment_models=MODELS,
        ) as client:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)

    asyncio.run(main())
    assert [line.split(" attempt=")[0] for line in lines(caplog)] == [
        "openai_v1 res.services.ai.azure.com -> 503",
        "openai_v1 res.services.ai.azure.com -> 200",
    ]


def test_nothing_is_logged_below_the_configured_level(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    caplog.set_level(logging.WARNING, logger="grok_azure")
    create()
    assert [r for r in caplog.records if r.name.startswith("grok_azure")] == []


def test_debug_shows_headers_redacted_and_no_content(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GROK_AZURE_LOG_CONTENT", raising=False)
    mock_api.post(CHAT_URL).mock(side_effect=[httpx.Response(429, headers={"retry-after": "0"}), ok()])
    caplog.set_level(logging.DEBUG)
    create(default_headers={"X-Team-Token": "team-token-0123456789"})
    text = caplog.text
    assert "'x-ms-client-request-id'" in text
    assert "'api-key': '[redacted]'" in text
    assert "'x-team-token': '[redacted]'" in text
    assert "retry " in text
    assert "(RateLimitError): next attempt in" in text
    assert "completed after 2 attempt(s)" in text
    for secret in (KEY, "team-token-0123456789", "my very private prompt", "the private answer"):
        assert secret not in text


def test_content_is_logged_only_when_asked(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROK_AZURE_LOG_CONTENT", "true")
    mock_api.post(CHAT_URL).mock(return_value=ok())
    caplog.set_level(logging.DEBUG, logger="grok_azure")
    create()
    assert "my very private prompt" in caplog.text
    assert "completion=the private answer" in caplog.text
    assert KEY not in caplog.text


def test_a_failed_call_logs_each_attempt_and_no_key(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=httpx.Response(429, json={"error": {"message": f"bad {KEY}"}}))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RateLimitError):
        create(max_retries=1)
    assert len(lines(caplog)) == 2
    assert "RateLimitError after 2 attempt(s)" in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    "logger_name",
    ["httpx", "httpcore.http11", "httpcore.connection", "aiohttp.client", "grok_azure", "azure"],
)
def test_the_filter_scrubs_records_of_the_libraries_the_sdk_drives(
    logger_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    GrokClient(endpoint=ENDPOINT, api_key=KEY).close()  # the key is now known to the filter
    caplog.set_level(logging.DEBUG, logger=logger_name)
    log = logging.getLogger(logger_name)
    log.debug("sent %s with key %s", "headers", KEY)
    log.debug("Authorization: Bearer %s", TOKEN)
    log.debug("HTTP Request: POST https://x/chat?api-key=abcdefgh12345678&sig=zzzzzzzzzzzz&api-version=1")
    log.debug("[(b'api-key', b'%s')]", "some-other-key-value-123")
    text = caplog.text
    for secret in (KEY, TOKEN, "abcdefgh12345678", "zzzzzzzzzzzz", "some-other-key-value-123"):
        assert secret not in text
    assert "api-version=1" in text  # what is no secret stays readable
    assert text.count("[redacted]") >= 5


def test_a_short_key_does_not_mangle_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    GrokClient(endpoint=ENDPOINT, api_key="k").close()
    caplog.set_level(logging.INFO, logger="grok_azure")
    logging.getLogger("grok_azure").info("model=grok-4")
    assert "model=grok-4" in caplog.text


def test_the_debug_request_line_hides_a_secret_query_value(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    # A gateway that takes its key in the query string: the URL is logged without it.
    mock_api.post(url__startswith=CHAT_URL).mock(return_value=ok())
    caplog.set_level(logging.DEBUG)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=MODELS) as client:
        client.chat.completions.create(
            model="grok-4", messages=MESSAGES, extra_query={"subscription-key": "query-key-0123456789"}
        )
    assert "query-key-0123456789" not in caplog.text
    assert KEY not in caplog.text
    assert "?subscription-key=[redacted]" in caplog.text


def test_grok_azure_log_env_prints_lines_on_stderr(tmp_path: Any) -> None:
    script = tmp_path / "call.py"
    script.write_text(
        "import json, httpx, respx\n"
        "from grok_azure import GrokClient\n"
        f"body = json.loads({json.dumps(completion_body('hi'))!r})\n"
        "with respx.mock() as router:\n"
        f"    router.post({CHAT_URL!r}).mock(return_value=httpx.Response(200, json=body))\n"
        f"    with GrokClient(endpoint={ENDPOINT!r}, api_key={KEY!r}, deployment_models={{'grok-4': 'grok-4'}}) as c:\n"
        "        c.chat.completions.create(model='grok-4', messages=[{'role': 'user', 'content': 'x'}])\n"
    )
    env = {**os.environ, "GROK_AZURE_LOG": "debug"}
    env.pop("GROK_AZURE_LOG_CONTENT", None)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "grok_azure INFO openai_v1 res.services.ai.azure.com -> 200 attempt=1" in done.stderr
    assert "grok_azure DEBUG request " in done.stderr
    assert KEY not in done.stderr
    assert KEY not in done.stdout
    quiet = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k != "GROK_AZURE_LOG"},
        timeout=60,
        check=False,
    )
    assert quiet.returncode == 0
    assert "grok_azure" not in quiet.stderr


def test_module_loggers_below_a_guarded_one_are_scrubbed_too(caplog: pytest.LogCaptureFixture) -> None:
    # azure-identity logs under its module names; such a logger made before the client is guarded by it.
    module_logger = logging.getLogger("azure.identity._credentials.some_new_credential")
    GrokClient(endpoint=ENDPOINT, api_key=KEY).close()
    caplog.set_level(logging.DEBUG, logger=module_logger.name)
    module_logger.warning("token request failed: Authorization: Bearer %s key=%s", TOKEN, KEY)
    assert TOKEN not in caplog.text
    assert KEY not in caplog.text
    assert "token request failed" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer opaque-SECRET-5555-abcdefgh",
        "{'authorization': 'Bearer opaque-SECRET-5555-abcdefgh'}",
        "(b'authorization', b'Bearer opaque-SECRET-5555-abcdefgh')",
        "Authorization: Basic opaque-SECRET-5555-abcdefgh==",
        "api-key: opaque-SECRET-5555-abcdefgh",
        "[(b'api-key', b'opaque-SECRET-5555-abcdefgh')]",
    ],
)
def test_opaque_tokens_in_header_shapes_are_scrubbed_whole(text: str) -> None:
    from grok_azure._logging import redact

    clean = redact(text)
    assert "opaque" not in clean
    assert "SECRET" not in clean
    assert "5555" not in clean
    assert "[redacted]" in clean


def test_a_logged_exception_and_stack_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="azure.identity")
    log = logging.getLogger("azure.identity")
    try:
        raise RuntimeError(f"token endpoint said: Bearer opaque-SECRET-6666-abcdefgh and {TOKEN}")
    except RuntimeError:
        log.warning("get_token failed", exc_info=True, stack_info=True)
    text = caplog.text
    assert "get_token failed" in text
    assert "RuntimeError: token endpoint said: Bearer [redacted]" in text
    assert "opaque-SECRET-6666" not in text
    assert TOKEN not in text


def test_a_rotated_key_is_scrubbed_too(caplog: pytest.LogCaptureFixture) -> None:
    from azure.core.credentials import AzureKeyCredential

    credential = AzureKeyCredential("first-key-0123456789")
    client = GrokClient(endpoint=ENDPOINT, api_key=credential)
    credential.update("rotated-key-0123456789")
    caplog.set_level(logging.INFO, logger="grok_azure")
    logging.getLogger("grok_azure").info("saw rotated-key-0123456789 somewhere")
    client.close()
    assert "rotated-key-0123456789" not in caplog.text


def test_the_jwt_pattern_starts_only_at_a_token_boundary() -> None:
    # A run of "eyJ" is matched from its start only, not rescanned from each "eyJ" in it (quadratic before).
    from grok_azure._secrets import _JWT_RE

    text = "eyJ" * 2000 + ".abcdefgh" + " eyJhbGciOi.eyJzdWIi.sig"
    assert [m.start() for m in _JWT_RE.finditer(text)] == [0, 6010]


def test_a_stream_broken_after_its_first_chunk_logs_the_failure(caplog: pytest.LogCaptureFixture) -> None:
    import httpx as _httpx

    class Broken(_httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield b'data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"grok-4",'
            yield b'"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
            raise _httpx.ReadError("connection reset")

    caplog.set_level(logging.INFO, logger="grok_azure")
    with respx.mock() as router:
        router.post(CHAT_URL).mock(
            return_value=_httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Broken())
        )
        with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=MODELS) as client:
            stream = client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            with pytest.raises(StreamInterruptedError):
                for _ in stream:
                    pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "failed after 1 attempt(s): StreamInterruptedError" in warnings[0]
