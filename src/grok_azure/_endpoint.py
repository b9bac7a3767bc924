"""Endpoint resolution: which URL, which route, which token scope.

Foundry exposes Grok on two chat routes. The OpenAI-compatible ``/openai/v1`` route is the default and takes no
``api-version``; the legacy model-inference ``/models`` route (retired with the ``azure-ai-inference`` SDK) needs
one. Users paste every shape of URL, so this module accepts a resource root, a route URL, a full
``/chat/completions`` URL or an API Management gateway URL, and turns it into one :class:`Endpoint`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import httpx

from ._errors import ConfigurationError
from ._secrets import scrub_url_text

Route = Literal["openai_v1", "model_inference"]
ROUTES: tuple[Route, ...] = get_args(Route)

DEFAULT_MODEL_INFERENCE_API_VERSION = "2025-05-01"

ENDPOINT_ENV_VARS = ("GROK_AZURE_ENDPOINT", "AZURE_INFERENCE_ENDPOINT")
API_KEY_ENV_VARS = ("GROK_AZURE_API_KEY", "AZURE_INFERENCE_CREDENTIAL")

AI_FOUNDRY_SCOPE = "https://ai.azure.com/.default"
COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"

_ROUTE_SUFFIXES: dict[str, Route] = {
    "/openai/v1": "openai_v1",
    "/models": "model_inference",
    "/api/models": "model_inference",
}
_ROUTE_PATHS: dict[Route, str] = {"openai_v1": "/openai/v1", "model_inference": "/models"}
_AZURE_HOST_SUFFIXES = (".services.ai.azure.com", ".openai.azure.com", ".cognitiveservices.azure.com")


@dataclass(frozen=True)
class Endpoint:
    """A normalised endpoint: the base URL of one chat route, without a trailing slash."""

    base_url: str
    route: Route
    host: str
    port: int = 443  # where requests go: the URL's own port, or its scheme's

    @property
    def chat_completions_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    @property
    def default_scope(self) -> str:
        """The Entra ID scope a token for this host must carry."""
        return scope_for_host(self.host)


def scope_for_host(host: str) -> str:
    """Pick the token audience Foundry expects for ``host``.

    ``*.services.ai.azure.com`` (Foundry resources) want ``https://ai.azure.com``; the classic
    ``*.openai.azure.com`` and ``*.cognitiveservices.azure.com`` hosts want Cognitive Services. Gateways and
    anything else default to the Foundry scope; pass ``credential_scopes=`` to override.
    """
    host = host.lower()
    if host.endswith((".openai.azure.com", ".cognitiveservices.azure.com")):
        return COGNITIVE_SERVICES_SCOPE
    return AI_FOUNDRY_SCOPE


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def first_env(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def resolve_endpoint(
    endpoint: str | None,
    route: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """Turn what the caller (or the environment) gave into an :class:`Endpoint`, or raise ConfigurationError."""
    if route is not None and route not in ROUTES:
        raise ConfigurationError(f"route must be one of {', '.join(ROUTES)}; got {route!r}")
    raw = (
        endpoint
        if endpoint is not None
        else first_env(ENDPOINT_ENV_VARS, os.environ if environ is None else environ)
    )
    if raw is None or not raw.strip():
        raise ConfigurationError(
            "No Foundry endpoint configured. Pass endpoint='https://<resource>.services.ai.azure.com' or set "
            "GROK_AZURE_ENDPOINT (AZURE_INFERENCE_ENDPOINT is read as a fallback)."
        )
    return _normalise(raw.strip(), route)


def _normalise(raw: str, route: str | None) -> Endpoint:
    shown = scrub_url_text(repr(raw))  # messages quote the URL without a password or secret query value
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"Endpoint {shown} is not a valid URL: {scrub_url_text(str(exc))}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"Endpoint must be an https:// URL with a host; got {shown}")
    if url.scheme == "http" and not is_loopback(url.host):
        raise ConfigurationError(
            f"Refusing plain http:// for {url.host}: credentials would travel in clear text. "
            "Use https:// (http:// is allowed only for loopback addresses such as a local emulator)."
        )
    if url.query or url.fragment:
        raise ConfigurationError(
            f"Endpoint {shown} must not carry a query string or fragment; pass api_version= for the /models route."
        )
    path = url.path.rstrip("/")
    if path.endswith("/chat/completions"):
        path = path[: -len("/chat/completions")]
    if "/openai/deployments/" in path + "/":
        raise ConfigurationError(
            "Deployment-scoped URLs (/openai/deployments/<name>) are the classic Azure OpenAI form; pass the "
            "resource root instead and give the deployment name as model=."
        )
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    port = url.port or (443 if url.scheme == "https" else 80)
    detected = next((r for suffix, r in _ROUTE_SUFFIXES.items() if path.endswith(suffix)), None)
    if detected is not None:
        if route is not None and route != detected:
            raise ConfigurationError(
                f"Endpoint path {path!r} is the {detected} route but route={route!r} was given"
            )
        return Endpoint(base_url=origin + path, route=detected, host=url.host, port=port)
    if not path:
        chosen: Route = "model_inference" if route == "model_inference" else "openai_v1"
        return Endpoint(base_url=origin + _ROUTE_PATHS[chosen], route=chosen, host=url.host, port=port)
    if route is None:
        hint = (
            "a Foundry resource takes its root URL"
            if url.host.lower().endswith(_AZURE_HOST_SUFFIXES)
            else "for a gateway, pass route='openai_v1' or route='model_inference'"
        )
        raise ConfigurationError(
            f"Cannot tell which Foundry route {shown} serves: {hint} (or end the URL with /openai/v1 or /models)."
        )
    # A gateway (e.g. Azure API Management) publishing one route under its own path: the URL is that route's base.
    return Endpoint(
        base_url=origin + path,
        route="model_inference" if route == "model_inference" else "openai_v1",
        host=url.host,
        port=port,
    )
