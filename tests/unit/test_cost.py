"""Usage conventions and cost arithmetic, with the numbers of recorded Azure Grok traffic (issue 8)."""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from grok_azure import ChatCompletion, CompletionUsage, GrokClient
from grok_azure._catalog import Price, load_catalog
from grok_azure._cost import PendingCost, _Tokens
from grok_azure._usage import Cost, cost_of
from grok_azure.types.completion_usage import usage_counts

from .conftest import CHAT_URL, ENDPOINT, FIXTURES, KEY

GROK_3_MINI = load_catalog().require("grok-3-mini").price  # 0.25 / 1.27, confirmed from an Azure meter
ROUND = Price(input=2.0, output=6.0, cached_input=0.5, source="test")  # grok-4.7-like, with a cached rate
M = 1_000_000


def usage(**fields: Any) -> CompletionUsage:
    return CompletionUsage.model_validate(fields)


# The recorded non-streamed grok-3-mini reply (foundry-wire-facts.md section 3): 288 + 27 + 294 = 609.
AZURE = {
    "completion_tokens": 27,
    "completion_tokens_details": {"reasoning_tokens": 294},
    "prompt_tokens": 288,
    "prompt_tokens_details": {"cached_tokens": 0},
    "total_tokens": 609,
}
# The same generation under OpenAI's convention: reasoning inside completion_tokens, total = prompt + completion.
OPENAI = {**AZURE, "completion_tokens": 27 + 294}


@pytest.fixture
def recorded_response() -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "grok3mini_thinking_response.json").read_text())
    return body


# --- conventions ---------------------------------------------------------------------------------------------


def test_recorded_azure_reply_is_detected_as_reasoning_separate(recorded_response: dict[str, Any]) -> None:
    completion = ChatCompletion.model_validate(recorded_response)
    assert completion.usage is not None
    assert completion.usage.convention == "reasoning_separate"
    assert completion.usage.output_tokens == 27
    assert completion.usage.billed_output_tokens == 27 + 294
    assert completion.usage.completion_tokens == 27  # the raw field is never rewritten


def test_recorded_azure_stream_usage_is_reasoning_separate() -> None:
    # The usage event of the recorded stream: 332 + 11 + 330 = 673.
    last = [
        line
        for line in (FIXTURES / "grok3mini_thinking_stream.sse").read_text().splitlines()
        if "usage" in line
    ]
    stream_usage = CompletionUsage.model_validate(json.loads(last[-1].removeprefix("data: "))["usage"])
    assert stream_usage.convention == "reasoning_separate"
    assert (stream_usage.output_tokens, stream_usage.billed_output_tokens) == (11, 341)


def test_openai_convention_is_detected_and_gives_the_same_split() -> None:
    openai = usage(**OPENAI)
    assert openai.convention == "reasoning_included"
    assert openai.output_tokens == 27
    assert openai.billed_output_tokens == 321


def test_no_reasoning_both_conventions_agree() -> None:
    plain = usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
    assert plain.convention == "no_reasoning"
    assert (plain.output_tokens, plain.billed_output_tokens, plain.uncached_prompt_tokens) == (5, 5, 10)


def test_reasoning_larger_than_completion_cannot_be_inside_it() -> None:
    # No total sent; reasoning exceeds completion_tokens, so only the separate reading is possible.
    missing_total = usage(
        prompt_tokens=10, completion_tokens=5, completion_tokens_details={"reasoning_tokens": 20}
    )
    assert missing_total.convention == "reasoning_separate"
    assert missing_total.billed_output_tokens == 25


def test_totals_matching_neither_are_unknown_and_never_under_count() -> None:
    odd = usage(
        prompt_tokens=10,
        completion_tokens=50,
        total_tokens=999,
        completion_tokens_details={"reasoning_tokens": 20},
    )
    assert odd.convention == "unknown"
    assert odd.output_tokens == 50
    assert odd.billed_output_tokens == 70  # the larger reading: reasoning on top of completion_tokens


def test_missing_details_and_nulls_read_as_zero() -> None:
    bare = usage(prompt_tokens=None, completion_tokens=3, total_tokens=None)
    assert bare.convention == "no_reasoning"
    assert (bare.reasoning_tokens, bare.cached_tokens, bare.uncached_prompt_tokens) == (0, 0, 0)
    nulls = usage(
        prompt_tokens=4, completion_tokens_details={"reasoning_tokens": None}, prompt_tokens_details={}
    )
    assert (nulls.reasoning_tokens, nulls.cached_tokens, nulls.billed_output_tokens) == (0, 0, 0)


def test_negative_counts_from_a_broken_gateway_never_make_negative_costs() -> None:
    broken = usage(
        prompt_tokens=-5,
        completion_tokens=-3,
        completion_tokens_details={"reasoning_tokens": -7},
        prompt_tokens_details={"cached_tokens": -2},
    )
    cost = cost_of(broken, ROUND)
    assert (cost.input, cost.cached_input, cost.output, cost.reasoning, cost.total) == (0, 0, 0, 0, 0)


