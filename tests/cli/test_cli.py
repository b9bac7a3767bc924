"""The ``grok-azure`` command, run in-process with ``main([...])`` against Foundry emulators on 127.0.0.1."""

from __future__ import annotations

import io
import json
import sys
import time

import pytest
import respx

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentFilterError,
    CredentialError,
    GrokError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    StreamError,
    StreamInterruptedError,
)
from grok_azure._catalog import load_catalog
from grok_azure._cli import main
from grok_azure._cli_output import DIM, EXIT_CODES, RESET, exit_code
from grok_azure.testing import Fault, FoundryEmulator

from .conftest import KEY, Terminal

Capture = pytest.CaptureFixture[str]


# -- the exit-code table ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (ConfigurationError, 2),
        (AuthenticationError, 3),
        (PermissionDeniedError, 3),
        (CredentialError, 3),
        (NotFoundError, 4),
        (RateLimitError, 5),
        (APIConnectionError, 6),
        (APITimeoutError, 6),
        (BadRequestError, 7),
        (ContentFilterError, 7),
        (RequestValidationError, 7),
        (InternalServerError, 8),
        (StreamError, 9),
        (StreamInterruptedError, 9),  # a subclass of APIConnectionError, but its own class wins
        (GrokError, 1),
        (ValueError, 1),
    ],
)
def test_each_failure_class_has_its_exit_code(kind: type[BaseException], code: int) -> None:
    assert exit_code(kind) == code


def test_exit_code_table_and_help_epilog_agree(capsys: Capture) -> None:
    assert main(["--help"]) == 0
    help_text = capsys.readouterr().out
    for code in sorted(set(EXIT_CODES.values())):
        assert f"\n  {code} " in help_text


# -- usage --------------------------------------------------------------------------------------------------


