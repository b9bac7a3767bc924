"""Entra ID (keyless) authentication: a TokenCredential, or a bearer token provider.

With GROK_AZURE_ENDPOINT set this signs in with DefaultAzureCredential (``az login``, a managed identity,
environment variables...), whatever GROK_AZURE_API_KEY says; your identity needs the "Cognitive Services User"
role on the resource. Without it, the example runs against an emulator that accepts one fake token, using a
fake credential: no Azure sign-in happens.

    python examples/entra_id.py
"""

from __future__ import annotations

import os
import time
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.identity import get_bearer_token_provider

from grok_azure import GrokClient

FAKE_TOKEN = "fake-entra-token-for-the-emulator"


class FakeCredential:
    """Stands in for DefaultAzureCredential against the emulator; records the scopes it is asked for."""

    def __init__(self) -> None:
        self.requested: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requested.append(scopes)
        return AccessToken(FAKE_TOKEN, int(time.time()) + 3600)


def run(endpoint: str, deployment: str, credential: TokenCredential) -> None:
    messages = [{"role": "user", "content": "Say hello in French."}]

    # 1. A TokenCredential: the client picks the token scope from the host and caches tokens until expiry.
    with GrokClient(endpoint=endpoint, credential=credential) as client:
        scope = client.endpoint.default_scope
        print(f"scope for {client.endpoint.host}: {scope}")
        print("credential:", client.chat.completions.create(model=deployment, messages=messages).text)

    # 2. A bearer token provider, as the openai SDK takes it: a callable returning a token string.
    provider = get_bearer_token_provider(credential, scope)
    with GrokClient(endpoint=endpoint, credential=provider) as client:
        print("token provider:", client.chat.completions.create(model=deployment, messages=messages).text)


def main() -> None:
    endpoint = os.environ.get("GROK_AZURE_ENDPOINT")
    if endpoint:
        from azure.identity import DefaultAzureCredential

        deployment = os.environ.get("GROK_AZURE_DEPLOYMENT")
        if not deployment:
            raise SystemExit("Set GROK_AZURE_DEPLOYMENT to the name of your Grok deployment.")
        with DefaultAzureCredential() as credential:
            run(endpoint, deployment, credential)
        return

    from grok_azure.testing import FoundryEmulator

    fake = FakeCredential()
    with FoundryEmulator(token_validator=lambda token: token == FAKE_TOKEN) as emulator:
        print(f"GROK_AZURE_ENDPOINT is not set: using a Foundry emulator at {emulator.url} that accepts")
        print("a fake Entra ID token, obtained from a fake credential (no Azure sign-in happens).\n")
        run(emulator.url, "grok-4.7", fake)
        headers = emulator.requests[-1].headers
        print(f"\nthe emulator saw 'Authorization: Bearer ...' and no api-key: {'api-key' not in headers}")
    print(f"the fake credential was asked for: {sorted({s for scopes in fake.requested for s in scopes})}")


if __name__ == "__main__":
    main()
