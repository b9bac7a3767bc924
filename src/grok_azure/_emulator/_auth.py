"""Foundry's key and token checks, with Azure's real 401 bodies."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from ._errors import azure_error

TokenValidator = Callable[[str], bool]

MISSING_CREDENTIAL = (
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
INVALID_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
INVALID_TOKEN = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def check_auth(headers: Mapping[str, str], api_key: str, token_validator: TokenValidator | None) -> None:
    """Raise a 401 Rejection unless the request carries valid credentials.

    ``api-key`` wins when present (azure-ai-inference sends it together with ``Authorization: Bearer <key>``);
    otherwise ``Authorization: Bearer`` must carry the key or a token that ``token_validator`` accepts.
    """
    key = headers.get("api-key")
    if key is not None:
        if not _same(key, api_key):
            raise azure_error(401, "401", INVALID_KEY)
        return
    authorization = headers.get("authorization")
    if authorization is None:
        raise azure_error(401, "401", MISSING_CREDENTIAL)
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise azure_error(401, "401", INVALID_TOKEN)
    if _same(credential, api_key):
        return
    if token_validator is None or not token_validator(credential):
        raise azure_error(401, "401", INVALID_TOKEN)
