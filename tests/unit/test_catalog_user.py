"""Users add and override catalog entries without a release: from code, from a file, from the environment."""

from __future__ import annotations

import datetime
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from grok_azure import ConfigurationError, GrokError
from grok_azure._catalog import (
    CATALOG_ENV,
    FACT_FIELDS,
    Catalog,
    CatalogError,
    ModelSpec,
    UnknownModelError,
    _loading,
    load_catalog,
    packaged_catalog,
)

GROK_5 = {"id": "grok-5", "aliases": ["grok-5-preview"], "context_window": 1_000_000, "reasons": True}


@pytest.fixture(autouse=True)
def _no_user_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CATALOG_ENV, raising=False)


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# --- from code ---


def test_with_models_adds_a_model_released_after_the_sdk() -> None:
    base = load_catalog()
    catalog = base.with_models(ModelSpec(id="grok-5", context_window=1_000_000))
    assert catalog.require("GROK-5").context_window == 1_000_000
    assert catalog.models[-1].id == "grok-5"
    assert len(catalog) == len(base) + 1
    assert base.get("grok-5") is None  # the original is untouched
    assert catalog.as_of == base.as_of


def test_with_models_takes_mappings_in_the_file_form() -> None:
    catalog = load_catalog().with_models(GROK_5, {"id": "grok-5-mini"})
    spec = catalog.require("grok-5-preview")
    assert spec.id == "grok-5"
    assert spec.reasons
    assert "grok-5-mini" in catalog
    assert catalog.require("grok-5-mini").unconfirmed == frozenset(FACT_FIELDS)


def test_an_entry_with_an_existing_id_replaces_it_whole_in_place() -> None:
    base = load_catalog()
    position = [spec.id for spec in base].index("grok-4")
    catalog = base.with_models({"id": "grok-4", "context_window": 300_000})
    spec = catalog.require("grok-4")
    assert spec.context_window == 300_000
    assert spec.rejected_parameters == frozenset()  # replaced whole: nothing of the packaged entry is kept
    assert "price" in spec.unconfirmed
    assert catalog.models[position] is spec
    assert len(catalog) == len(base)


def test_an_id_spelled_with_dots_replaces_the_dashed_entry() -> None:
    catalog = load_catalog().with_models({"id": "grok-4.1-fast-reasoning", "context_window": 131_072})
    assert catalog.require("grok-4-1-fast-reasoning").context_window == 131_072
    assert [spec.id for spec in catalog].count("grok-4.1-fast-reasoning") == 1
    assert "grok-4-1-fast-reasoning" not in [spec.id for spec in catalog]


def test_with_facts_overrides_one_fact_and_keeps_the_rest() -> None:
    base = load_catalog()
    catalog = base.with_models(base.require("grok-4").with_facts(context_window=300_000))
    spec = catalog.require("grok-4")
    assert spec.context_window == 300_000
    assert spec.rejected_parameters == base.require("grok-4").rejected_parameters
    assert spec.price == base.require("grok-4").price


def test_a_replacing_entry_may_reuse_the_aliases_it_replaces() -> None:
    catalog = load_catalog().with_models({"id": "grok-4.7", "aliases": ["grok-4-7", "grok-latest"]})
    assert catalog.require("grok-latest").id == "grok-4.7"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "grok-x", "aliases": ["grok-4"]}, "'grok-4' of 'grok-x' collides with 'grok-4'"),
        (
            {"id": "grok-x", "aliases": ["grok-4.20-reasoning"]},
            "of 'grok-x' collides with 'grok-4-20-reasoning'",
        ),
        ({"id": "grok-4-6-mini", "aliases": ["grok-4.6"]}, "collides with 'grok-4.6'"),
    ],
)
def test_an_alias_that_names_another_model_is_refused(entry: dict[str, Any], message: str) -> None:
    base = load_catalog()
    with pytest.raises(CatalogError, match=message) as caught:
        base.with_models(entry)
    assert str(caught.value).startswith("with_models(): ")
    assert base.get("grok-x") is None


