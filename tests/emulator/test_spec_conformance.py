"""The emulator's bodies checked against the official specs in ../shared/spec.

/models responses are validated against the 2025-05-01 Azure AI Model Inference spec (OpenAPI 2 definitions),
/openai/v1 responses against OpenAI's Chat Completions schemas.

Where recorded Azure traffic departs from the specs (../shared/reference/foundry-wire-facts.md, sections 3 and 6),
the emulator follows the recording and the check is relaxed by exactly that much:

- the first stream event (``choices: []``, empty ``id``/``model``/``object``, ``prompt_filter_results``) and the
  usage event (``choices: []`` with ``usage``) break the Azure spec's ``choices`` ``minItems: 1``;
- every chunk's ``object`` is ``chat.completion.chunk`` while the Azure spec's enum copies ``chat.completion``;
- delta chunks before the last omit ``finish_reason``, which both specs mark required;
- a non-streamed Grok reply on ``/openai/v1`` says ``tool_calls: null`` when there are none, where OpenAI's schema
  wants an array or nothing.

The deltas themselves (``delta`` of every chunk) are valid against both specs unrelaxed: Grok streams each tool
call whole (``index``, ``id``, ``type``, ``name`` and ``arguments`` in one delta). Only the fragmented form
(``tool_call_deltas="fragmented"``, other gateways) needs one more relaxation: its argument pieces carry only
``index`` and ``function.arguments``, while Azure's ``StreamingChatResponseToolCallUpdate`` requires ``id`` (and,
through ``FunctionCall``, ``name``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from grok_azure._emulator._parameters import MODEL_INFERENCE_PARAMETERS, OPENAI_PARAMETERS
from grok_azure.testing import Fault, FoundryEmulator

from .conftest import MODELS_PATH, chat, sse_events, user
from .test_completions import PERSON, TIME, WEATHER

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
AZURE_SPEC = SHARED / "spec" / "azure-model-inference" / "2025-05-01" / "openapi.json"
OPENAI_SPEC = SHARED / "spec" / "openai-chat" / "openai-chat-schemas.json"

pytestmark = pytest.mark.skipif(
    not AZURE_SPEC.is_file() or not OPENAI_SPEC.is_file(),
    reason=f"the shared specs are not beside the repository (looked in {SHARED.resolve()})",
)


@pytest.fixture(scope="module")
def azure() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(AZURE_SPEC.read_text(encoding="utf-8"))
    return spec


@pytest.fixture(scope="module")
def openai_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(OPENAI_SPEC.read_text(encoding="utf-8"))
    return spec


def azure_validate(spec: dict[str, Any], definition: str, instance: Any) -> None:
    schema = {"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}
    jsonschema.Draft4Validator(schema).validate(instance)


def openai_validate(spec: dict[str, Any], name: str, instance: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


def relaxed(spec: dict[str, Any], *, fragmented: bool = False) -> dict[str, Any]:
    """The Azure spec with the documented stream relaxations (see the module docstring)."""
    patched = copy.deepcopy(spec)
    definitions = patched["definitions"]
    definitions["StreamingChatCompletionsUpdate"]["properties"]["object"]["enum"] = ["chat.completion.chunk"]
    definitions["StreamingChatChoiceUpdate"]["required"] = ["index", "delta"]
    if fragmented:
        update = definitions["StreamingChatResponseToolCallUpdate"]
        update["required"] = ["function"]
        update["properties"]["function"] = {**definitions["FunctionCall"], "required": []}
    return patched


def openai_relaxed(spec: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's schemas with the recorded departures (see the module docstring)."""
    patched = copy.deepcopy(spec)
    schemas = patched["components"]["schemas"]
    schemas["ChatCompletionMessageToolCalls"] = {
        "anyOf": [schemas["ChatCompletionMessageToolCalls"], {"type": "null"}]
    }
    schemas["CreateChatCompletionStreamResponse"]["properties"]["choices"]["items"]["required"] = [
        "delta",
        "index",
    ]
    return patched


# -- parameter lists -------------------------------------------------------------------------------------------


def test_models_route_parameter_list_is_the_spec_property_list(azure: dict[str, Any]) -> None:
    assert set(azure["definitions"]["ChatCompletionsOptions"]["properties"]) == MODEL_INFERENCE_PARAMETERS


