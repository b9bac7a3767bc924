"""Deployments mapped to catalog models: ``deployment_models=``, the environment, a file; ``client.models``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import respx

from grok_azure import AsyncGrokClient, ConfigurationError, Deployment, GrokClient, GrokError

# Public names the lead re-exports from grok_azure (imported from their modules until then).
from grok_azure._catalog import ModelSpec, Price, load_catalog
from grok_azure._warnings import GrokAzureWarning

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]


def client(**options: object) -> GrokClient:
    options.setdefault("environ", {})
    return GrokClient(endpoint=ENDPOINT, api_key=KEY, **options)  # type: ignore[arg-type]


def test_a_mapped_deployment_resolves_to_its_catalog_model() -> None:
    with client(deployment_models={"prod-chat": "grok-4.1-fast-non-reasoning", "thinker": "grok-4"}) as c:
        prod = c.models.get("prod-chat")
        assert prod.deployment == "prod-chat"
        assert prod.spec is load_catalog().require("grok-4-1-fast-non-reasoning")
        assert prod.model == "grok-4-1-fast-non-reasoning"
        assert prod.source == "deployment_models"
        assert [d.deployment for d in c.models.list()] == ["prod-chat", "thinker"]


def test_a_deployment_named_after_a_catalog_model_needs_no_mapping() -> None:
    with client() as c:
        named = c.models.get("grok-4.1-fast-reasoning")
        assert named.model == "grok-4-1-fast-reasoning"
        assert named.source == "catalog"
        assert c.models.list() == []  # the client cannot know such a deployment exists until it is used


def test_the_environment_maps_deployments() -> None:
    env = {"GROK_AZURE_DEPLOYMENTS": " a = grok-4 , ,b=grok-4.7"}
    with client(environ=env) as c:
        assert [(d.deployment, d.model, d.source) for d in c.models.list()] == [
            ("a", "grok-4", "environment"),
            ("b", "grok-4.7", "environment"),
        ]


def test_a_file_maps_deployments(tmp_path: Path) -> None:
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({"prod": "grok-4-1-fast-reasoning"}))
    with client(environ={"GROK_AZURE_DEPLOYMENTS_FILE": str(path)}) as c:
        prod = c.models.get("prod")
        assert (prod.model, prod.source) == ("grok-4-1-fast-reasoning", "file")


def test_the_argument_beats_the_file_which_beats_the_environment_name_by_name(tmp_path: Path) -> None:
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({"shared": "grok-4.6", "from-file": "grok-4.3"}))
    env = {
        "GROK_AZURE_DEPLOYMENTS": "shared=grok-4,from-env=grok-4-20-reasoning",
        "GROK_AZURE_DEPLOYMENTS_FILE": str(path),
    }
    with client(environ=env, deployment_models={"shared": "grok-4.7"}) as c:
        found = {d.deployment: (d.model, d.source) for d in c.models.list()}
    assert found == {
        "shared": ("grok-4.7", "deployment_models"),
        "from-env": ("grok-4-20-reasoning", "environment"),
        "from-file": ("grok-4.3", "file"),
    }


def test_a_mapping_to_an_unknown_model_fails_at_construction_with_suggestions() -> None:
    with pytest.raises(ConfigurationError) as info:
        client(deployment_models={"prod": "grok-4.77"})
    message = str(info.value)
    assert "'prod'" in message
    assert "Did you mean" in message
    assert "grok-4.7" in message
    assert KEY not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prod", "expected NAME=MODEL"),
        ("=grok-4", "expected NAME=MODEL"),
        ("prod=", "expected NAME=MODEL"),
        ("a=grok-4,a=grok-4.7", "'a' is given twice"),
        ("a=grok-9", "GROK_AZURE_DEPLOYMENTS: deployment 'a' maps to an unknown model"),
    ],
)
def test_a_malformed_environment_mapping_is_a_configuration_error(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match="GROK_AZURE_DEPLOYMENTS") as info:
        client(environ={"GROK_AZURE_DEPLOYMENTS": text})
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b'["prod", "grok-4"]', "expected a JSON object"),
        (b'{"prod": 4}', "must map a deployment name to a model name"),
        (b'{"prod": "grok-4", "prod": "grok-4.7"}', "'prod' is given twice"),
        (b'{"prod": "grok-nine"}', "maps to an unknown model"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_a_malformed_deployments_file_is_a_configuration_error(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "deployments.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as info:
        client(environ={"GROK_AZURE_DEPLOYMENTS_FILE": str(path)})
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_a_missing_or_huge_deployments_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the file"):
        client(environ={"GROK_AZURE_DEPLOYMENTS_FILE": str(tmp_path / "nope.json")})
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (1 << 20) + b"{}")
    with pytest.raises(ConfigurationError, match="over 1 MiB"):
        client(environ={"GROK_AZURE_DEPLOYMENTS_FILE": str(huge)})


@pytest.mark.parametrize(
    "mapping",
    [["prod", "grok-4"], {"": "grok-4"}, {"prod": ""}, {"prod": 4}, {3: "grok-4"}],
)
def test_a_malformed_argument_is_a_configuration_error(mapping: object) -> None:
    with pytest.raises(ConfigurationError, match="deployment_models"):
        client(deployment_models=mapping)


def test_get_of_an_unknown_deployment_names_the_mapped_ones() -> None:
    with client(deployment_models={"prod": "grok-4"}) as c, pytest.raises(ConfigurationError) as info:
        c.models.get("prdo")
    assert "'prdo'" in str(info.value)
    assert "'prod'" in str(info.value)
    assert isinstance(info.value, GrokError)


def test_a_user_model_from_catalog_or_a_spec_maps_like_a_packaged_one() -> None:
    grok5 = ModelSpec(id="grok-5", context_window=1_000_000, price=Price(input=1.0, output=2.0))
    catalog = load_catalog().with_models(grok5)
    direct = ModelSpec(id="grok-lab", context_window=64_000)
    with client(catalog=catalog, deployment_models={"next": "grok-5", "lab": direct}) as c:
        assert c.models.get("next").spec == grok5
        assert c.models.get("lab").spec is direct
        assert c.models.catalog is catalog
        assert c.models.get("grok-5").source == "catalog"


def test_the_catalog_environment_variable_is_read_from_environ(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [{"id": "grok-6", "context_window": 3_000_000}]}))
    with client(environ={"GROK_AZURE_CATALOG": str(path)}, deployment_models={"six": "grok-6"}) as c:
        assert c.models.get("six").spec.context_window == 3_000_000


def test_the_async_client_has_the_same_synchronous_models_object() -> None:
    async_client = AsyncGrokClient(
        endpoint=ENDPOINT, api_key=KEY, environ={}, deployment_models={"prod": "grok-4.7"}
    )
    assert async_client.models.get("prod").model == "grok-4.7"
    assert [d.deployment for d in async_client.models.list()] == ["prod"]


def test_with_options_copies_share_the_mapping() -> None:
    with client(deployment_models={"prod": "grok-4.7"}) as c:
        copy = c.with_options(timeout=5)
        assert copy.models.get("prod") == c.models.get("prod")
        assert copy.usage is c.usage


def test_deployments_of_a_pool_named_after_catalog_models_are_listed() -> None:
    pool = [
        Deployment(endpoint="https://east.services.ai.azure.com", api_key=KEY, deployment="grok-4"),
        Deployment(endpoint="https://west.services.ai.azure.com", api_key=KEY, deployment="mine"),
    ]
    with GrokClient(deployments=pool, environ={}, deployment_models={"mine": "grok-4"}) as c:
        listed = {d.deployment: (d.model, d.source) for d in c.models.list()}
    assert listed == {"mine": ("grok-4", "deployment_models"), "grok-4": ("grok-4", "deployments")}


def test_the_served_model_name_in_a_response_is_not_used_as_a_catalog_key(mock_api: respx.MockRouter) -> None:
    # Azure answers with the served model's name ("grok-3-mini-high" for a grok-3-mini deployment); the cost
    # comes from the deployment's mapped model, never from that field.
    mock_api.post(CHAT_URL).respond(200, json=completion_body(model="grok-4"))
    with client(deployment_models={"prod": "grok-4-1-fast-non-reasoning"}) as c:
        completion = c.chat.completions.create(model="prod", messages=MESSAGES)
    assert completion.model == "grok-4"
    assert completion.cost is not None
    assert completion.cost.price == load_catalog().require("grok-4-1-fast-non-reasoning").price


def test_repr_names_the_deployment_and_model() -> None:
    with client(deployment_models={"prod": "grok-4.7"}) as c:
        assert (
            repr(c.models.get("prod"))
            == "DeployedModel(deployment='prod', model='grok-4.7', source='deployment_models')"
        )
        assert "prod" in repr(c.models)


def test_a_mapped_deployment_makes_no_warning_on_calls(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with client(deployment_models={"prod": "grok-4-1-fast-non-reasoning"}) as c, warnings.catch_warnings():
        warnings.simplefilter("error", GrokAzureWarning)
        c.chat.completions.create(model="prod", messages=MESSAGES)