def test_the_same_id_twice_in_one_call_is_refused() -> None:
    with pytest.raises(CatalogError, match=r"model 'grok-5\.1' is given twice"):
        load_catalog().with_models({"id": "grok-5-1"}, ModelSpec(id="grok-5.1"))


def test_a_malformed_mapping_names_its_argument_and_field() -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog().with_models({"id": "grok-5"}, {"id": "grok-6", "context_window": "a lot"})
    assert str(caught.value) == (
        "with_models() argument 2: context_window: Input should be a valid integer (got 'a lot')"
    )


def test_something_neither_a_spec_nor_a_mapping_is_refused() -> None:
    with pytest.raises(
        CatalogError, match=r"with_models\(\) argument 1: expected a ModelSpec or a mapping, got str"
    ):
        load_catalog().with_models("grok-5")  # type: ignore[arg-type]


def test_catalog_errors_are_configuration_errors_and_value_errors() -> None:
    assert issubclass(CatalogError, ConfigurationError)
    assert issubclass(CatalogError, GrokError)
    assert issubclass(CatalogError, ValueError)
    assert issubclass(UnknownModelError, GrokError)
    assert issubclass(UnknownModelError, KeyError)


# --- from a file ---


def test_load_catalog_merges_a_file_over_the_packaged_catalog(tmp_path: Path) -> None:
    path = _write(tmp_path / "extra.json", {"models": [GROK_5, {"id": "grok-4", "context_window": 300_000}]})
    catalog = load_catalog(path)
    assert catalog.require("grok-5").context_window == 1_000_000
    assert catalog.require("grok-4").context_window == 300_000
    assert catalog.require("grok-4.7") == packaged_catalog().require("grok-4.7")
    assert catalog.require("grok-5").source == ""
    assert "max_output_tokens" in catalog.require("grok-5").unconfirmed


def test_load_catalog_of_a_file_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = _write(tmp_path / "extra.json", {"models": [GROK_5]})
    first = load_catalog(str(path))
    assert load_catalog(path) is first
    _write(path, {"models": [{**GROK_5, "context_window": 2_000_000, "notes": "longer now"}]})
    assert load_catalog(path).require("grok-5").context_window == 2_000_000


def test_a_later_as_of_in_the_file_wins(tmp_path: Path) -> None:
    path = _write(tmp_path / "extra.json", {"as_of": "2030-01-31", "models": [GROK_5]})
    assert load_catalog(path).as_of == datetime.date(2030, 1, 31)
    older = _write(tmp_path / "older.json", {"as_of": "2020-01-31", "models": [GROK_5]})
    assert load_catalog(older).as_of == packaged_catalog().as_of


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            '{"models": [', r"not valid JSON: Expecting value \(line 1, column 13\)", id="truncated"
        ),
        pytest.param(b"\xff\xfe\x00{", "not valid JSON", id="binary"),
        pytest.param(
            '[{"id": "grok-5"}]', "expected an object with a 'models' list, got list", id="bare-list"
        ),
        pytest.param(
            '{"models": [{"id": "grok-5", "id": "grok-6"}]}', "key 'id' appears twice", id="duplicate-key"
        ),
        pytest.param(
            '{"models": [{"id": "grok-5", "price": {"input": NaN, "output": 1}}]}',
            "NaN is not a JSON number",
            id="nan",
        ),
        pytest.param(
            '{"models": [{"id": "grok-5", "context_window": 1.5e6}]}',
            r"models\[0\] \(id 'grok-5'\)\.context_window: Input should be a valid integer",
            id="float-tokens",
        ),
        pytest.param(
            '{"models": [{"id": "grok-5", "contxt_window": 100}]}',
            r"models\[0\] \(id 'grok-5'\)\.contxt_window: Extra inputs are not permitted",
            id="misspelt-field",
        ),
        pytest.param('{"models": [{"name": "grok-5"}]}', r"models\[0\]\.id: Field required", id="no-id"),
        pytest.param(
            '{"schema_version": 2, "models": [{"id": "grok-5"}]}', "unsupported schema_version 2", id="v2"
        ),
        pytest.param(
            '{"models": [{"id": "grok-5", "aliases": ["grok-4"]}]}',
            "'grok-4' of 'grok-5' collides with 'grok-4'",
            id="alias-collision",
        ),
        pytest.param(
            '{"models": [{"id": "grok-5"}, {"id": "GROK-5"}]}',
            r"models\[1\] \(id 'GROK-5'\)\.id: String should match pattern",
            id="upper-case-id",
        ),
        pytest.param(
            '{"models": [{"id": "grok-5"}, {"id": "grok-5"}]}', "'grok-5' is given twice", id="twice"
        ),
    ],
)
def test_a_malformed_file_gives_an_error_naming_the_file_and_field(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "my-catalog.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(str(path))
    # No chained parser or pydantic exception: the message says it all, once.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(CatalogError, match=f"catalog file {path}: cannot be read: No such file"):
        load_catalog(path)


def test_a_directory_is_not_a_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not a regular file"):
        load_catalog(tmp_path)


def test_a_huge_file_is_refused_without_reading_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_loading, "_MAX_FILE_BYTES", 100)
    path = _write(tmp_path / "big.json", {"models": [{**GROK_5, "notes": "x" * 200}]})
    with pytest.raises(CatalogError, match="larger than 100 bytes"):
        load_catalog(path)


