"""Stated versus unconfirmed facts: what the model checks may refuse, what they may only warn about."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pydantic
import pytest

from grok_azure._catalog import FACT_FIELDS, SCHEMA_FILE, ModelSpec, Price, packaged_catalog


def _spec(name: str) -> ModelSpec:
    return packaged_catalog().require(name)


# --- parameter rejections ---


def test_grok_4_6_rejections_seen_on_azure_are_stated_and_stop_is_not() -> None:
    spec = _spec("grok-4.6")
    for param in ("presence_penalty", "frequency_penalty", "logprobs"):  # live Azure probes [P4]
        assert spec.rejection(param) == "stated", param
        assert spec.knows_rejects(param) is True, param
    assert spec.rejection("stop") == "unconfirmed"  # the xAI rule for reasoning models, never seen on Azure
    assert spec.knows_rejects("stop") is None
    assert spec.rejection("temperature") is None
    assert spec.knows_rejects("temperature") is False


@pytest.mark.parametrize(
    ("model", "param"),
    [
        ("grok-4", "reasoning_effort"),  # "Grok 4 does not have a reasoning_effort parameter": xAI's docs
        ("grok-4", "stop"),
        ("grok-4.7", "presence_penalty"),
        ("grok-4-20-reasoning", "frequency_penalty"),
        ("grok-3", "reasoning_effort"),
    ],
)
def test_rejections_taken_from_the_xai_api_are_unconfirmed_on_azure(model: str, param: str) -> None:
    spec = _spec(model)
    assert param in spec.rejected_parameters
    assert spec.rejection(param) == "unconfirmed"
    assert spec.knows_rejects(param) is None
    assert not spec.is_stated(f"rejected_parameters.{param}")


def test_a_parameter_no_entry_mentions_is_not_rejected() -> None:
    for spec in packaged_catalog().models:
        assert spec.knows_rejects("temperature") is False, spec.id
        assert spec.rejection("temperature") is None, spec.id


def test_only_live_azure_evidence_makes_a_rejection_stated() -> None:
    stated = {
        (spec.id, param)
        for spec in packaged_catalog().models
        for param in spec.rejected_parameters
        if spec.rejection(param) == "stated"
    }
    assert stated == {
        ("grok-4.6", "presence_penalty"),
        ("grok-4.6", "frequency_penalty"),
        ("grok-4.6", "logprobs"),
    }


# --- reasoning effort ---


@pytest.mark.parametrize(
    ("model", "value", "known"),
    [
        ("grok-4.7", "xhigh", True),  # Microsoft's Grok how-to [M1]
        ("grok-4.7", "none", False),  # a stated list leaves it out
        ("grok-4.7", "minimal", False),
        ("grok-4.6", "low", True),
        ("grok-4", "high", None),  # rejection of the parameter is unconfirmed on Azure
        ("grok-4.3", "high", None),  # no Azure source documents the parameter
        ("grok-4-1-fast-reasoning", "low", None),
        ("grok-4-1-fast-non-reasoning", "low", None),
        ("grok-3-mini", "high", True),  # documented for the xAI API, unconfirmed on Azure, but listed
        ("grok-3-mini", "medium", None),  # outside an unconfirmed list: unknown
    ],
)
def test_knows_accepts_effort_refuses_only_what_a_source_states(
    model: str, value: str, known: bool | None
) -> None:
    assert _spec(model).knows_accepts_effort(value) is known


def test_a_stated_rejection_of_reasoning_effort_refuses_every_value() -> None:
    spec = ModelSpec(id="grok-x", reasons=False, rejected_parameters=["reasoning_effort"])
    assert spec.knows_rejects("reasoning_effort") is True
    assert spec.knows_accepts_effort("low") is False


def test_accepts_effort_is_exact() -> None:
    spec = _spec("grok-4.7")
    assert spec.accepts_effort("high")
    assert not spec.accepts_effort("HIGH")


# --- reasoning_content ---


@pytest.mark.parametrize(
    ("model", "known"),
    [
        ("grok-3-mini", True),  # recorded Azure traffic carries it
        ("grok-4", False),
        ("grok-4-1-fast-non-reasoning", False),
        ("grok-4.6", None),
        ("grok-4.7", None),
        ("grok-code-fast-1", None),
    ],
)
def test_reasoning_content_known_is_none_where_no_source_confirms_it(model: str, known: bool | None) -> None:
    assert _spec(model).reasoning_content_known is known


# --- an entry that says only what its author knows ---


def test_a_user_entry_needs_only_an_id_and_every_omitted_fact_is_unconfirmed() -> None:
    spec = ModelSpec(id="grok-5", context_window=1_000_000, reasons=True)
    assert spec.unconfirmed == frozenset(FACT_FIELDS) - {"context_window", "reasons"}
    assert spec.is_stated("context_window")
    assert spec.is_stated("reasons")
    assert not spec.is_stated("max_output_tokens")
    assert spec.status == "ga"
    assert spec.is_current


def test_unknown_facts_never_block_a_request() -> None:
    spec = ModelSpec(id="grok-5")
    assert spec.context_window is None
    assert spec.max_output_tokens is None
    assert spec.input_modalities == frozenset({"text", "image"})
    assert spec.function_calling
    assert spec.rejected_parameters == frozenset()
    for param in ("stop", "presence_penalty", "reasoning_effort", "logprobs"):
        assert spec.knows_rejects(param) is False, param
    for value in ("none", "low", "xhigh"):
        assert spec.knows_accepts_effort(value) is None, value
    assert spec.reasoning_content_known is None
    assert spec.price is None


def test_a_user_may_mark_facts_unconfirmed_themselves() -> None:
    spec = ModelSpec(
        id="grok-5",
        rejected_parameters=["stop", "logprobs"],
        unconfirmed=["rejected_parameters.stop"],
        price=Price(input=1, output=3),
    )
    assert spec.knows_rejects("logprobs") is True
    assert spec.knows_rejects("stop") is None
    assert spec.price is not None
    assert spec.price.cached_input is None
    assert not spec.price.confirmed


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"status": "retired"}, "a retired model needs retired_on and replacement"),
        (
            {"effort_values": ["low"], "default_effort": "high"},
            "default_effort 'high' is not one of effort_values",
        ),
        (
            {"rejected_parameters": ["reasoning_effort"], "effort_values": ["low"]},
            "effort_values must be empty",
        ),
        ({"unconfirmed": ["rejected_parameters.stop"]}, "'rejected_parameters.stop' is neither"),
        ({"unconfirmed": ["colour"]}, "'colour' is neither"),
        ({"input_modalities": ["image"]}, "must include 'text'"),
        ({"aliases": ["grok-five", "grok-five"]}, "'grok-five' is listed twice"),
        ({"context_window": True}, "valid integer"),
        ({"context_window": 0}, "greater than or equal to 1"),
        ({"retired_on": 1_777_593_600}, "expected an ISO date"),
        ({"price": {"input": float("nan"), "output": 1.0}}, "finite number"),
        ({"max_tokens": 10}, "Extra inputs are not permitted"),
    ],
)
def test_a_malformed_entry_is_refused_with_a_reason(facts: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        ModelSpec(id="grok-5", **facts)


@pytest.mark.parametrize("name", ["Grok-5", "grok 5", "", "-grok"])
def test_an_id_must_be_a_lower_case_model_name(name: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="id"):
        ModelSpec(id=name)


# --- copies ---


def test_with_facts_changes_only_what_it_is_given_and_states_it() -> None:
    grok_4 = _spec("grok-4")
    assert "price" in grok_4.unconfirmed
    changed = grok_4.with_facts(price={"input": 3.0, "output": 15.0, "source": "our invoice"})
    assert changed.price == Price(input=3.0, output=15.0, source="our invoice")
    assert changed.is_stated("price")
    assert changed.rejected_parameters == grok_4.rejected_parameters
    assert changed.unconfirmed == grok_4.unconfirmed - {"price"}
    assert packaged_catalog().require("grok-4") is grok_4  # the catalog's entry is untouched
    assert grok_4.price is not None
    assert grok_4.price.input == 5.5


def test_with_facts_on_rejected_parameters_drops_their_per_parameter_marks() -> None:
    spec = _spec("grok-4.6").with_facts(rejected_parameters=["stop", "logprobs"])
    assert spec.knows_rejects("stop") is True
    assert spec.knows_rejects("presence_penalty") is False


def test_with_facts_validates() -> None:
    with pytest.raises(pydantic.ValidationError, match="context_window"):
        _spec("grok-4").with_facts(context_window=-1)


def test_every_packaged_entry_survives_a_round_trip_through_its_json_form() -> None:
    schema = json.loads(
        resources.files("grok_azure._catalog").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    )
    validator = jsonschema.Draft202012Validator(schema)
    for spec in packaged_catalog().models:
        data = spec.to_dict()
        validator.validate({"models": [data]})
        assert ModelSpec.model_validate(json.loads(json.dumps(data))) == spec, spec.id


def test_derived_penalty_flag_follows_rejected_parameters() -> None:
    assert _spec("grok-4").rejects_penalties_and_stop
    assert not _spec("grok-4-1-fast-non-reasoning").rejects_penalties_and_stop
    assert not _spec("grok-4").with_facts(rejected_parameters=["stop"]).rejects_penalties_and_stop
