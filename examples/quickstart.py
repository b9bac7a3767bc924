"""Quickstart: one streamed chat with Grok on Azure AI Foundry, then its token usage.

Against your Foundry resource when GROK_AZURE_ENDPOINT is set (with GROK_AZURE_DEPLOYMENT, and
GROK_AZURE_API_KEY or an Entra ID sign-in); otherwise against the Foundry emulator bundled with grok-azure
(``pip install "grok-azure[emulator]"``), which echoes the prompt.

    python examples/quickstart.py
"""

from __future__ import annotations

from grok_azure.testing import foundry_target

PROMPT = "In two sentences, what is Azure AI Foundry?"


def main() -> None:
    with foundry_target() as target, target.client() as client:
        print(f"deployment {target.deployment} at {target.endpoint}\n")
        with client.chat.completions.stream(
            model=target.deployment, messages=[{"role": "user", "content": PROMPT}]
        ) as stream:
            for text in stream.text_stream:
                print(text, end="", flush=True)
            completion = stream.get_final_completion()
        print("\n")
        usage = completion.usage
        if usage is not None:
            print(
                f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens "
                f"({usage.reasoning_tokens} of them reasoning), model {completion.model}"
            )


if __name__ == "__main__":
    main()
