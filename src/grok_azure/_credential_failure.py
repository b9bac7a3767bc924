"""A credential that could not produce a token, explained once, briefly, with what to do about it.

azure-identity's ``DefaultAzureCredential`` fails with a dozen lines: one per sign-in it tried (some spanning two
lines), then a link. :func:`credential_error` keeps the first line of each attempt and says how to fix it: an API
key, or a sign-in such as ``az login``. The original exception is chained only as a stand-in without request,
traceback or chain (:func:`~grok_azure._secrets.sanitized_cause`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import CredentialError
from ._secrets import sanitized_cause, scrub_credential_text

__all__ = ["credential_error"]

_MAX_LINE = 200
_MAX_ATTEMPTS = 12
_ATTEMPTS = "Attempted credentials:"
# No "api_key=" in the text: the secret scrubber would take what follows it for a key, and hide the hint.
_FIX_WITH_KEY = "or use an API key instead: set GROK_AZURE_API_KEY, or pass the key to the client as api_key."
_FIX_SIGN_IN = (
    "To fix it, sign in with `az login` (Azure CLI), or give the process a managed identity, a service principal "
    "(AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET) or a workload identity; "
)


def credential_error(exc: BaseException, credential: object, scopes: Sequence[str]) -> CredentialError:
    """The :class:`CredentialError` for ``exc``, raised by ``credential`` when asked for a token for ``scopes``.

    Args:
        exc: what the credential raised (azure-core's ``ClientAuthenticationError`` and its
            ``CredentialUnavailableError``, or anything a custom credential or provider raises).
        credential: the credential, named in the message (never its contents).
        scopes: the scopes asked for, named in the message.
    """
    explanation = _explanation(exc)
    if hasattr(credential, "get_token") or hasattr(credential, "get_token_info"):
        name, fix = type(credential).__name__, _FIX_SIGN_IN + _FIX_WITH_KEY
    else:
        name, fix = (
            "the token provider",
            "To fix it, check the token provider passed as credential=, " + _FIX_WITH_KEY,
        )
    error = CredentialError(
        f"Could not get an Entra ID token for {', '.join(scopes)} from {name}: {explanation}\n{fix}"
    )
    error.__cause__ = sanitized_cause(exc)
    return error


def _explanation(exc: BaseException) -> str:
    # azure-core errors keep the text in .message; str() may prefix or repeat it.
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) and message.strip() else str(exc)
    # Scrubbed whole, before any line is shortened: a cut through a token would leave its start behind.
    text = scrub_credential_text(text)
    if not text.strip():
        return type(exc).__name__
    head, found, rest = text.partition(_ATTEMPTS)
    if not found:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        summary = " ".join(lines[:3])
        return _short(summary if _is_azure(exc) else f"{type(exc).__name__}: {summary}")
    attempts = [part.split("\n", 1)[0].strip() for part in rest.split("\n\t")]
    listed = [f"  {_short(line)}" for line in attempts if line][:_MAX_ATTEMPTS]
    return f"{_short(' '.join(head.split()))} It tried:\n" + "\n".join(listed)


def _is_azure(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("azure.")


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 3] + "..."
