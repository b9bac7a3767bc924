"""The Grok model catalog: data integrity, lookups and the loader."""

from __future__ import annotations

import copy
import datetime
import json
import re
import subprocess
import sys
from importlib import resources
from typing import Any

import jsonschema
import pydantic
import pytest

from grok_azure._catalog import (
    DATA_FILE,
    FACT_FIELDS,
    SCHEMA_FILE,
    Catalog,
    CatalogError,
    ModelSpec,
    UnknownModelError,
    _loading,
    load_catalog,
    normalize_model_name,
    parse_catalog,
)

_PACKAGE = resources.files("grok_azure._catalog")


def _read(name: str) -> Any:
    return json.loads(_PACKAGE.joinpath(name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = _read(DATA_FILE)
    return data


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = _read(SCHEMA_FILE)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(autouse=True)
def _packaged_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the packaged data: a developer's own GROK_AZURE_CATALOG must not leak in."""
    monkeypatch.delenv("GROK_AZURE_CATALOG", raising=False)


@pytest.fixture
def doc(raw: dict[str, Any]) -> dict[str, Any]:
    """A private, mutable copy of the data file for failure-path tests."""
    return copy.deepcopy(raw)


def _model(doc: dict[str, Any], model_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in doc["models"] if m["id"] == model_id)
    return found


# --- the data file ---


def test_data_file_validates_against_its_schema(
    raw: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    validator.validate(raw)


def test_schema_rejects_retired_model_without_replacement(
    doc: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    _model(doc, "grok-3")["replacement"] = None
    assert not validator.is_valid(doc)


def test_schema_rejects_unknown_status(
    doc: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    _model(doc, "grok-4")["status"] = "deprecated"
    assert not validator.is_valid(doc)


def test_schema_rejects_unknown_field(
    doc: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    _model(doc, "grok-4")["max_tokens"] = 8192
    assert not validator.is_valid(doc)


def test_schema_rejects_default_effort_without_effort_values(
    doc: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    _model(doc, "grok-4")["default_effort"] = "high"
    assert not validator.is_valid(doc)


def test_data_file_declares_schema_version_and_as_of(raw: dict[str, Any]) -> None:
    assert raw["schema_version"] == 1
    assert load_catalog().as_of == datetime.date.fromisoformat(raw["as_of"])


def test_every_model_and_price_has_a_source() -> None:
    for spec in load_catalog().models:
        assert spec.source.strip(), spec.id
        if spec.price is not None:
            assert spec.price.source.strip(), spec.id


def test_bracketed_source_tags_all_resolve_to_references(raw: dict[str, Any]) -> None:
    tags = set(re.findall(r"\[([A-Za-z0-9-]+)\]", json.dumps(raw["models"])))
    assert tags, "expected models to cite references by tag"
    assert tags <= set(raw["references"]), tags - set(raw["references"])


def test_retired_models_have_past_date_and_a_current_replacement() -> None:
    catalog = load_catalog()
    retired = [spec for spec in catalog.models if spec.status == "retired"]
    assert retired
    for spec in retired:
        assert spec.retired_on is not None, spec.id
        assert spec.retired_on <= catalog.as_of, spec.id
        assert spec.replacement is not None, spec.id
        replacement = catalog.get(spec.replacement)
        assert replacement is not None, spec.replacement
        assert replacement.is_current, spec.replacement


def test_current_models_only_carry_scheduled_retirement_dates() -> None:
    catalog = load_catalog()
    for spec in catalog.current():
        assert spec.retired_on is None or spec.retired_on > catalog.as_of, spec.id


def test_aliases_never_collide_across_models() -> None:
    owners: dict[str, str] = {}
    for spec in load_catalog().models:
        for name in {normalize_model_name(n) for n in (spec.id, *spec.aliases)}:
            assert owners.setdefault(name, spec.id) == spec.id, (
                f"{name} claimed by {owners[name]} and {spec.id}"
            )


def test_catalog_refuses_two_models_sharing_a_name() -> None:
    spec = load_catalog().require("grok-4.7")
    clash = spec.with_facts(id="grok-4.7-copy", aliases=("grok-4-7",))
    with pytest.raises(
        CatalogError, match=re.escape("'grok-4-7' of 'grok-4.7-copy' collides with 'grok-4.7'")
    ):
        Catalog([spec, clash], datetime.date(2026, 10, 5))


def test_default_effort_is_an_accepted_effort_value() -> None:
    for spec in load_catalog().models:
        if spec.default_effort is not None:
            assert spec.accepts_effort(spec.default_effort), spec.id


def test_models_that_reject_reasoning_effort_claim_no_effort_values() -> None:
    for spec in load_catalog().models:
        if "reasoning_effort" in spec.rejected_parameters:
            assert spec.effort_values == (), spec.id


def test_unconfirmed_entries_name_fact_fields_or_one_rejected_parameter() -> None:
    for spec in load_catalog().models:
        for fact in spec.unconfirmed:
            field, _, param = fact.partition(".")
            assert field in FACT_FIELDS, (spec.id, fact)
            assert not param or param in spec.rejected_parameters, (spec.id, fact)


def test_packaged_file_states_every_field_of_every_model(raw: dict[str, Any]) -> None:
    # A user file may leave facts out (they become unknown); the packaged one must say what it knows about each.
    assert set(raw) == {"$schema", "schema_version", "as_of", "notes", "references", "models"}
    for model in raw["models"]:
        assert set(model) == set(ModelSpec.model_fields), (
            model["id"],
            set(ModelSpec.model_fields) ^ set(model),
        )


def test_packaged_model_ids_are_grok_names_in_lower_case() -> None:
    for spec in load_catalog().models:
        assert re.fullmatch(r"grok-[a-z0-9.-]+", spec.id), spec.id


def test_confirmed_prices_come_from_azure_meters() -> None:
    confirmed = [spec for spec in load_catalog().models if spec.price is not None and spec.price.confirmed]
    assert {spec.id for spec in confirmed} == {"grok-3", "grok-3-mini"}
    for spec in confirmed:
        assert spec.price is not None
        assert "[R]" in spec.price.source


def test_models_with_conflicting_sources_record_the_conflict() -> None:
    catalog = load_catalog()
    grok_4 = catalog.require("grok-4")
    assert any(c.startswith("price:") for c in grok_4.conflicts)
    assert grok_4.price is not None
    assert not grok_4.price.confirmed
    assert "price" in grok_4.unconfirmed


# --- facts the SDK relies on ---


def test_grok_3_is_retired_in_favour_of_grok_4() -> None:
    spec = load_catalog().require("grok-3")
    assert spec.status == "retired"
    assert not spec.is_current
    assert spec.retired_on == datetime.date(2026, 5, 1)
    assert spec.replacement == "grok-4"


def test_grok_4_7_accepts_low_to_xhigh_effort_with_high_default() -> None:
    spec = load_catalog().require("grok-4.7")
    assert spec.effort_values == ("low", "medium", "high", "xhigh")
    assert spec.default_effort == "high"
    assert spec.accepts_effort("xhigh")
    assert not spec.accepts_effort("none")
    assert not spec.accepts_effort("HIGH")


def test_grok_4_rejects_reasoning_effort_penalties_and_stop() -> None:
    spec = load_catalog().require("grok-4")
    assert {"reasoning_effort", "presence_penalty", "frequency_penalty", "stop"} <= spec.rejected_parameters
    assert spec.rejects_penalties_and_stop
    assert spec.reasons
    assert not spec.accepts_effort("high")


def test_grok_4_6_rejects_logprobs_as_observed_on_azure() -> None:
    assert "logprobs" in load_catalog().require("grok-4.6").rejected_parameters


def test_non_reasoning_model_keeps_penalties_and_stop() -> None:
    spec = load_catalog().require("grok-4-1-fast-non-reasoning")
    assert not spec.reasons
    assert not spec.rejects_penalties_and_stop
    assert "stop" not in spec.rejected_parameters


def test_grok_4_takes_the_newest_microsoft_context_window_and_records_the_conflict() -> None:
    spec = load_catalog().require("grok-4")
    assert (
        spec.context_window == 262_000
    )  # Microsoft's model page of 2026-10-05 [M3]; 256,000 in 2025-12 [M5]
    conflict = next(c for c in spec.conflicts if c.startswith("context_window:"))
    assert "256,000" in conflict
    assert "262,000 (Microsoft docs 2026-10-05 [M3])" in conflict
    assert spec.is_stated("context_window")
    assert spec.input_modalities == frozenset({"text"})  # the newest Microsoft source says text only


@pytest.mark.parametrize(
    ("model_id", "field", "kept"),
    [
        ("grok-4-fast-reasoning", "max_output_tokens", 2_000_000),
        ("grok-4-1-fast-reasoning", "context_window", 128_000),
        ("grok-4-1-fast-non-reasoning", "context_window", 128_000),
        ("grok-4.3", "context_window", 200_000),
        ("grok-4.6", "context_window", 200_000),
        ("grok-4.7", "max_output_tokens", None),
    ],
)
def test_conflicting_sources_keep_the_microsoft_value_and_say_so(
    model_id: str, field: str, kept: object
) -> None:
    spec = load_catalog().require(model_id)
    assert getattr(spec, field) == kept
    assert any(c.startswith(f"{field}:") for c in spec.conflicts), spec.conflicts


def test_every_recorded_conflict_says_what_was_kept() -> None:
    for spec in load_catalog().models:
        for conflict in spec.conflicts:
            assert re.search(r"\b(kept|took)\b", conflict), (
                spec.id,
                conflict,
            )


# --- lookups ---


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("grok-4.1-fast", "grok-4-1-fast"),
        ("GROK-4.20-Reasoning", "grok-4-20-reasoning"),
        ("  grok-4.7\n", "grok-4-7"),
        ("grok-4-7", "grok-4-7"),
        ("grok.4", "grok.4"),
        ("grok-4.", "grok-4."),
    ],
)
def test_normalize_turns_only_dots_between_digits_into_dashes(name: str, expected: str) -> None:
    assert normalize_model_name(name) == expected


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("grok-4.1-fast-reasoning", "grok-4-1-fast-reasoning"),
        ("Grok-4-1-Fast-Reasoning", "grok-4-1-fast-reasoning"),
        ("grok-4-7", "grok-4.7"),
        ("GROK-4.7", "grok-4.7"),
        ("grok-4.20-non-reasoning", "grok-4-20-non-reasoning"),
        ("grok-3-mini", "grok-3-mini"),
    ],
)
def test_get_finds_models_whatever_the_spelling(name: str, model_id: str) -> None:
    spec = load_catalog().get(name)
    assert spec is not None
    assert spec.id == model_id


@pytest.mark.parametrize("name", ["grok-4.1-fast", "grok-5", "gpt-4o", "", "grok-4-1"])
def test_get_returns_none_for_names_not_in_the_catalog(name: str) -> None:
    assert load_catalog().get(name) is None


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("grok-4-fast-reasonig", "grok-4-fast-reasoning"),
        ("grok-4.77", "grok-4.7"),
        ("grk-code-fast-1", "grok-code-fast-1"),
        ("grok-4.1-fast-reasoner", "grok-4-1-fast-reasoning"),
    ],
)
def test_require_of_a_typo_suggests_the_right_name(typo: str, suggestion: str) -> None:
    with pytest.raises(UnknownModelError) as caught:
        load_catalog().require(typo)
    assert caught.value.suggestions[0] == suggestion
    assert repr(suggestion) in str(caught.value)
    assert caught.value.name == typo


def test_unknown_model_error_is_a_key_error_with_a_readable_message() -> None:
    with pytest.raises(KeyError) as caught:
        load_catalog().require("grok-4.77")
    message = str(caught.value)
    assert message.startswith("Unknown Grok model 'grok-4.77'.")
    assert not message.startswith('"')


def test_require_without_close_match_lists_only_current_models() -> None:
    with pytest.raises(UnknownModelError) as caught:
        load_catalog().require("gpt-4o")
    message = str(caught.value)
    assert caught.value.suggestions == ()
    assert "grok-4.7" in message
    assert "grok-3" not in message


def test_require_returns_retired_models_so_callers_can_explain_them() -> None:
    assert load_catalog().require("GROK-3").id == "grok-3"


def test_current_excludes_retired_models_and_keeps_file_order(raw: dict[str, Any]) -> None:
    expected = [m["id"] for m in raw["models"] if m["status"] != "retired"]
    current = load_catalog().current()
    assert [spec.id for spec in current] == expected
    assert "grok-3" not in expected


# --- the loader ---


def test_load_catalog_reads_the_file_once() -> None:
    assert load_catalog() is load_catalog()


def test_importing_the_package_does_not_read_the_catalog() -> None:
    code = "import grok_azure._catalog._loading as c; print(c._packaged is None)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_model_spec_is_immutable() -> None:
    spec = load_catalog().require("grok-4")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.status = "retired"  # type: ignore[misc]
    assert load_catalog().require("grok-4").status == "ga"


def test_parse_catalog_derives_penalty_flag_from_rejected_parameters(doc: dict[str, Any]) -> None:
    _model(doc, "grok-4")["rejected_parameters"] = ["presence_penalty", "frequency_penalty"]
    assert not parse_catalog(doc).require("grok-4").rejects_penalties_and_stop


def test_parse_catalog_rejects_unsupported_schema_version(doc: dict[str, Any]) -> None:
    doc["schema_version"] = 2
    with pytest.raises(
        CatalogError, match=r"catalog: schema_version: unsupported schema_version 2 \(expected 1\)"
    ):
        parse_catalog(doc)


def test_parse_catalog_names_the_model_and_field_of_an_unknown_status(doc: dict[str, Any]) -> None:
    _model(doc, "grok-4")["status"] = "deprecated"
    with pytest.raises(
        CatalogError, match=r"models\[2\] \(id 'grok-4'\)\.status: Input should be 'ga', 'preview' or"
    ):
        parse_catalog(doc)


def test_parse_catalog_rejects_boolean_where_integer_expected(doc: dict[str, Any]) -> None:
    _model(doc, "grok-4")["context_window"] = True
    with pytest.raises(CatalogError, match=r"\(id 'grok-4'\)\.context_window: .*integer \(got True\)"):
        parse_catalog(doc)


def test_parse_catalog_rejects_non_iso_retirement_date(doc: dict[str, Any]) -> None:
    _model(doc, "grok-3")["retired_on"] = "May 1, 2026"
    with pytest.raises(CatalogError, match=r"\(id 'grok-3'\)\.retired_on: 'May 1, 2026' is not an ISO date"):
        parse_catalog(doc)


def test_parse_catalog_reports_a_missing_model_list(doc: dict[str, Any]) -> None:
    del doc["models"]
    with pytest.raises(CatalogError, match="catalog: models: Field required"):
        parse_catalog(doc)


def test_parse_catalog_needs_as_of_for_a_complete_catalog(doc: dict[str, Any]) -> None:
    del doc["as_of"]
    with pytest.raises(CatalogError, match="as_of"):
        parse_catalog(doc)


def test_parse_catalog_rejects_non_numeric_price(doc: dict[str, Any]) -> None:
    _model(doc, "grok-4")["price"]["input"] = "5.50"
    with pytest.raises(CatalogError, match=r"\(id 'grok-4'\)\.price\.input: .*\(got '5\.50'\)"):
        parse_catalog(doc)


def test_parse_catalog_rejects_non_object_document() -> None:
    with pytest.raises(CatalogError, match="expected an object"):
        parse_catalog([])


def test_parse_catalog_lists_several_problems_but_not_hundreds(doc: dict[str, Any]) -> None:
    for model in doc["models"]:
        model["context_window"] = "big"
    with pytest.raises(CatalogError) as caught:
        parse_catalog(doc, where="mine.json")
    lines = str(caught.value).splitlines()
    assert len(lines) == 6
    assert all(line.startswith("mine.json: models[") for line in lines[:5])
    assert lines[-1] == "... and 8 more problems"


# --- the schema and the loader agree ---


def _drop(key: str) -> Any:
    def mutate(model: dict[str, Any]) -> None:
        del model[key]

    return mutate


def _set(key: str, value: object) -> Any:
    def mutate(model: dict[str, Any]) -> None:
        model[key] = value

    return mutate


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_set("status", "deprecated"), id="unknown-status"),
        pytest.param(_set("context_window", 0), id="zero-context"),
        pytest.param(_set("context_window", "262000"), id="context-as-string"),
        pytest.param(_set("context_window", True), id="context-as-bool"),
        pytest.param(_set("max_tokens", 8192), id="unknown-field"),
        pytest.param(_set("aliases", ["grok-four", "grok-four"]), id="duplicate-alias"),
        pytest.param(_set("aliases", ["Grok-Four"]), id="alias-not-lower-case"),
        pytest.param(_set("input_modalities", ["image"]), id="no-text-input"),
        pytest.param(_set("input_modalities", ["text", "audio"]), id="unknown-modality"),
        pytest.param(_set("effort_values", ["high", "turbo"]), id="unknown-effort"),
        pytest.param(_set("default_effort", "high"), id="default-effort-without-values"),
        pytest.param(_set("effort_values", ["high"]), id="effort-values-for-a-rejected-parameter"),
        pytest.param(_set("unconfirmed", ["colour"]), id="unconfirmed-unknown-field"),
        pytest.param(_set("unconfirmed", ["price", "price"]), id="unconfirmed-twice"),
        pytest.param(_set("retired_on", "2026-5-1"), id="short-date"),
        pytest.param(_set("released", "May 2026"), id="released-not-iso"),
        pytest.param(_set("price", {"input": 1.0}), id="price-without-output"),
        pytest.param(_set("price", {"input": -1.0, "output": 2.0}), id="negative-price"),
        pytest.param(
            _set("price", {"input": 1.0, "output": 2.0, "currency": "EUR"}), id="price-unknown-field"
        ),
        pytest.param(_set("function_calling", "yes"), id="bool-as-string"),
        pytest.param(_drop("id"), id="no-id"),
        pytest.param(_set("status", "retired"), id="retired-without-date-or-replacement"),
    ],
)
def test_schema_and_loader_both_refuse_a_malformed_entry(
    doc: dict[str, Any], validator: jsonschema.Draft202012Validator, mutate: Any
) -> None:
    mutate(_model(doc, "grok-4"))
    assert not validator.is_valid(doc)
    with pytest.raises(CatalogError):
        parse_catalog(doc)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"schema_version": 2, "models": [{"id": "grok-5"}]}, id="schema-version"),
        pytest.param({"models": []}, id="no-models"),
        pytest.param({"models": [{"id": "grok-5"}], "extra": 1}, id="unknown-top-level-key"),
        pytest.param({"models": [{"id": "grok-5"}], "as_of": "yesterday"}, id="as-of-not-a-date"),
        pytest.param({"models": {"id": "grok-5"}}, id="models-not-a-list"),
    ],
)
def test_schema_and_loader_both_refuse_a_malformed_document(
    validator: jsonschema.Draft202012Validator, document: dict[str, Any]
) -> None:
    assert not validator.is_valid(document)
    with pytest.raises(CatalogError):
        _loading._validate(document, "user.json")


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"models": [{"id": "grok-5"}]}, id="only-an-id"),
        pytest.param(
            {
                "$schema": "./grok_models.schema.json",
                "models": [{"id": "grok-5", "context_window": 1_000_000}],
            },
            id="with-schema-pointer",
        ),
        pytest.param(
            {"models": [{"id": "grok-5", "price": {"input": 1, "output": 2}, "unconfirmed": ["price"]}]},
            id="integer-prices",
        ),
        pytest.param(
            {
                "models": [
                    {
                        "id": "grok-5",
                        "rejected_parameters": ["stop"],
                        "unconfirmed": ["rejected_parameters.stop"],
                    }
                ]
            },
            id="one-unconfirmed-rejection",
        ),
    ],
)
def test_schema_and_loader_both_accept_a_minimal_user_document(
    validator: jsonschema.Draft202012Validator, document: dict[str, Any]
) -> None:
    validator.validate(document)
    assert _loading._validate(document, "user.json").models[0].id == "grok-5"