def test_openai_route_parameters_are_openai_request_properties(openai_spec: dict[str, Any]) -> None:
    schemas = openai_spec["components"]["schemas"]

    def properties_of(schema: dict[str, Any]) -> set[str]:
        if "$ref" in schema:
            return properties_of(schemas[schema["$ref"].rsplit("/", 1)[1]])
        found = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            found |= properties_of(part)
        return found

    properties = properties_of(schemas["CreateChatCompletionRequest"])
    assert properties >= OPENAI_PARAMETERS
    # Only the OpenAI-only options that Foundry does not serve are left out.
    assert properties - OPENAI_PARAMETERS == {"moderation", "prompt_cache_options", "prompt_cache_retention"}


# -- /models against the Azure spec --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu_spec() -> Iterator[FoundryEmulator]:
    # grok-3-mini is retired; it is served (serve_retired) because its replies are the recorded ones.
    deployments = {
        "fast": "grok-4-1-fast-non-reasoning",
        "mini": "grok-3-mini",
        "grok4": "grok-4",
        "g46": "grok-4.6",
    }
    with FoundryEmulator(api_key="k", deployments=deployments, serve_retired=True) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def emu_fragmented() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(
        api_key="k", deployments={"fast": "grok-4-1-fast-non-reasoning"}, tool_call_deltas="fragmented"
    ) as emulator:
        yield emulator


@pytest.fixture
def client(emu_spec: FoundryEmulator) -> Iterator[httpx.Client]:
    emu_spec.reset()
    with httpx.Client(base_url=emu_spec.url, headers={"api-key": "k"}) as http:
        yield http


REQUESTS: list[dict[str, Any]] = [
    {"model": "fast"},
    {"model": "mini", "messages": user("think")},
    {"model": "fast", "tools": [WEATHER, TIME], "tool_choice": "required"},
    {
        "model": "fast",
        "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": PERSON}},
    },
    {"model": "fast", "max_tokens": 1},
]


@pytest.mark.parametrize("body", REQUESTS)
def test_models_completion_matches_chat_completions(
    azure: dict[str, Any], client: httpx.Client, body: dict[str, Any]
) -> None:
    response = chat(client, "model_inference", **body)
    assert response.status_code == 200
    azure_validate(azure, "ChatCompletions", response.json())


def test_models_parallel_tool_calls_match_chat_completions(
    azure: dict[str, Any], emu_spec: FoundryEmulator, client: httpx.Client
) -> None:
    emu_spec.reply(tool_calls=[{"name": "get_weather"}, {"name": "get_time"}])
    azure_validate(azure, "ChatCompletions", chat(client, "model_inference", tools=[WEATHER, TIME]).json())


@pytest.mark.parametrize("body", REQUESTS)
def test_models_stream_chunks_match_the_spec_with_documented_relaxations(
    azure: dict[str, Any], emu_spec: FoundryEmulator, client: httpx.Client, body: dict[str, Any]
) -> None:
    if "tools" in body:
        emu_spec.reply(tool_calls=[{"name": "get_weather"}, {"name": "get_time"}])
    response = chat(
        client,
        "model_inference",
        headers={"extra-parameters": "pass-through"},
        stream=True,
        stream_options={"include_usage": True},
        **body,
    )
    first, *deltas, usage_event, done = sse_events(response)
    assert done == "[DONE]"
    assert (first["choices"], first["id"], first["object"]) == ([], "", "")
    assert first["prompt_filter_results"]
    assert usage_event["choices"] == []
    azure_validate(azure, "CompletionsUsage", usage_event["usage"])
    patched = relaxed(azure)
    for chunk in deltas:
        azure_validate(patched, "StreamingChatCompletionsUpdate", chunk)
        [choice] = chunk["choices"]
        azure_validate(azure, "StreamingChatResponseMessageUpdate", choice["delta"])  # not relaxed at all
    with pytest.raises(
        jsonschema.ValidationError
    ):  # the relaxations are needed: Azure's chunks are not as specified
        azure_validate(azure, "StreamingChatCompletionsUpdate", deltas[0])


def test_models_fragmented_tool_call_pieces_need_the_extra_relaxation(
    azure: dict[str, Any], emu_fragmented: FoundryEmulator
) -> None:
    emu_fragmented.reply(tool_calls=[{"name": "get_weather"}, {"name": "get_time"}])
    with httpx.Client(base_url=emu_fragmented.url, headers={"api-key": "k"}) as http:
        response = chat(http, "model_inference", stream=True, tools=[WEATHER, TIME])
    _, *deltas, _ = sse_events(response)
    patched = relaxed(azure, fragmented=True)
    for chunk in deltas:
        azure_validate(patched, "StreamingChatCompletionsUpdate", chunk)
    pieces = [
        d for d in deltas if "id" not in (d["choices"][0]["delta"].get("tool_calls") or [{"id": ""}])[0]
    ]
    assert pieces
    with pytest.raises(jsonschema.ValidationError):
        azure_validate(relaxed(azure), "StreamingChatCompletionsUpdate", pieces[0])