# --- cost_of ---------------------------------------------------------------------------------------------------


def test_cost_of_the_recorded_azure_reply_bills_reasoning_at_the_output_price() -> None:
    assert GROK_3_MINI is not None
    cost = cost_of(usage(**AZURE), GROK_3_MINI)
    assert cost.input == pytest.approx(288 * 0.25 / M, rel=1e-12)
    assert cost.output == pytest.approx(27 * 1.27 / M, rel=1e-12)
    assert cost.reasoning == pytest.approx(294 * 1.27 / M, rel=1e-12)
    assert cost.cached_input == 0
    assert cost.total == pytest.approx((288 * 0.25 + 321 * 1.27) / M, rel=1e-12)
    assert cost.confirmed is True
    assert cost.price is GROK_3_MINI


def test_the_same_generation_costs_the_same_under_either_convention() -> None:
    assert cost_of(usage(**AZURE), ROUND) == cost_of(usage(**OPENAI), ROUND)


def test_reading_reasoning_inside_completion_would_be_wrong_for_azure() -> None:
    # Guard against the naive formula (completion_tokens x output price) that misses 294 reasoning tokens.
    cost = cost_of(usage(**AZURE), ROUND)
    assert cost.output + cost.reasoning == pytest.approx(321 * 6.0 / M, rel=1e-12)
    assert cost.total > (288 * 2.0 + 27 * 6.0) / M


def test_cached_tokens_use_the_cached_price() -> None:
    cached = usage(
        prompt_tokens=1000,
        completion_tokens=10,
        total_tokens=1010,
        prompt_tokens_details={"cached_tokens": 600},
    )
    cost = cost_of(cached, ROUND)
    assert cost.input == pytest.approx(400 * 2.0 / M, rel=1e-12)
    assert cost.cached_input == pytest.approx(600 * 0.5 / M, rel=1e-12)
    assert cost.output == pytest.approx(10 * 6.0 / M, rel=1e-12)


def test_cached_tokens_fall_back_to_the_input_price_without_a_cached_rate() -> None:
    no_cached_rate = Price(input=2.0, output=6.0)
    cached = usage(prompt_tokens=1000, completion_tokens=0, prompt_tokens_details={"cached_tokens": 600})
    cost = cost_of(cached, no_cached_rate)
    assert cost.cached_input == pytest.approx(600 * 2.0 / M, rel=1e-12)
    assert cost.input + cost.cached_input == pytest.approx(1000 * 2.0 / M, rel=1e-12)
    assert cost.confirmed is False


def test_more_cached_than_prompt_tokens_is_capped_at_the_prompt() -> None:
    odd = usage(prompt_tokens=100, prompt_tokens_details={"cached_tokens": 500})
    assert odd.uncached_prompt_tokens == 0
    assert cost_of(odd, ROUND).cached_input == pytest.approx(100 * 0.5 / M, rel=1e-12)


def test_cost_is_frozen_and_total_is_derived() -> None:
    cost = cost_of(usage(**AZURE), ROUND)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cost.total = 0.0  # type: ignore[misc]
    assert Cost(input=1.0, cached_input=2.0, output=3.0, reasoning=4.0, price=ROUND).total == 10.0


# --- ChatCompletion.cost ---------------------------------------------------------------------------------------


def test_hand_built_completion_has_no_cost(recorded_response: dict[str, Any]) -> None:
    assert ChatCompletion.model_validate(recorded_response).cost is None
    assert ChatCompletion().cost is None


def test_cost_set_by_the_client_is_not_part_of_the_wire_form(recorded_response: dict[str, Any]) -> None:
    completion = ChatCompletion.model_validate(recorded_response)
    assert completion.usage is not None
    cost = cost_of(completion.usage, ROUND)
    completion._set_cost(cost)
    assert completion.cost is cost
    assert "cost" not in completion.model_dump()
    assert "_grok_azure_cost" not in completion.model_dump_json()
    assert completion == ChatCompletion.model_validate(recorded_response)


def test_streamed_final_completion_is_priced_like_azure_bills(mock_api: respx.MockRouter) -> None:
    # The recorded grok-3-mini stream, read the way users read it; its final completion carries the usage event.
    # grok-3-mini is retired: validate=False lets the call through, and its catalog price (a meter) still applies.
    body = (FIXTURES / "grok3mini_thinking_stream.sse").read_bytes()
    mock_api.post(CHAT_URL).respond(200, content=body, headers={"content-type": "text/event-stream"})
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, validate=False) as client,
        client.chat.completions.stream(
            model="grok-3-mini", messages=[{"role": "user", "content": "Hi"}]
        ) as stream,
    ):
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.usage is not None
    assert final.usage.convention == "reasoning_separate"
    assert final.cost is not None
    assert final.cost.confirmed is True
    assert final.cost.total == pytest.approx((332 * 0.25 + (11 + 330) * 1.27) / M, rel=1e-12)
    assert GROK_3_MINI is not None
    assert final.cost == cost_of(final.usage, GROK_3_MINI)


