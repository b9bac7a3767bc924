"""One catalog entry (:class:`ModelSpec`) and its price (:class:`Price`): validated, immutable, no I/O.

Every fact about a model is either *stated* (an Azure source, or the user who added the entry, says so) or
*unconfirmed* (inferred, taken from the xAI API's documentation, or simply unknown). The entry's ``unconfirmed``
set names the unconfirmed facts; a fact missing from an entry is unknown, takes a permissive default and is added
to ``unconfirmed`` automatically, so an entry needs nothing but its ``id``. Checks raise only on stated facts and
warn on unconfirmed ones (see :meth:`ModelSpec.knows_rejects`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

__all__ = ["FACT_FIELDS", "Effort", "Modality", "ModelSpec", "Price", "Rejection", "Status"]

Status = Literal["ga", "preview", "retired"]
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
Modality = Literal["text", "image"]
Rejection = Literal["stated", "unconfirmed"]

# The facts an entry may leave unknown or mark unconfirmed (the schema's "fieldName"). A missing one of these is
# unknown; the other fields (id, aliases, status, source, notes...) describe the entry rather than the model.
FACT_FIELDS: tuple[str, ...] = (
    "released",
    "retired_on",
    "replacement",
    "context_window",
    "max_output_tokens",
    "input_modalities",
    "function_calling",
    "json_schema",
    "json_object",
    "reasons",
    "effort_values",
    "default_effort",
    "returns_reasoning_content",
    "rejected_parameters",
    "price",
)
_REJECTION_PREFIX = "rejected_parameters."
_PENALTIES_AND_STOP = frozenset({"presence_penalty", "frequency_penalty", "stop"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: object) -> object:
    # pydantic's lax date also takes Unix timestamps and other shapes the JSON Schema refuses: accept only a
    # date or a YYYY-MM-DD string, so the schema and the loader agree.
    if isinstance(value, datetime.datetime) or not isinstance(value, (str, datetime.date)):
        raise ValueError(f"expected an ISO date (YYYY-MM-DD), got {type(value).__name__}")
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)")
        return datetime.date.fromisoformat(value)
    return value


def _unique(value: object) -> object:
    # JSON arrays become tuples or frozensets; the schema's uniqueItems would otherwise be lost silently.
    if isinstance(value, (list, tuple)):
        seen: set[object] = set()
        for item in value:
            if isinstance(item, (str, int)) and item in seen:
                raise ValueError(f"{item!r} is listed twice")
            seen.add(item)
    return value


_Date = Annotated[datetime.date, BeforeValidator(_iso_date)]
_ModelName = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
_PartialDate = Annotated[str, StringConstraints(strict=True, pattern=r"^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$")]
_Parameter = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z_]+$")]
_Tokens = Annotated[StrictInt, Field(ge=1)]
_Usd = Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
_Text = Annotated[StrictStr, Field(min_length=1)]


class Price(BaseModel):
    """USD per 1M tokens for a Global Standard deployment.

    Args:
        input: price of a prompt token.
        output: price of a completion token (reasoning tokens are billed at this price too).
        cached_input: price of a prompt token served from the cache; ``None`` when unknown (then cached tokens
            cost ``input``).
        confirmed: True only when read from an Azure price meter.
        source: where the figures come from.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: _Usd
    output: _Usd
    cached_input: _Usd | None = None
    confirmed: StrictBool = False
    source: StrictStr = ""


