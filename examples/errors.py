"""One exception per failure: catching RateLimitError, ContentFilterError, NotFoundError and friends.

Against the bundled emulator (GROK_AZURE_ENDPOINT unset) faults are queued before each call to show every
failure for real: a 429 with Retry-After, a content-filter 400, a 503, a stream cut mid-answer. Against your
own resource only the failures you can cause safely are shown (a wrong deployment name, an invalid parameter).

    python examples/errors.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grok_azure import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ContentFilterError,
    GrokClient,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    StreamError,
    StreamInterruptedError,
)
from grok_azure.testing import Fault, foundry_target

if TYPE_CHECKING:
    from grok_azure.testing import FoundryEmulator

HELLO = [{"role": "user", "content": "Tell me a short story about a lighthouse keeper."}]


def ask(client: GrokClient, deployment: str, **params: Any) -> str:
    """One streamed chat, with the handling each failure calls for."""
    try:
        with client.chat.completions.stream(model=deployment, messages=HELLO, **params) as stream:
            return "ok: " + "".join(stream.text_stream)[:60]
    except RateLimitError as exc:
        return f"RateLimitError: quota used up, retry after {exc.retry_after} s"
    except ContentFilterError as exc:
        return f"ContentFilterError: prompt blocked, categories {exc.filtered_categories}"
    except NotFoundError as exc:
        return f"NotFoundError: {exc.code}; check the deployment name"
    except (AuthenticationError, PermissionDeniedError) as exc:
        return f"{type(exc).__name__}: check the key, or the Entra ID role (status {exc.status_code})"
    except InternalServerError as exc:
        return f"InternalServerError: the service failed with {exc.status_code}; retry later"
    except APIStatusError as exc:  # any other HTTP error status
        return f"{type(exc).__name__}: {exc.status_code} {exc.message}"
    except StreamInterruptedError as exc:
        partial = exc.partial.text if exc.partial is not None else ""
        return f"StreamInterruptedError: the connection dropped; kept {partial!r}"
    except StreamError as exc:
        return f"StreamError: the service sent an error event ({exc.code})"
    except APITimeoutError:
        return "APITimeoutError: no answer in time"
    except APIConnectionError as exc:  # after the two subclasses above
        return f"APIConnectionError: {exc.message}"
    except RequestValidationError as exc:
        return f"RequestValidationError: {exc.param} is invalid, nothing was sent"


def emulated(emulator: FoundryEmulator, client: GrokClient, deployment: str) -> None:
    print("GROK_AZURE_ENDPOINT is not set: queueing faults on the embedded emulator to demonstrate them.\n")
    scenarios: list[tuple[str, Callable[[], object]]] = [
        ("a 429", lambda: emulator.fault(Fault.rate_limited(retry_after=2))),
        ("a content-filter 400", lambda: emulator.fault(Fault.content_filter())),
        ("a 503", lambda: emulator.fault(Fault.server_error(503))),
        ("a dropped stream", lambda: emulator.fault(Fault.drop(after_chunks=4))),
        ("an error event mid-stream", lambda: emulator.fault(Fault.error_event(after_chunks=3))),
        ("no fault", lambda: None),
    ]
    for name, inject in scenarios:
        inject()
        print(f"{name:<27} -> {ask(client, deployment)}")


def main() -> None:
    # max_retries=0: each failure shows once (by default the client retries 429s, 5xx and dropped connections).
    with foundry_target() as target, target.client(timeout=30, max_retries=0) as client:
        if target.emulator is not None:
            emulated(target.emulator, client, target.deployment)
        print(f"{'a wrong deployment name':<27} -> {ask(client, 'no-such-deployment')}")
        print(f"{'temperature=5':<27} -> {ask(client, target.deployment, temperature=5)}")


if __name__ == "__main__":
    main()
