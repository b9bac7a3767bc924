"""Error responses map to the right exception, with useful text and no credentials anywhere."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_azure._error_mapping import error_from_event, make_status_error, status_error_from_response
from grok_azure._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentFilterError,
    ContextLengthExceededError,
    GrokError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    StreamError,
    StreamInterruptedError,
    UnprocessableEntityError,
)
from grok_azure.types import ChatCompletion

FIXTURES = Path(__file__).parent.parent / "fixtures"
BODIES: dict[str, str] = json.loads((FIXTURES / "azure_error_bodies.json").read_text())["bodies"]
KEY = "sk-test-SECRET-key-0123456789"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.secret-token-part"
URL = "https://res.services.ai.azure.com/models/chat/completions?api-version=2025-04-01"


def _error(status: int, body: bytes | str = b"", headers: dict[str, str] | None = None) -> APIStatusError:
    raw = body.encode() if isinstance(body, str) else body
    return make_status_error(status, httpx.Headers(headers or {}), raw)


def _secret_request(url: str = URL) -> httpx.Request:
    return httpx.Request(
        "POST", url, headers={"api-key": KEY, "Authorization": f"Bearer {TOKEN}"}, json={"messages": []}
    )


# --- status -> class -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, APIStatusError),
        (408, APIStatusError),
        (409, ConflictError),
        (413, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (431, APIStatusError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
    ],
)
def test_status_picks_exception_class(status: int, expected: type[APIStatusError]) -> None:
    exc = _error(status, json.dumps({"error": {"code": "X", "message": "m"}}))
    assert type(exc) is expected
    assert exc.status_code == status


def test_every_status_error_is_a_grok_error() -> None:
    exc = _error(418)
    assert isinstance(exc, APIStatusError)
    assert isinstance(exc, APIError)
    assert isinstance(exc, GrokError)


# --- body forms ------------------------------------------------------------------------------------


def test_wrapped_azure_body_gives_code_and_message() -> None:
    exc = _error(404, BODIES["deployment_not_found_404"])
    assert exc.code == "DeploymentNotFound"
    assert exc.message == "The API deployment for this resource does not exist."
    assert exc.body == json.loads(BODIES["deployment_not_found_404"])


def test_unwrapped_model_inference_body_gives_code_and_message() -> None:
    exc = _error(422, BODIES["unprocessable_422"])
    assert type(exc) is UnprocessableEntityError
    assert exc.code == "parameter_not_supported"
    assert exc.message == "One of the parameters contain invalid values."
    assert isinstance(exc.body, dict)
    assert exc.body["detail"]["loc"] == ["body", "response_format"]


def test_openai_style_body_keeps_param() -> None:
    body = {
        "error": {
            "message": "bad temp",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": None,
        }
    }
    exc = _error(400, json.dumps(body))
    assert exc.message == "bad temp"
    assert exc.param == "temperature"
    assert exc.code is None


def test_string_error_body_is_the_message() -> None:
    exc = _error(401, '{"error": "Unauthorized. Access token is missing, invalid, audience is incorrect."}')
    assert type(exc) is AuthenticationError
    assert exc.message.startswith("Unauthorized. Access token is missing")


def test_detail_string_is_used_when_there_is_no_message() -> None:
    assert _error(400, '{"detail": "Invalid api-version"}').message == "Invalid api-version"


def test_bare_json_string_body_is_the_message() -> None:
    assert _error(403, '"Principal does not have access to API/Operation."').message == (
        "Principal does not have access to API/Operation."
    )


def test_json_list_body_falls_back_to_status_phrase() -> None:
    exc = _error(409, "[1, 2]")
    assert exc.message == "Conflict"
    assert exc.body == [1, 2]


def test_empty_body_uses_status_phrase() -> None:
    exc = _error(503)
    assert exc.message == "Service Unavailable"
    assert exc.body is None
    assert str(exc) == "Error code: 503 - Service Unavailable"


def test_empty_body_with_unknown_status_still_has_a_message() -> None:
    assert _error(599).message == "HTTP status 599"


def test_html_gateway_page_becomes_short_plain_excerpt() -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head>"
        "<body>\n  <center><h1>502   Bad\n Gateway</h1></center><hr>"
        "<center>nginx &amp; co</center></body></html>"
    )
    exc = _error(502, page)
    assert exc.message == "502 Bad Gateway nginx & co"
    assert "<" not in str(exc)


def test_long_html_page_is_truncated() -> None:
    page = "<html><body>" + "<p>overloaded upstream</p>" * 500 + "</body></html>"
    exc = _error(502, page)
    assert len(exc.message) <= 201
    assert exc.message.endswith("…")
    assert len(str(exc)) < 260


def test_invalid_utf8_body_does_not_crash() -> None:
    exc = _error(500, b"\xff\xfe oops")
    assert "oops" in exc.message


# --- headers ---------------------------------------------------------------------------------------


def test_apim_request_id_wins_over_others() -> None:
    headers = {"x-ms-request-id": "ms", "x-request-id": "xr", "apim-request-id": "apim"}
    assert _error(500, headers=headers).request_id == "apim"


def test_x_request_id_wins_over_x_ms_request_id() -> None:
    assert _error(500, headers={"x-ms-request-id": "ms", "X-Request-ID": "xr"}).request_id == "xr"


def test_x_ms_request_id_is_last_resort() -> None:
    assert _error(500, headers={"x-ms-request-id": "ms"}).request_id == "ms"


def test_no_request_id_header_gives_none() -> None:
    exc = _error(500)
    assert exc.request_id is None
    assert "request id" not in str(exc)


def test_code_falls_back_to_error_code_header() -> None:
    assert _error(503, headers={"x-ms-error-code": "ServiceUnavailable"}).code == "ServiceUnavailable"


def test_body_code_wins_over_error_code_header() -> None:
    exc = _error(404, BODIES["deployment_not_found_404"], {"x-ms-error-code": "Other"})
    assert exc.code == "DeploymentNotFound"


def test_headers_are_kept_case_insensitively() -> None:
    assert _error(500, headers={"X-Ms-Region": "eastus"}).headers["x-ms-region"] == "eastus"


# --- str / repr ------------------------------------------------------------------------------------


def test_str_has_status_code_message_and_request_id() -> None:
    body = {"error": {"code": "RateLimitExceeded", "message": "Requests to the deployment are throttled."}}
    exc = _error(429, json.dumps(body), {"apim-request-id": "abc"})
    assert str(exc) == (
        "Error code: 429 - RateLimitExceeded: Requests to the deployment are throttled. (request id: abc)"
    )


def test_str_omits_code_that_only_repeats_the_status() -> None:
    exc = _error(404, '{"error":{"code":"404","message": "Resource not found"}}')
    assert str(exc) == "Error code: 404 - Resource not found"


def test_repr_is_short_and_names_the_class() -> None:
    exc = _error(404, BODIES["deployment_not_found_404"], {"x-request-id": "r1"})
    assert repr(exc) == (
        "NotFoundError(status_code=404, code='DeploymentNotFound', "
        "message='The API deployment for this resource does not exist.', request_id='r1')"
    )


# --- rate limits -----------------------------------------------------------------------------------


def test_rate_limit_reads_retry_after_header() -> None:
    exc = _error(429, BODIES["rate_limit_429"], {"retry-after-ms": "1500", "retry-after": "60"})
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == 1.5


def test_rate_limit_falls_back_to_retry_hint_in_message() -> None:
    exc = _error(429, BODIES["rate_limit_429"])
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == 60.0


def test_rate_limit_without_any_hint_has_no_retry_after() -> None:
    exc = _error(429, '{"error": {"code": "429", "message": "Too many requests"}}')
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after is None


# --- content filter --------------------------------------------------------------------------------


def test_unwrapped_content_filter_body_maps_to_content_filter_error() -> None:
    exc = _error(400, BODIES["content_filter_400_unwrapped"])
    assert isinstance(exc, ContentFilterError)
    assert isinstance(exc, BadRequestError)
    assert exc.param == "messages"
    assert exc.filter_results is None
    assert exc.filtered_categories == []


def test_innererror_content_filter_results_are_parsed() -> None:
    exc = _error(400, BODIES["content_filter_400_innererror"])
    assert isinstance(exc, ContentFilterError)
    assert exc.filtered_categories == ["hate", "self_harm", "violence"]
    assert exc.filter_results is not None
    assert exc.filter_results.violence is not None
    assert exc.filter_results.violence.severity == "medium"


def test_innererror_policy_code_alone_means_content_filter() -> None:
    body = {
        "error": {
            "code": "BadRequest",
            "message": "blocked",
            "innererror": {"code": "ResponsibleAIPolicyViolation"},
        }
    }
    assert isinstance(_error(400, json.dumps(body)), ContentFilterError)


def test_malformed_filter_results_still_give_content_filter_error() -> None:
    body = {
        "error": {
            "code": "content_filter",
            "message": "x",
            "innererror": {"content_filter_result": {"hate": 3}},
        }
    }
    exc = _error(400, json.dumps(body))
    assert isinstance(exc, ContentFilterError)
    assert exc.filter_results is None


def test_content_filter_code_on_other_status_keeps_status_class() -> None:
    assert type(_error(422, '{"code": "content_filter", "message": "x"}')) is UnprocessableEntityError


# --- context length --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": "context_length_exceeded", "message": "Too long."}},
        {
            "error": {
                "code": "invalid_request_error",
                "message": "This model's maximum context length is 8192.",
            }
        },
        {
            "error": {
                "message": "This model's maximum prompt length is 131072 but the request contains 200000."
            }
        },
        {"status": 400, "code": "bad", "message": "Input exceeds the context window of the model."},
    ],
)
def test_context_length_errors_are_recognised(body: dict[str, Any]) -> None:
    assert isinstance(_error(400, json.dumps(body)), ContextLengthExceededError)


def test_unrelated_bad_request_is_not_context_length() -> None:
    exc = _error(400, '{"error": {"code": "invalid_value", "message": "max_tokens must be positive"}}')
    assert type(exc) is BadRequestError


def test_context_length_wording_on_413_stays_generic() -> None:
    assert type(_error(413, '{"message": "maximum context length exceeded"}')) is APIStatusError


# --- secrets ---------------------------------------------------------------------------------------


def _all_text(exc: APIStatusError) -> str:
    parts = [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
    for request in (exc.request, exc.response.request if exc.response is not None else None):
        assert request is not None
        parts += [str(request.url), repr(request.headers.raw)]
    return "\n".join(parts)


def test_credentials_never_appear_in_exception() -> None:
    echo = {"error": {"code": "401", "message": f"key {KEY} or token {TOKEN} is not valid"}}
    response = httpx.Response(401, json=echo, request=_secret_request())
    text = _all_text(status_error_from_response(response))
    assert KEY not in text
    assert TOKEN not in text
    assert "[redacted]" in text


def test_credential_in_query_string_is_redacted() -> None:
    response = httpx.Response(401, json={"message": "no"}, request=_secret_request(URL + f"&api-key={KEY}"))
    exc = status_error_from_response(response)
    assert exc.request is not None
    assert KEY not in str(exc.request.url)
    assert exc.request.url.params["api-version"] == "2025-04-01"


def test_repr_does_not_dump_the_request() -> None:
    exc = status_error_from_response(httpx.Response(500, request=_secret_request()))
    assert "Request" not in repr(exc)
    assert "services.ai.azure.com" not in repr(exc)


def test_redacted_request_keeps_method_url_and_safe_headers() -> None:
    exc = status_error_from_response(httpx.Response(500, request=_secret_request()))
    assert exc.request is not None
    assert (exc.request.method, str(exc.request.url)) == ("POST", URL)
    assert exc.request.headers["content-type"] == "application/json"
    assert exc.request.headers["api-key"] == "[redacted]"


def test_connection_error_request_is_redacted() -> None:
    exc = APIConnectionError(request=_secret_request())
    assert exc.request is not None
    assert KEY not in repr(exc.request.headers.raw)
    assert str(exc) == "Connection error."


# --- the kept response -----------------------------------------------------------------------------


def test_kept_response_is_readable_and_points_at_redacted_request() -> None:
    exc = status_error_from_response(
        httpx.Response(404, json={"error": {"code": "NF", "message": "x"}}, request=_secret_request())
    )
    assert exc.response is not None
    assert exc.response.status_code == 404
    assert exc.response.json()["error"]["code"] == "NF"
    assert exc.response.request.headers["api-key"] == "[redacted]"


def test_gzip_encoded_response_copy_does_not_decode_twice() -> None:
    raw = json.dumps({"error": {"code": "Gz", "message": "zipped"}}).encode()
    response = httpx.Response(
        500, headers={"content-encoding": "gzip"}, content=gzip.compress(raw), request=_secret_request()
    )
    exc = status_error_from_response(response)
    assert exc.code == "Gz"
    assert exc.response is not None
    assert exc.response.content == raw


def test_response_without_request_is_mapped() -> None:
    exc = status_error_from_response(httpx.Response(400, json={"message": "no request attached"}))
    assert exc.request is None
    assert exc.message == "no request attached"


# --- stream error events ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"error": {"code": "server_error", "message": "boom"}}, ("server_error", "boom")),
        ({"code": "overloaded", "message": "busy"}, ("overloaded", "busy")),
        ({"error": "plain text"}, (None, "plain text")),
    ],
)
def test_error_event_fields(event: dict[str, Any], expected: tuple[str | None, str]) -> None:
    assert error_from_event(event) == expected


def test_error_event_without_message_gets_a_default() -> None:
    code, message = error_from_event({"error": {}})
    assert code is None
    assert "error" in message


# --- the other exceptions --------------------------------------------------------------------------


def test_request_validation_error_is_a_value_error_with_param() -> None:
    exc = RequestValidationError("messages[2].role is required", param="messages[2].role")
    assert isinstance(exc, ValueError)
    assert isinstance(exc, GrokError)
    assert exc.param == "messages[2].role"


def test_timeout_is_a_connection_error() -> None:
    exc = APITimeoutError()
    assert isinstance(exc, APIConnectionError)
    assert str(exc) == "Request timed out."


def test_stream_interrupted_keeps_partial_completion() -> None:
    partial = ChatCompletion.model_validate({"choices": [{"message": {"content": "Hel"}}]})
    exc = StreamInterruptedError(partial=partial)
    assert isinstance(exc, APIConnectionError)
    assert exc.partial is not None
    assert exc.partial.text == "Hel"


def test_stream_error_text_and_partial() -> None:
    exc = StreamError("boom", code="server_error", partial=None)
    assert str(exc) == "Stream error: server_error: boom"
    assert exc.partial is None
    assert repr(exc) == "StreamError(code='server_error', message='boom')"


def test_response_decode_error_keeps_status_and_truncated_excerpt() -> None:
    exc = ResponseDecodeError("Expected JSON", status_code=200, body=b"<html>" + b"x" * 5000)
    assert exc.status_code == 200
    assert exc.body_excerpt.startswith("<html>")
    assert len(exc.body_excerpt) == 501
    assert str(exc) == "Expected JSON (status 200)"


def test_response_decode_error_scrubs_echoed_key() -> None:
    exc = ResponseDecodeError("bad", status_code=200, body=f"key={KEY}", request=_secret_request())
    assert KEY not in exc.body_excerpt


def test_short_values_are_not_treated_as_secrets() -> None:
    request = httpx.Request("POST", URL, headers={"api-key": "abc"})
    exc = status_error_from_response(httpx.Response(400, json={"message": "abc is short"}, request=request))
    assert exc.message == "abc is short"


def test_unwrapped_422_names_the_parameter_from_detail_loc() -> None:
    body = {
        "status": 422,
        "code": "parameter_not_supported",
        "detail": {"loc": ["body", "response_format"], "input": "json_object"},
        "message": "One of the parameters contain invalid values.",
    }
    error = make_status_error(422, httpx.Headers(), json.dumps(body).encode())
    assert isinstance(error, UnprocessableEntityError)
    assert error.param == "response_format"
    assert error.code == "parameter_not_supported"


def test_azure_details_list_adds_the_specific_reason_and_target() -> None:
    body = {
        "error": {
            "code": "parameter_not_supported",
            "message": "One of the parameters contain invalid values.",
            "details": [
                {
                    "code": "unsupported",
                    "message": "grok-4 rejects reasoning_effort",
                    "target": "reasoning_effort",
                }
            ],
        }
    }
    error = make_status_error(422, httpx.Headers(), json.dumps(body).encode())
    assert "grok-4 rejects reasoning_effort" in error.message
    assert error.message.startswith("One of the parameters contain invalid values.")
    assert error.param == "reasoning_effort"