class ModelSpec(BaseModel):
    """What the SDK knows about one Grok model on Azure (one catalog entry).

    Only ``id`` is required: ``ModelSpec(id="grok-5", context_window=1_000_000)`` describes a model released after
    this SDK. Every fact left out is unknown: it takes the permissive default shown and is listed in
    ``unconfirmed``, so it never blocks a request. Invalid values raise ``pydantic.ValidationError`` (a
    ``ValueError``); entries given to :meth:`Catalog.with_models` as mappings or read from files raise
    :class:`CatalogError` instead.

    Args:
        id: the Azure model name ("grok-4-1-fast-reasoning", "grok-4.7"), lower case.
        aliases: other spellings that find this entry (lookups also ignore case and turn "4.1" into "4-1").
        status: "ga", "preview" or "retired" (default "ga").
        released: the Azure release date, "YYYY-MM" or "YYYY-MM-DD".
        retired_on: the past retirement date of a retired model, or the scheduled one of a current model.
        replacement: the model to move to; required, with ``retired_on``, when ``status`` is "retired".
        context_window: the most tokens a request (prompt and output) may hold; ``None`` when unknown.
        max_output_tokens: the most completion tokens; ``None`` when unknown or bounded only by the context.
        input_modalities: "text" and optionally "image" (default both: unknown must not refuse images).
        function_calling: whether ``tools`` work (default True).
        json_schema: whether ``response_format`` ``json_schema`` works; ``None`` when unknown.
        json_object: whether ``response_format`` ``json_object`` works; ``None`` when unknown.
        reasons: whether the model reasons before answering (default False).
        effort_values: the ``reasoning_effort`` values documented for Azure, in increasing order; ``()`` when none
            are documented or the parameter is rejected.
        default_effort: the effort used when the request sets none; must be one of ``effort_values``.
        returns_reasoning_content: whether replies carry ``reasoning_content`` (default False).
        rejected_parameters: body fields a source says make the request fail.
        price: the Global Standard price, or ``None`` when unknown.
        source: where the entry's facts come from.
        unconfirmed: facts no Azure source confirms: names from :data:`FACT_FIELDS`, or
            ``"rejected_parameters.<param>"`` for one rejection ("rejected_parameters" alone covers them all).
        conflicts: one line per disagreement between sources, saying what was kept.
        notes: free text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _ModelName
    aliases: Annotated[tuple[_ModelName, ...], BeforeValidator(_unique)] = ()
    status: Status = "ga"
    released: _PartialDate | None = None
    retired_on: _Date | None = None
    replacement: _ModelName | None = None
    context_window: _Tokens | None = None
    max_output_tokens: _Tokens | None = None
    input_modalities: Annotated[frozenset[Modality], BeforeValidator(_unique)] = frozenset({"text", "image"})
    function_calling: StrictBool = True
    json_schema: StrictBool | None = None
    json_object: StrictBool | None = None
    reasons: StrictBool = False
    effort_values: Annotated[tuple[Effort, ...], BeforeValidator(_unique)] = ()
    default_effort: Effort | None = None
    returns_reasoning_content: StrictBool = False
    rejected_parameters: Annotated[frozenset[_Parameter], BeforeValidator(_unique)] = frozenset()
    price: Price | None = None
    source: StrictStr = ""
    unconfirmed: Annotated[frozenset[StrictStr], BeforeValidator(_unique)] = frozenset()
    conflicts: tuple[_Text, ...] = ()
    notes: StrictStr = ""

    @model_validator(mode="before")
    @classmethod
    def _unknown_facts_are_unconfirmed(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # pydantic reports the wrong type
        missing = [name for name in FACT_FIELDS if name not in data]
        given = data.get("unconfirmed", ())
        if not missing or not isinstance(given, (list, tuple, set, frozenset)):
            return data  # a malformed "unconfirmed" is reported by field validation
        return {**data, "unconfirmed": [*given, *(name for name in missing if name not in given)]}

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        if self.status == "retired" and (self.retired_on is None or self.replacement is None):
            raise ValueError("a retired model needs retired_on and replacement")
        if self.default_effort is not None and self.default_effort not in self.effort_values:
            raise ValueError(f"default_effort {self.default_effort!r} is not one of effort_values")
        if "reasoning_effort" in self.rejected_parameters and self.effort_values:
            raise ValueError("effort_values must be empty when reasoning_effort is rejected")
        if "text" not in self.input_modalities:
            raise ValueError("input_modalities must include 'text'")
        for fact in sorted(self.unconfirmed):
            param = fact.removeprefix(_REJECTION_PREFIX)
            if fact in FACT_FIELDS or (param != fact and param in self.rejected_parameters):
                continue
            raise ValueError(
                f"unconfirmed entry {fact!r} is neither a fact field ({', '.join(FACT_FIELDS)}) nor "
                "'rejected_parameters.<param>' for a parameter in rejected_parameters"
            )
        return self

    # -- what is known ----------------------------------------------------------------------------------------

    @property
    def is_current(self) -> bool:
        """Whether the model can still be deployed (GA or preview)."""
        return self.status != "retired"

    @property
    def rejects_penalties_and_stop(self) -> bool:
        """Whether presence_penalty, frequency_penalty and stop are all listed as rejected (stated or not)."""
        return self.rejected_parameters >= _PENALTIES_AND_STOP

    def is_stated(self, fact: str) -> bool:
        """Whether ``fact`` is stated by a source rather than unconfirmed or unknown.

        Args:
            fact: a name from :data:`FACT_FIELDS`, or ``"rejected_parameters.<param>"``.
        """
        if fact in self.unconfirmed:
            return False
        field, dot, _ = fact.partition(".")
        return not (dot and field in self.unconfirmed)

    def rejection(self, param: str) -> Rejection | None:
        """How the catalog knows that the model rejects body field ``param``.

        Args:
            param: a request body field ("stop", "reasoning_effort"...).

        Returns:
            "stated" when a source says so (refuse the request), "unconfirmed" when it is only inferred (warn,
            send anyway), ``None`` when no rejection is recorded.
        """
        if param not in self.rejected_parameters:
            return None
        return "stated" if self.is_stated(_REJECTION_PREFIX + param) else "unconfirmed"

    def knows_rejects(self, param: str) -> bool | None:
        """:meth:`rejection` as a tri-state: True stated, None unconfirmed, False no rejection recorded.

        Args:
            param: a request body field.
        """
        verdict = self.rejection(param)
        return None if verdict == "unconfirmed" else verdict == "stated"

    def accepts_effort(self, value: str) -> bool:
        """Whether ``reasoning_effort=value`` is documented to work for this model.

        Args:
            value: a ``reasoning_effort`` value, compared exactly ("HIGH" is not "high").
        """
        return value in self.effort_values

    def knows_accepts_effort(self, value: str) -> bool | None:
        """Whether ``reasoning_effort=value`` works, as far as the catalog knows.

        Args:
            value: a ``reasoning_effort`` value.

        Returns:
            True when documented; False when a source states it fails (the parameter's rejection is stated, or a
            stated list of values leaves it out); None when unknown (no documented values, an unconfirmed
            list, or an unconfirmed rejection of the parameter).
        """
        rejected = self.knows_rejects("reasoning_effort")
        if rejected is not False:
            return None if rejected is None else False
        if value in self.effort_values:
            return True
        if not self.effort_values or not self.is_stated("effort_values"):
            return None
        return False

    @property
    def reasoning_content_known(self) -> bool | None:
        """Whether replies carry ``reasoning_content``: the stated flag, or None when no source confirms it."""
        return self.returns_reasoning_content if self.is_stated("returns_reasoning_content") else None

    # -- copies -----------------------------------------------------------------------------------------------

    def with_facts(self, **facts: Any) -> ModelSpec:
        """A validated copy with ``facts`` replaced; they become stated unless ``unconfirmed`` is also given.

        ``catalog.require("grok-4").with_facts(context_window=262_000)`` keeps everything else of grok-4.

        Args:
            facts: field names and their new values, as for the constructor.
        """
        data = dict(self)
        data.update(facts)
        if "unconfirmed" not in facts:
            data["unconfirmed"] = frozenset(
                fact for fact in self.unconfirmed if fact not in facts and fact.partition(".")[0] not in facts
            )
        return ModelSpec.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """The entry in the data file's JSON form (sets as sorted lists, dates as ISO strings)."""
        data = self.model_dump(mode="json")
        for name in ("input_modalities", "rejected_parameters", "unconfirmed"):
            data[name] = sorted(data[name])
        return data
