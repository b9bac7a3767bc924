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
            # output_tokens and reasoning_tokens are right under either way of counting (Azure's Grok replies
            # report reasoning beside completion_tokens, OpenAI's inside it); cost is None for an unknown model.
            cost = f", ${completion.cost.total:.6f}" if completion.cost is not None else ""
            print(
                f"usage: {usage.prompt_tokens} prompt + {usage.output_tokens} answer + {usage.reasoning_tokens} "
                f"reasoning tokens, model {completion.model}{cost}"
            )


if __name__ == "__main__":
    main()