@pytest.mark.parametrize("stream", [False, True])
def test_emulated_conventions_give_the_same_cost(stream: bool) -> None:
    # The emulator answers the same reasoning request under Azure's recorded convention and under OpenAI's;
    # the detected convention differs, the billed tokens and the cost do not.
    from grok_azure.testing import FoundryEmulator

    spec = load_catalog().require("grok-4-1-fast-reasoning")
    assert spec.price is not None
    results = {}
    for convention in ("grok", "openai"):
        with (
            FoundryEmulator(
                api_key=KEY, deployments={"thinker": spec.id}, usage_convention=convention
            ) as emu,
            GrokClient(endpoint=emu.url, api_key=KEY, deployment_models={"thinker": spec.id}) as client,
        ):
            if stream:
                with client.chat.completions.stream(
                    model="thinker", messages=[{"role": "user", "content": "Why is the sky blue?"}]
                ) as chunks:
                    completion = chunks.get_final_completion()
            else:
                completion = client.chat.completions.create(
                    model="thinker", messages=[{"role": "user", "content": "Why is the sky blue?"}]
                )
        assert completion.usage is not None
        assert completion.usage.reasoning_tokens > 0
        assert completion.cost == cost_of(completion.usage, spec.price)
        results[convention] = completion.usage
    assert results["grok"].convention == "reasoning_separate"
    assert results["openai"].convention == "reasoning_included"
    assert results["grok"].billed_output_tokens == results["openai"].billed_output_tokens
    assert cost_of(results["grok"], spec.price) == cost_of(results["openai"], spec.price)


# --- the counts snapshot and the cost priced when read --------------------------------------------------------

_COUNT = st.one_of(st.none(), st.integers(min_value=-5, max_value=2_000))


@given(
    prompt=_COUNT,
    completion=_COUNT,
    total=st.one_of(_COUNT, st.just("sum"), st.just("sum_with_reasoning")),
    reasoning=_COUNT,
    cached=_COUNT,
    details=st.booleans(),
)
def test_tokens_from_the_counts_snapshot_split_as_the_usage_properties_do(
    prompt: int | None,
    completion: int | None,
    total: int | str | None,
    reasoning: int | None,
    cached: int | None,
    details: bool,
) -> None:
    # The tracker and a pending cost price the snapshot; the properties are what users read: they must agree,
    # whichever convention the numbers show (totals that match either, or neither).
    p, c, r = prompt or 0, completion or 0, max(reasoning or 0, 0)
    if total == "sum":
        total = max(p, 0) + max(c, 0)
    elif total == "sum_with_reasoning":
        total = max(p, 0) + max(c, 0) + r
    fields: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    if details:
        fields["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        fields["prompt_tokens_details"] = {"cached_tokens": cached}
    u = usage(**fields)
    tokens = _Tokens.of_counts(usage_counts(u))
    assert (tokens.uncached, tokens.cached, tokens.output, tokens.reasoning) == (
        u.uncached_prompt_tokens,
        min(u.cached_tokens, max(u.prompt_tokens, 0)),  # billed as cached: never more than the prompt
        u.output_tokens,
        u.reasoning_tokens,
    )
    assert PendingCost(usage_counts(u), ROUND).resolve() == cost_of(u, ROUND)


def test_a_pending_cost_is_priced_on_first_read_then_kept(recorded_response: dict[str, Any]) -> None:
    completion = ChatCompletion.model_validate(recorded_response)
    assert completion.usage is not None
    completion._set_cost(PendingCost(usage_counts(completion.usage), GROK_3_MINI))
    first = completion.cost
    assert first == cost_of(completion.usage, GROK_3_MINI)
    assert completion.cost is first  # priced once
    assert (
        completion.model_dump() == ChatCompletion.model_validate(recorded_response).model_dump()
    )  # no field


def test_a_completion_with_a_pending_cost_survives_copy_and_pickle(recorded_response: dict[str, Any]) -> None:
    completion = ChatCompletion.model_validate(recorded_response)
    assert completion.usage is not None
    completion._set_cost(PendingCost(usage_counts(completion.usage), GROK_3_MINI))
    expected = cost_of(completion.usage, GROK_3_MINI)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):  # before its first read
        assert pickle.loads(pickle.dumps(completion, protocol=protocol)).cost == expected
    assert completion.model_copy(deep=True).cost == expected
    assert completion.cost == expected
    assert pickle.loads(pickle.dumps(completion)).cost == expected  # and after
