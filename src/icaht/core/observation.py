"""The laboratory observations of the record contract: one value of one analyte at one time, with
its unit, limits and a reported bound ("> 10,000")."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, WithJsonSchema, model_validator

from icaht.core.record import STRICT_CONFIG, ContractModel, Moment

Censored = Literal["<", ">"]
#: A value reported as a bound: "> 10,000", "<0.1" (thousands separators as groups of 3 digits).
_CENSORED = re.compile(r"^\s*([<>])\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*$")
CENSORED_PATTERN = _CENSORED.pattern


def parse_censored(text: str) -> tuple[Censored, float] | None:
    """The comparator and bound of a censored value cell ("> 10,000" -> (">", 10000.0)); None
    when the text is not one."""
    found = _CENSORED.match(text)
    if found is None:
        return None
    sign: Censored = ">" if found.group(1) == ">" else "<"
    return sign, float(found.group(2).replace(",", ""))


class Observation(ContractModel):
    """One laboratory value. ``analyte`` (name) or ``loinc`` identifies it; ``unit`` is required.

    ``value`` may be given as text with a comparator ("> 10,000", "<0.1"): the bound is the value
    and ``censored`` is set. Graders read the bound as the value (docs/tabular.md).
    """

    model_config = STRICT_CONFIG
    time: Moment = Field(validation_alias=AliasChoices("time", "day", "start"))
    analyte: str | None = Field(
        None, description="Analyte name, e.g. anc, platelets, hb.", max_length=64
    )
    loinc: str | None = Field(
        None, description="LOINC code (primary or alternative).", max_length=16
    )
    value: Annotated[
        float,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number"},
                    {"type": "string", "pattern": CENSORED_PATTERN},
                ],
                "description": "The value, or a bound with its comparator ('> 10,000').",
            },
            mode="validation",
        ),
    ] = Field(allow_inf_nan=False)
    censored: Censored | None = Field(
        None,
        description="The lab reported a bound, not a value ('> 10,000'): value is the bound.",
    )

    @model_validator(mode="before")
    @classmethod
    def _bound_in_value(cls, data: object) -> object:
        """A value cell "> 10,000" is the bound 10000 with censored ">"."""
        if not isinstance(data, dict) or not isinstance(data.get("value"), str):
            return data
        parsed = parse_censored(data["value"])
        if parsed is None:
            return data  # a plain number as text, or an error the float field names
        sign, bound = parsed
        given = data.get("censored")
        if given not in (None, "", sign):
            raise ValueError(
                f"value {data['value']!r} has the comparator {sign!r} but censored is {given!r}"
            )
        return {**data, "value": bound, "censored": sign}

    unit: str = Field(min_length=1, max_length=32)
    lln: float | None = Field(
        None, allow_inf_nan=False, description="Lower limit of normal, in the value's unit."
    )
    uln: float | None = Field(
        None, allow_inf_nan=False, description="Upper limit of normal, in the value's unit."
    )
    derived: str | None = Field(
        None,
        max_length=200,
        description="How a value not measured as such was computed, e.g. ANC = segmented + "
        "band neutrophils, or a differential % x WBC of the same specimen (FHIR import).",
    )

    @model_validator(mode="after")
    def _range_not_inverted(self) -> Observation:
        if self.lln is not None and self.uln is not None and self.lln > self.uln:
            raise ValueError("lln must not be above uln")
        return self