def test_model_info_matches_the_spec(azure: dict[str, Any], client: httpx.Client) -> None:
    azure_validate(azure, "ModelInfo", client.get("/models/info?api-version=2025-05-01&model=fast").json())


ERRORS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("missing api-version", {}, {}),
    ("deployment not found", {"model": "nope"}, {}),
    ("extra parameter", {"n": 1}, {}),
    ("unsupported by the model", {"model": "g46", "presence_penalty": 0.5}, {}),
    ("retired api-version", {}, {}),
    ("invalid value", {"temperature": 5}, {}),
    ("context length", {"messages": user("x" * 600_000)}, {}),
    ("unauthorized", {}, {"api-key": "wrong"}),
]


@pytest.mark.parametrize(("case", "body", "headers"), ERRORS, ids=[e[0] for e in ERRORS])
def test_models_error_bodies_match_error_response(
    azure: dict[str, Any], client: httpx.Client, case: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    path = {
        "missing api-version": "/models/chat/completions",
        "retired api-version": "/models/chat/completions?api-version=2024-05-01-preview",
    }.get(case, MODELS_PATH)
    response = client.post(path, json={"model": "fast", "messages": user(), **body}, headers=headers)
    assert response.status_code >= 400
    azure_validate(azure, "Azure.Core.Foundations.ErrorResponse", response.json())
    assert response.headers["x-ms-error-code"] == response.json()["error"]["code"]


@pytest.mark.parametrize(
    "fault",
    [Fault.rate_limited(), Fault.server_error(503), Fault.content_filter(), Fault.context_length()],
    ids=lambda f: f.kind,
)
def test_models_fault_bodies_match_error_response(
    azure: dict[str, Any], emu_spec: FoundryEmulator, client: httpx.Client, fault: Fault
) -> None:
    emu_spec.fault(fault)
    response = chat(client, "model_inference")
    assert response.status_code == fault.status
    azure_validate(azure, "Azure.Core.Foundations.ErrorResponse", response.json())


# -- /openai/v1 against OpenAI's schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("body", REQUESTS)
def test_openai_completion_matches_create_chat_completion_response(
    openai_spec: dict[str, Any], client: httpx.Client, body: dict[str, Any]
) -> None:
    completion = chat(client, **body).json()
    openai_validate(openai_relaxed(openai_spec), "CreateChatCompletionResponse", completion)
    if completion["choices"][0]["message"]["tool_calls"] is None:  # the relaxation is needed
        with pytest.raises(jsonschema.ValidationError):
            openai_validate(openai_spec, "CreateChatCompletionResponse", completion)
    else:
        openai_validate(openai_spec, "CreateChatCompletionResponse", completion)


def test_openai_final_and_usage_chunks_match_the_stream_response_schema(
    openai_spec: dict[str, Any], client: httpx.Client
) -> None:
    events = sse_events(chat(client, model="mini", stream=True, stream_options={"include_usage": True}))
    for event in events[-3:-1]:  # the finish chunk and the usage event
        openai_validate(openai_spec, "CreateChatCompletionStreamResponse", event)


@pytest.mark.parametrize("body", REQUESTS)
def test_openai_stream_deltas_match_the_delta_schema_unrelaxed(
    openai_spec: dict[str, Any], emu_spec: FoundryEmulator, client: httpx.Client, body: dict[str, Any]
) -> None:
    if "tools" in body:
        emu_spec.reply(tool_calls=[{"name": "get_weather"}, {"name": "get_time"}])
    events = sse_events(chat(client, stream=True, stream_options={"include_usage": True}, **body))
    chunks = [e for e in events[1:-1] if e["choices"]]
    assert chunks
    for chunk in chunks:
        openai_validate(openai_relaxed(openai_spec), "CreateChatCompletionStreamResponse", chunk)
        openai_validate(openai_spec, "ChatCompletionStreamResponseDelta", chunk["choices"][0]["delta"])


def test_openai_validation_errors_match_error_response(
    openai_spec: dict[str, Any], client: httpx.Client
) -> None:
    for body in ({"temperature": 5}, {"model": "g46", "reasoning_effort": "minimal"}, {"bogus": 1}):
        response = chat(client, **body)
        assert response.status_code == 400
        openai_validate(openai_spec, "ErrorResponse", response.json())
