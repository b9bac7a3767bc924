"""Deployment and DeploymentPool construction, repr, and the x-ratelimit-reset-* parser."""

from __future__ import annotations

import math
import traceback
from typing import Any, cast

import pytest

from grok_azure import ConfigurationError, GrokError
from grok_azure._deployments import Deployment, DeploymentPool, reset_after_seconds

KEY = "sk-deploy-SECRET-key-0123456789"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQifQ.c2lnbmF0dXJl"


class FakeKeyCredential:
    """Shaped like azure.core's AzureKeyCredential (not installed in the test env)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def update(self, key: str) -> None:
        self.key = key


class FakeTokenCredential:
    def __init__(self) -> None:
        self.token = TOKEN

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return (self.token, 0)

    def __repr__(self) -> str:  # a careless credential type that shows its token
        return f"FakeTokenCredential({self.token})"


# --- reset_after_seconds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        ("0.5", 0.5),
        (" 12 ", 12.0),
        ("1s", 1.0),
        ("20ms", 0.02),
        ("6m0s", 360.0),
        ("1m30s", 90.0),
        ("1h2m3.5s", 3723.5),
        ("1.5s", 1.5),
        ("250us", 0.00025),
        ("17.041ms", 0.017041),
    ],
)
def test_reset_header_formats(value: str, expected: float) -> None:
    assert reset_after_seconds({"x-ratelimit-reset-requests": value}) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value", ["-1", "0", "0s", "", "soon", "1x", "5 s", "inf", "nan", "1e400", "s", "-1s"]
)
def test_reset_header_without_a_usable_wait_gives_none(value: str) -> None:
    # -1 and 0 are placeholders Azure sends, never "wait forever"; garbage is no hint.
    assert reset_after_seconds({"x-ratelimit-reset-tokens": value}) is None


def test_reset_header_names_are_case_insensitive() -> None:
    assert reset_after_seconds({"X-RateLimit-Reset-Tokens": "2s"}) == 2.0


def test_no_reset_headers_gives_none() -> None:
    assert reset_after_seconds({"retry-after": "3", "x-ratelimit-remaining-tokens": "0"}) is None


def test_reset_of_the_exhausted_counter_wins() -> None:
    headers = {
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-reset-tokens": "6m0s",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-remaining-tokens": "5000",
    }
    assert reset_after_seconds(headers) == 1.0
    headers.update({"x-ratelimit-remaining-requests": "3", "x-ratelimit-remaining-tokens": "0"})
    assert reset_after_seconds(headers) == 360.0


def test_without_remaining_counters_the_longest_reset_is_used() -> None:
    headers = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "20ms"}
    assert reset_after_seconds(headers) == 1.0


def test_zero_of_zero_counter_is_not_exhaustion() -> None:
    # "remaining 0 of limit 0" is the placeholder form: it must not pick the tokens reset over the longer one.
    headers = {
        "x-ratelimit-limit-tokens": "0",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1s",
        "x-ratelimit-reset-requests": "10s",
    }
    assert reset_after_seconds(headers) == 10.0


# --- Deployment -----------------------------------------------------------------------------------------------


def test_default_name_is_host_and_deployment() -> None:
    assert Deployment("https://east.services.ai.azure.com").name == "east.services.ai.azure.com"
    named = Deployment("https://west.services.ai.azure.com/openai/v1", deployment="grok-4-west")
    assert named.name == "west.services.ai.azure.com/grok-4-west"
    assert Deployment("https://x.services.ai.azure.com", name="primary").name == "primary"


def test_deployment_is_frozen() -> None:
    dep = Deployment("https://east.services.ai.azure.com")
    with pytest.raises(AttributeError):
        dep.weight = 2.0  # type: ignore[misc]


def test_every_endpoint_form_the_client_accepts_is_accepted() -> None:
    for url in (
        "https://r.services.ai.azure.com",
        "https://r.services.ai.azure.com/openai/v1/",
        "https://r.services.ai.azure.com/models/chat/completions",
        "http://127.0.0.1:8080",
    ):
        Deployment(url)
    Deployment("https://apim.example.com/grok", route="openai_v1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"endpoint": "not a url"},
        {"endpoint": "http://east.services.ai.azure.com"},  # plain http to a remote host
        {"endpoint": "https://r.services.ai.azure.com?api-key=" + KEY},
        {"endpoint": "https://apim.example.com/grok"},  # route cannot be told
        {"endpoint": "https://r.services.ai.azure.com", "route": "v2"},
        {"endpoint": 42},
    ],
)
def test_bad_endpoint_is_a_configuration_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as info:
        Deployment(**kwargs)
    assert KEY not in str(info.value)


@pytest.mark.parametrize("weight", [0, -1, -0.5, math.inf, math.nan, True, "1", None])
def test_weight_must_be_positive_and_finite(weight: Any) -> None:
    with pytest.raises(ConfigurationError, match="weight"):
        Deployment("https://r.services.ai.azure.com", weight=weight)


def test_fractional_and_integer_weights_are_accepted() -> None:
    assert Deployment("https://r.services.ai.azure.com", weight=0.25).weight == 0.25
    assert Deployment("https://r.services.ai.azure.com", weight=3).weight == 3


def test_api_key_and_credential_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both") as info:
        Deployment("https://r.services.ai.azure.com", api_key=KEY, credential=FakeTokenCredential())
    assert KEY not in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("key", ["", "   ", 12345, b"bytes-key-0123456789"])
def test_bad_api_key_is_refused(key: Any) -> None:
    with pytest.raises(ConfigurationError, match="api_key"):
        Deployment("https://r.services.ai.azure.com", api_key=key)


def test_key_credential_or_neither_is_accepted() -> None:
    assert (
        Deployment("https://r.services.ai.azure.com", api_key=cast(Any, FakeKeyCredential(KEY))).api_key
        is not None
    )
    bare = Deployment("https://r.services.ai.azure.com")
    assert bare.api_key is None
    assert bare.credential is None


@pytest.mark.parametrize("field", ["deployment", "name", "api_version"])
@pytest.mark.parametrize("value", ["", "  ", 7])
def test_empty_or_non_str_labels_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=field):
        Deployment("https://r.services.ai.azure.com", **{field: value})


def test_repr_and_str_never_show_key_or_token() -> None:
    with_key = Deployment("https://r.services.ai.azure.com", api_key=KEY, deployment="grok-4")
    with_cred = Deployment(
        "https://user:pa55word-SECRET@r.services.ai.azure.com", credential=FakeTokenCredential()
    )
    with_rotating = Deployment(
        "https://r.services.ai.azure.com", api_key=cast(Any, FakeKeyCredential(KEY)), name="r2"
    )
    pool = DeploymentPool([with_key, with_cred, with_rotating])
    rendered = " ".join(
        [repr(with_key), str(with_cred), repr(with_rotating), repr(pool), repr(pool.deployments)]
    )
    for secret in (KEY, TOKEN, "pa55word-SECRET"):
        assert secret not in rendered
    assert "api_key" in repr(with_key)
    assert "grok-4" in repr(with_key)
    assert "credential" in repr(with_cred)


def test_a_traceback_with_locals_does_not_show_the_key() -> None:
    dep = Deployment("https://r.services.ai.azure.com", api_key=KEY)
    try:
        DeploymentPool([dep, dep])
    except ConfigurationError as exc:
        rendered = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    else:  # pragma: no cover - the duplicate must be refused
        pytest.fail("duplicate names accepted")
    assert "repeated" in rendered
    assert KEY not in rendered


# --- DeploymentPool construction ----------------------------------------------------------------------------------


def test_pool_needs_at_least_one_deployment() -> None:
    with pytest.raises(ConfigurationError, match="at least one"):
        DeploymentPool([])


def test_pool_refuses_duplicate_names() -> None:
    a = Deployment("https://a.services.ai.azure.com", deployment="grok-4")
    with pytest.raises(ConfigurationError, match="unique"):
        DeploymentPool([a, Deployment("https://a.services.ai.azure.com/openai/v1", deployment="grok-4")])
    with pytest.raises(ConfigurationError, match="unique"):
        DeploymentPool(
            [Deployment("https://a.services.ai.azure.com", name="x"), Deployment("http://[::1]", name="x")]
        )


def test_same_host_with_different_deployments_is_fine() -> None:
    pool = DeploymentPool(
        [
            Deployment("https://a.services.ai.azure.com", deployment="grok-4"),
            Deployment("https://a.services.ai.azure.com", deployment="grok-4-fast"),
        ]
    )
    assert [d.name for d in pool.deployments] == [
        "a.services.ai.azure.com/grok-4",
        "a.services.ai.azure.com/grok-4-fast",
    ]


@pytest.mark.parametrize(
    "deployments", ["https://a.services.ai.azure.com", Deployment("https://a.services.ai.azure.com"), 3]
)
def test_pool_needs_a_sequence(deployments: Any) -> None:
    with pytest.raises(ConfigurationError, match="sequence"):
        DeploymentPool(deployments)


def test_pool_needs_deployment_objects() -> None:
    with pytest.raises(ConfigurationError, match="Deployment objects"):
        DeploymentPool(["https://a.services.ai.azure.com"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"failure_threshold": 1.5},
        {"failure_threshold": True},
        {"default_cooldown": -1},
        {"default_cooldown": math.nan},
        {"default_cooldown": math.inf},
        {"pacing_ttl": -0.1},
        {"failure_window": -1},
        {"failure_window": math.nan},
        {"failure_window": "5"},
        {"max_cooldown": math.inf},
        {"max_cooldown": -0.5},
        {"max_cooldown": False},
    ],
)
def test_pool_numbers_are_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        DeploymentPool([Deployment("https://a.services.ai.azure.com")], **kwargs)


def test_configuration_errors_are_grok_errors() -> None:
    with pytest.raises(GrokError):
        DeploymentPool([])


def test_pool_keeps_order_and_accepts_a_tuple() -> None:
    deps = (Deployment("https://a.services.ai.azure.com"), Deployment("https://b.services.ai.azure.com"))
    pool = DeploymentPool(deps)
    assert pool.deployments == deps
    assert len(pool) == 2
