"""Azure content-filter annotations on prompts, choices and error bodies."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from ._base import GrokModel

__all__ = [
    "ContentFilterDetectionResult",
    "ContentFilterErrorDetail",
    "ContentFilterResults",
    "ContentFilterSeverityResult",
    "PromptFilterResult",
]


class ContentFilterSeverityResult(GrokModel):
    """A severity-graded category (hate, self-harm, sexual, violence)."""

    filtered: bool = False
    severity: str | None = None


class ContentFilterDetectionResult(GrokModel):
    """A detect/not-detect category (jailbreak, protected material, indirect attack, profanity)."""

    filtered: bool = False
    detected: bool | None = None


class ContentFilterErrorDetail(GrokModel):
    """Why filtering could not run (the content was then not filtered)."""

    code: str | None = None
    message: str | None = None


class ContentFilterResults(GrokModel):
    """Per-category filter results; every category is optional because Azure sends only those it ran."""

    hate: ContentFilterSeverityResult | None = None
    # The content-filtering error body spells it "self-harm"; completions spell it "self_harm".
    self_harm: ContentFilterSeverityResult | None = Field(
        default=None, validation_alias=AliasChoices("self_harm", "self-harm")
    )
    sexual: ContentFilterSeverityResult | None = None
    violence: ContentFilterSeverityResult | None = None
    jailbreak: ContentFilterDetectionResult | None = None
    protected_material_text: ContentFilterDetectionResult | None = None
    protected_material_code: ContentFilterDetectionResult | None = None
    indirect_attack: ContentFilterDetectionResult | None = None
    profanity: ContentFilterDetectionResult | None = None
    error: ContentFilterErrorDetail | None = None

    @property
    def filtered_categories(self) -> list[str]:
        """Names of the categories that were filtered, including unknown ones such as custom blocklists."""
        names: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if (
                isinstance(value, (ContentFilterSeverityResult, ContentFilterDetectionResult))
                and value.filtered
            ):
                names.append(name)
        for name, value in (self.model_extra or {}).items():
            if isinstance(value, dict) and value.get("filtered") is True:
                names.append(name)
        return names

    @property
    def filtered(self) -> bool:
        """True when any category was filtered."""
        return bool(self.filtered_categories)


class PromptFilterResult(GrokModel):
    """Filter results for one prompt (Azure sends one per prompt index)."""

    prompt_index: int = 0
    content_filter_results: ContentFilterResults | None = None