def test_a_fixed_file_loads_after_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "extra.json"
    path.write_text('{"models": [{"id": "grok-5", "context_window": "big"}]}', encoding="utf-8")
    with pytest.raises(CatalogError):
        load_catalog(path)
    _write(path, {"models": [GROK_5]})
    assert load_catalog(path).require("grok-5").context_window == 1_000_000


# --- from the environment ---


def test_the_environment_variable_extends_the_default_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "extra.json", {"models": [GROK_5]})
    monkeypatch.setenv(CATALOG_ENV, str(path))
    assert load_catalog().require("grok-5").reasons
    assert load_catalog() is load_catalog()
    assert packaged_catalog().get("grok-5") is None


def test_an_explicit_path_wins_over_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CATALOG_ENV, str(_write(tmp_path / "env.json", {"models": [{"id": "grok-from-env"}]})))
    catalog = load_catalog(_write(tmp_path / "arg.json", {"models": [{"id": "grok-from-arg"}]}))
    assert "grok-from-arg" in catalog
    assert "grok-from-env" not in catalog


@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_environment_variable_means_the_packaged_catalog(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(CATALOG_ENV, value)
    assert load_catalog() is packaged_catalog()


def test_a_bad_environment_variable_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "missing.json"
    monkeypatch.setenv(CATALOG_ENV, str(path))
    with pytest.raises(CatalogError, match=f"{path} \\(from GROK_AZURE_CATALOG\\): cannot be read"):
        load_catalog()
    _write(path, {"models": [{"id": "grok-5", "reasons": "yes"}]})
    with pytest.raises(
        CatalogError, match=r"\(from GROK_AZURE_CATALOG\): models\[0\] \(id 'grok-5'\)\.reasons"
    ):
        load_catalog()


def test_a_relative_path_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "extra.json", {"models": [GROK_5]})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CATALOG_ENV, "extra.json")
    catalog = load_catalog()
    assert "grok-5" in catalog
    monkeypatch.chdir(tmp_path.parent)  # the same relative name elsewhere is another file
    with pytest.raises(CatalogError, match=r"extra\.json"):
        load_catalog()


# --- concurrency ---


def test_threads_racing_to_the_first_load_share_one_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_loading, "_packaged", None)
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def first_use() -> None:
        barrier.wait()
        seen.append(load_catalog())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(seen) == 8
    assert all(catalog is seen[0] for catalog in seen)


def test_threads_extending_one_catalog_do_not_see_each_others_models() -> None:
    base = load_catalog()
    results: dict[int, Catalog] = {}

    def extend(n: int) -> None:
        results[n] = base.with_models({"id": f"grok-thread-{n}"})

    threads = [threading.Thread(target=extend, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    for n, catalog in results.items():
        ids = {spec.id for spec in catalog}
        assert f"grok-thread-{n}" in ids
        assert not {f"grok-thread-{m}" for m in range(6) if m != n} & ids
    assert base.get("grok-thread-0") is None