def test_no_subcommand_prints_help_and_exits_2(capsys: Capture) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: Capture) -> None:
    assert main(["chat", "hi", "--no-such-option"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_invalid_timeout_is_a_usage_error(capsys: Capture) -> None:
    assert main(["chat", "hi", "--timeout", "-1"]) == 2
    assert "positive number of seconds" in capsys.readouterr().err


# -- chat against the embedded emulator ---------------------------------------------------------------------


def test_chat_without_endpoint_uses_embedded_emulator_and_says_so(capsys: Capture) -> None:
    assert main(["chat", "hello there"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Echo: hello there\n"
    assert "GROK_AZURE_ENDPOINT is not set: using an embedded Foundry emulator at http://127.0.0.1:" in (
        captured.err
    )


def test_chat_prompt_dash_reads_stdin(capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("from stdin"))
    assert main(["chat", "-", "--no-stream"]) == 0
    assert capsys.readouterr().out == "Echo: from stdin\n"


# -- chat against a configured endpoint ---------------------------------------------------------------------


def test_streamed_answer_is_written_piece_by_piece_and_flushed(
    configured: FoundryEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured.reply("one two three four")
    out = Terminal(tty=False)
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["chat", "count"]) == 0
    assert out.getvalue() == "one two three four\n"
    pieces = [call for call in out.calls if call is not None]
    assert pieces[:4] == ["one ", "two ", "three ", "four"]
    # every piece is flushed before the next one is written
    for index, call in enumerate(out.calls[:-1]):
        if call:
            assert out.calls[index + 1] is None
    assert configured.requests[-1].json["stream"] is True


def test_no_stream_sends_one_plain_request(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["chat", "hi", "--no-stream"]) == 0
    assert capsys.readouterr().out == "Echo: hi\n"
    assert not configured.requests[-1].json.get("stream")


def test_chat_sends_system_message_and_parameters(configured: FoundryEmulator, capsys: Capture) -> None:
    argv = ["chat", "hi", "--system", "be brief", "--max-tokens", "50", "--temperature", "0.2"]
    assert main([*argv, "--reasoning-effort", "low", "--model", "my-grok"]) == 0
    body = configured.requests[-1].json
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert (body["max_tokens"], body["temperature"], body["reasoning_effort"]) == (50, 0.2, "low")
    assert body["model"] == "my-grok"


def test_route_option_selects_the_models_route(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["chat", "hi", "--route", "model_inference"]) == 0
    assert configured.requests[-1].path == "/models/chat/completions"
    assert capsys.readouterr().out == "Echo: hi\n"


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_json_prints_the_final_completion(configured: FoundryEmulator, capsys: Capture, stream: str) -> None:
    assert main(["chat", "hi", "--json", stream]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["object"] == "chat.completion"
    assert document["choices"][0]["message"]["content"] == "Echo: hi"
    assert document["model"] == "grok-4.7"
    assert document["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_show_reasoning_prints_it_before_the_answer_without_ansi_off_a_tty(
    configured: FoundryEmulator, capsys: Capture, stream: str
) -> None:
    configured.reply("The answer", reasoning="Thinking hard")
    assert main(["chat", "q", "--show-reasoning", stream]) == 0
    out = capsys.readouterr().out
    assert out == "Thinking hard\n\nThe answer\n"
    assert "\x1b" not in out


def test_reasoning_is_not_printed_without_the_flag(configured: FoundryEmulator, capsys: Capture) -> None:
    configured.reply("The answer", reasoning="Thinking hard")
    assert main(["chat", "q"]) == 0
    assert capsys.readouterr().out == "The answer\n"


def test_reasoning_is_dimmed_on_a_tty(configured: FoundryEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    configured.reply("The answer", reasoning="Thinking hard")
    out = Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["chat", "q", "--show-reasoning"]) == 0
    assert out.getvalue() == f"{DIM}Thinking hard{RESET}\n\nThe answer\n"


def test_no_color_disables_dimming_on_a_tty(
    configured: FoundryEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured.reply("The answer", reasoning="Thinking hard")
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["chat", "q", "--show-reasoning"]) == 0
    assert out.getvalue() == "Thinking hard\n\nThe answer\n"


def test_verbose_reports_target_and_usage_on_stderr_without_the_key(
    configured: FoundryEmulator, capsys: Capture
) -> None:
    assert main(["chat", "hi", "-v"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Echo: hi\n"
    assert "deployment my-grok, auth API key" in captured.err
    assert "usage: " in captured.err
    assert "tokens" in captured.err
    assert KEY not in captured.err + captured.out


def test_answer_cut_at_max_tokens_exits_0_with_a_note(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["chat", "a rather long prompt to echo back", "--max-tokens", "1"]) == 0
    assert "finish_reason=length" in capsys.readouterr().err


# -- chat failures and their exit codes ---------------------------------------------------------------------


def test_endpoint_without_deployment_exits_2(
    configured: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.delenv("GROK_AZURE_DEPLOYMENT")
    assert main(["chat", "hi"]) == 2
    assert "GROK_AZURE_DEPLOYMENT" in capsys.readouterr().err


def test_plain_http_endpoint_off_loopback_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", "http://example.com")
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    assert main(["chat", "hi", "--model", "d"]) == 2
    assert "Refusing plain http://" in capsys.readouterr().err


def test_wrong_key_exits_3_without_printing_it(
    configured: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("GROK_AZURE_API_KEY", "wrong-key-0123456789")
    assert main(["chat", "hi"]) == 3
    captured = capsys.readouterr()
    assert "GROK_AZURE_API_KEY" in captured.err
    assert "wrong-key-0123456789" not in captured.err + captured.out


def test_unknown_deployment_exits_4_and_names_it(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["chat", "hi", "--model", "nope"]) == 4
    err = capsys.readouterr().err
    assert "DeploymentNotFound" in err
    assert "no deployment named 'nope'" in err


def test_rate_limit_exits_5_with_retry_after(configured: FoundryEmulator, capsys: Capture) -> None:
    # Longer than RetryPolicy.max_server_wait (60 s): the client gives up at once instead of waiting.
    configured.fault(Fault.rate_limited(retry_after=90))
    assert main(["chat", "hi"]) == 5
    assert "retry after 90 s" in capsys.readouterr().err


def test_unreachable_port_exits_6(monkeypatch: pytest.MonkeyPatch, capsys: Capture, closed_port: int) -> None:
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    assert main(["chat", "hi", "--model", "d"]) == 6
    assert "could not connect to 127.0.0.1" in capsys.readouterr().err


def test_timeout_exits_6(configured: FoundryEmulator, capsys: Capture) -> None:
    configured.fault(Fault.slow_first_byte(2.0), times=3)  # the first try and both retries
    assert main(["chat", "hi", "--timeout", "0.2"]) == 6
    assert "timed out" in capsys.readouterr().err
    # The emulator records each slow attempt when its 2 s are up, after the client gave up: let them land here, not
    # in the next test's emulator log (a test asserting that nothing was sent saw one of them).
    deadline = time.monotonic() + 10.0  # bounds the wait only; nothing asserts how long it took
    while len(configured.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)


def test_content_filter_exits_7_naming_the_category(configured: FoundryEmulator, capsys: Capture) -> None:
    configured.fault(Fault.content_filter())
    assert main(["chat", "hi"]) == 7
    assert "violence" in capsys.readouterr().err


def test_answer_cut_by_content_filter_exits_7(configured: FoundryEmulator, capsys: Capture) -> None:
    configured.fault(Fault.filtered_completion())
    assert main(["chat", "one two three four"]) == 7
    assert "finish_reason=content_filter" in capsys.readouterr().err


def test_effort_the_model_rejects_exits_7(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["chat", "hi", "--reasoning-effort", "bogus"]) == 7
    assert "reasoning_effort" in capsys.readouterr().err


def test_invalid_parameter_exits_7_before_sending(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["chat", "hi", "--temperature", "5"]) == 7
    assert "temperature" in capsys.readouterr().err
    assert configured.requests == []


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_exits_8(configured: FoundryEmulator, capsys: Capture, status: int) -> None:
    configured.fault(Fault.server_error(status), times=3)  # the first try and both retries
    assert main(["chat", "hi"]) == 8
    assert str(status) in capsys.readouterr().err


def test_dropped_stream_exits_9_after_printing_what_arrived(
    configured: FoundryEmulator, capsys: Capture
) -> None:
    configured.reply("one two three four five six")
    configured.fault(Fault.drop(after_chunks=3))
    assert main(["chat", "q"]) == 9
    captured = capsys.readouterr()
    assert captured.out == "one two \n"
    assert "connection dropped" in captured.err


def test_error_event_mid_stream_exits_9(configured: FoundryEmulator, capsys: Capture) -> None:
    configured.fault(Fault.error_event(after_chunks=2, code="server_error", message="boom"))
    assert main(["chat", "hi there"]) == 9
    assert "boom" in capsys.readouterr().err


def test_permission_denied_exits_3_and_names_the_role(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", "https://localhost")
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    body = {
        "error": {"code": "PermissionDenied", "message": "Principal does not have access to API/Operation."}
    }
    with respx.mock(assert_all_called=True) as mock:
        mock.post("https://localhost/openai/v1/chat/completions").respond(403, json=body)
        assert main(["chat", "hi", "--model", "d", "--no-stream"]) == 3
    assert "Cognitive Services User" in capsys.readouterr().err


def test_404_for_a_wrong_path_points_at_the_url_not_the_deployment(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", "https://localhost/gateway")
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    body = {"error": {"code": "404", "message": "Resource not found"}}
    with respx.mock(assert_all_called=True) as mock:
        mock.post("https://localhost/gateway/chat/completions").respond(404, json=body)
        assert main(["chat", "hi", "--model", "d", "--no-stream", "--route", "openai_v1"]) == 4
    err = capsys.readouterr().err
    assert "check the endpoint URL and the route" in err
    assert "no deployment named" not in err


# -- models -------------------------------------------------------------------------------------------------


def test_models_lists_every_catalog_model_with_status(capsys: Capture) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("grok")}
    assert set(rows) == {spec.id for spec in load_catalog().models}
    assert "retired 2026-05-01 -> grok-4 " in rows["grok-3"]
    assert " GA " in rows["grok-4.7"]
    assert "low/medium/high/xhigh, default high" in rows["grok-4.7"]
    assert "$2.00 / $6.00 *" in rows["grok-4.7"]  # no Azure meter confirms it
    assert "$3.00 / $15.00 *" not in rows["grok-3"]  # confirmed by a meter
    assert "* unconfirmed" in out


def test_models_json_is_the_catalog(capsys: Capture) -> None:
    assert main(["models", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    by_id = {model["id"]: model for model in document["models"]}
    assert list(by_id) == [spec.id for spec in load_catalog().models]
    assert by_id["grok-3"]["status"] == "retired"
    assert by_id["grok-3"]["replacement"] == "grok-4"
    assert by_id["grok-3"]["price_per_1m"]["confirmed"] is True
    assert by_id["grok-4.7"]["effort_values"] == ["low", "medium", "high", "xhigh"]
    assert by_id["grok-4.7"]["max_output_tokens"] is None
