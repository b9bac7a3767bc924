"""Structured extraction: a pydantic model as the response format, parsed (and streamed) back into it.

Against your Foundry resource when GROK_AZURE_ENDPOINT is set (with GROK_AZURE_DEPLOYMENT, and
GROK_AZURE_API_KEY or an Entra ID sign-in); otherwise against the Foundry emulator bundled with grok-azure
(``pip install "grok-azure[emulator]"``), which answers with a small value valid against the schema.

    python examples/extract_structured.py
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from grok_azure import ContentPartialEvent, LengthFinishReasonError, OutputValidationError
from grok_azure.testing import foundry_target

TEXT = (
    "Invoice INV-0042 from Contoso Ltd, due 2025-07-01: 3 x Widget at 4.50 EUR, 1 x Gadget at 12.00 EUR. "
    "Contact: billing@contoso.example."
)


class LineItem(BaseModel):
    description: str
    quantity: int = Field(ge=1)
    unit_price: float


class Invoice(BaseModel):
    """An invoice extracted from free text."""

    number: str
    vendor: str
    due_date: str = Field(description="ISO 8601 date")
    currency: str = Field(description="ISO 4217 code")
    items: list[LineItem]
    contact_email: str | None = None


def main() -> None:
    messages = [
        {"role": "system", "content": "Extract the invoice. Use null for anything the text does not say."},
        {"role": "user", "content": TEXT},
    ]
    with foundry_target() as target, target.client() as client:
        print(f"deployment {target.deployment} at {target.endpoint}\n")
        try:
            completion = client.chat.completions.parse(
                model=target.deployment,
                messages=messages,
                response_format=Invoice,
                max_repairs=1,  # a reply that does not validate is sent back once with its errors
                max_tokens=800,
            )
        except LengthFinishReasonError:
            print("the reply was cut by max_tokens: raise it")
            return
        except OutputValidationError as exc:
            print(f"no valid invoice after {len(exc.attempts) + 1} attempts: {exc.errors}")
            return
        invoice = completion.choices[0].message.parsed
        if invoice is None:  # the model refused
            print(f"refused: {completion.choices[0].message.refusal}")
            return
        print(
            f"parsed: {type(invoice).__name__} {invoice.number} from {invoice.vendor}, {len(invoice.items)} item(s)"
        )
        print(f"attempts: {len(completion.attempts) + 1}, tokens: {completion.total_tokens_all_attempts}")

        # The same request streamed: partial JSON as it arrives, the validated object at the end.
        with client.chat.completions.stream(
            model=target.deployment, messages=messages, response_format=Invoice, max_tokens=800
        ) as stream:
            updates = sum(1 for event in stream if isinstance(event, ContentPartialEvent))
            streamed = stream.get_final_completion().parsed
        print(f"streamed: {updates} partial update(s), then {type(streamed).__name__}")


if __name__ == "__main__":
    main()
