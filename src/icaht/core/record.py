"""The PatientRecord contract: patient facts, laboratory observations and clinical events.

This is the interchange form (JSON, the tabular ``patients``/``observations``/``events`` tables, and
later FHIR). Times are ISO dates/datetimes or a number = day relative to CAR-T infusion (day 0);
:mod:`icaht.core.course` turns a record into the canonical columnar form with every time a day.
Units are validated and normalised there, in one vectorised pass shared with the tabular readers.
The fields follow ``docs/architecture.md`` (Data contract).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from icaht.core.frozen import FROZEN_CLOSED

#: The documented range of days: a day number is at most this many days either side of
#: infusion (ten years; project default), so every stored time stays assessable.
MAX_DAY_RANGE = 3660

#: A day relative to infusion: finite and within ``MAX_DAY_RANGE``.
Day = Annotated[float, Field(ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE, allow_inf_nan=False)]

#: A moment: day relative to infusion (number), ISO date or ISO datetime.
Moment = Day | date | datetime

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Costimulation(StrEnum):
    CD28 = "CD28"
    FOUR_1BB = "4-1BB"
    OTHER = "other"


class StoredCells(StrEnum):
    """Cryopreserved stem cells available for a boost (Jain 2023: autologous or donor)."""

    AUTOLOGOUS = "autologous"
    DONOR = "donor"
    NONE = "none"


Stream = Literal["transfusions", "medications", "gcsf"]
"""A data stream a record can declare complete (docs/decisions.md, "Absence is not a negative");
``medications`` covers every drug, G-CSF included; ``gcsf`` covers G-CSF alone."""
STREAMS: tuple[Stream, ...] = get_args(Stream)


class _Contract(BaseModel):
    """Shared by the record's models: text never contains a NUL character (databases and most
    downstream tools refuse it, so it is refused here, at the boundary)."""

    model_config = _STRICT

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain a NUL character")
        return value


#: Facts that identify a person: shown on the dashboard, its print view and PDF, never sent
#: to researchers, never written to logs or the audit trail (issue 16).
IDENTIFIER_FACTS: tuple[str, ...] = ("name", "mrn", "birth_date")


class PatientFacts(_Contract):
    """Facts about the patient and the CAR-T treatment."""

    model_config = _STRICT
    patient_id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(
        None, max_length=200, description="Identifier (optional): shown to clinicians only."
    )
    mrn: str | None = Field(
        None, max_length=64, description="Identifier (optional): medical record number."
    )
    birth_date: date | None = Field(None, description="Identifier (optional).")
    age_years: float | None = Field(None, ge=0, le=120)
    sex: Sex = Sex.UNKNOWN
    weight_kg: float | None = Field(None, gt=0, le=400)
    east_southeast_asian_ancestry: bool | None = Field(
        None, description="Eltrombopag label: reduced starting dose (docs/evidence.md 7)."
    )
    hepatic_impairment: bool | None = None
    diagnosis: str | None = Field(
        None, description="e.g. LBCL, DLBCL, FL, MCL, B-ALL, MM, CLL.", max_length=64
    )
    product: str | None = Field(
        None,
        description="e.g. axi-cel, tisa-cel, liso-cel, brexu-cel, ide-cel, cilta-cel.",
        max_length=64,
    )
    target: str | None = Field(None, description="e.g. CD19, BCMA, CD22.", max_length=32)
    costimulatory_domain: Costimulation | None = None
    ld_regimen: str | None = Field(None, description="e.g. Flu/Cy, bendamustine.", max_length=200)
    ld_start: Moment | None = Field(None, description="First day of lymphodepletion.")
    infusion_date: date | None = Field(
        None, description="Day 0. Required when any time is given as a date."
    )
    prior_auto_hct: bool | None = None
    prior_allo_hct: bool | None = None
    stored_cells: StoredCells | None = None
    chip: bool | None = Field(None, description="Clonal hematopoiesis known before CAR-T.")
    marrow_disease_pct: float | None = Field(
        None, ge=0, le=100, description="Marrow involvement at baseline, % of cells."
    )
    prior_marrow_dysplasia_or_fibrosis: bool | None = None
    kmt2a_rearranged: bool | None = None
    known_immunosuppression: bool | None = Field(
        None, description="HIV or long-term immunosuppressive therapy (HScore item)."
    )
    complete_streams: tuple[Stream, ...] = Field(
        (),
        description="Data streams this record holds completely (transfusions, medications, "
        "gcsf). Absence in a stream not named here is 'none recorded', never a negative "
        "finding. In a table cell: names separated by ';'.",
    )

    @field_validator("complete_streams", mode="before")
    @classmethod
    def _split_streams(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(
                part.strip() for part in value.replace(",", ";").split(";") if part.strip()
            )
        return value


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


class Observation(_Contract):
    """One laboratory value. ``analyte`` (name) or ``loinc`` identifies it; ``unit`` is required.

    ``value`` may be given as text with a comparator ("> 10,000", "<0.1"): the bound is the value
    and ``censored`` is set. Graders read the bound as the value (docs/tabular.md).
    """

    model_config = _STRICT
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


def _kind_required(schema: dict[str, Any]) -> None:
    """In the JSON Schema, ``kind`` is required: it tells the event kinds apart."""
    required = schema.setdefault("required", [])
    if "kind" not in required:
        required.append("kind")


class _Event(_Contract):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, json_schema_extra=_kind_required
    )
    start: Moment = Field(
        validation_alias=AliasChoices("start", "time", "day"),
        description="When it happened or began.",
    )
    start_known: Literal["exact", "approximate", "before"] = Field(
        "exact",
        description="How well the start is known: exact; approximate (within start_window_days "
        "either side); before (on or before start, the day itself unknown). Rules read the "
        "start as given and name the uncertainty.",
    )
    start_window_days: float | None = Field(
        None, ge=0, le=365, description="With start_known = approximate: +/- days."
    )

    @field_validator("start_window_days", mode="after")
    @classmethod
    def _window_of_approximate(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("start_known") != "approximate":
            raise ValueError("a window is given only with start_known = approximate")
        return value


class _Span(_Event):
    end: Moment | None = Field(None, description="When it ended; absent = ongoing.")


class CrsEpisode(_Span):
    """Cytokine release syndrome episode, ASTCT grade (Lee 2019); None = grade not recorded."""

    kind: Literal["crs"] = "crs"
    grade: int | None = Field(None, ge=1, le=5)


class IcansEpisode(_Span):
    """ICANS episode, ASTCT grade (Lee 2019); None = grade not recorded."""

    kind: Literal["icans"] = "icans"
    grade: int | None = Field(None, ge=1, le=5)


class Fever(_Event):
    kind: Literal["fever"] = "fever"
    temperature_c: float | None = Field(None, ge=30, le=45)


class Infection(_Span):
    kind: Literal["infection"] = "infection"
    severity: Literal["mild", "moderate", "severe", "life-threatening", "unknown"] = Field(
        description="unknown = documented without a severity (e.g. an EHR diagnosis)."
    )
    site: str | None = Field(None, max_length=200)
    organism: str | None = Field(None, max_length=200)


class Bleeding(_Event):
    kind: Literal["bleeding"] = "bleeding"
    grade: int = Field(ge=1, le=5, description="CTCAE/WHO bleeding grade.")


class Transfusion(_Event):
    kind: Literal["transfusion"] = "transfusion"
    product: Literal["rbc", "platelets", "plasma", "cryoprecipitate", "granulocytes"]
    units: int = Field(1, ge=1, le=20)
    irradiated: bool | None = None


class Medication(_Span):
    """One segment of a medication course at one dose; a dose change starts a new segment."""

    kind: Literal["medication"] = "medication"
    drug: str = Field(
        min_length=1, max_length=128, description="Ingredient, e.g. filgrastim, eltrombopag."
    )
    product: str | None = Field(
        None, max_length=128, description="Product or salt, e.g. eltrombopag choline."
    )
    dose: float | None = Field(None, gt=0, allow_inf_nan=False)
    dose_unit: str | None = Field(None, max_length=32, description="e.g. mg, ug, ug/kg, mg/m2.")
    frequency: str | None = Field(
        None, max_length=64, description="e.g. daily, weekly, twice daily, once."
    )
    route: str | None = Field(None, max_length=64)

    @field_validator("drug")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class Variant(_Contract):
    """One somatic variant found by a marrow NGS panel (CHIP or myeloid neoplasm genes)."""

    gene: str = Field(min_length=1, max_length=32, description="HGNC symbol, e.g. DNMT3A.")
    vaf_pct: float | None = Field(None, ge=0, le=100, description="Variant allele frequency, %.")
    description: str | None = Field(None, max_length=200, description="e.g. p.R882H.")


class MarrowBiopsy(_Event):
    kind: Literal["marrow_biopsy"] = "marrow_biopsy"
    cellularity: Literal["hypocellular", "normocellular", "hypercellular"] | None = None
    cellularity_pct: float | None = Field(None, ge=0, le=100)
    aplasia: bool | None = Field(
        None, description="Complete aplasia with little haematopoiesis (JAIN case 2)."
    )
    malignant_infiltration: bool | None = None
    mds: bool | None = Field(None, description="Myelodysplasia / therapy-related myeloid neoplasm.")
    dysplasia: bool | None = None
    fibrosis: bool | None = None
    hemophagocytosis: bool | None = None
    megakaryopoiesis: Literal["absent", "reduced", "normal", "increased"] | None = None
    erythropoiesis: Literal["absent", "reduced", "normal", "increased"] | None = None
    myelopoiesis: Literal["absent", "reduced", "normal", "increased"] | None = None
    blasts_pct: float | None = Field(None, ge=0, le=100)
    cytogenetics: str | None = Field(None, max_length=500, description="Karyotype as reported.")
    cytogenetics_abnormal: bool | None = None
    ngs_done: bool | None = Field(None, description="A myeloid NGS panel was run on this marrow.")
    ngs_variants: tuple[Variant, ...] = Field(
        (),
        max_length=50,
        description="Variants found by NGS (empty with ngs_done = none found). In a table "
        "cell: a JSON list of variants, or GENE:VAF pairs separated by ';' (VAF in %).",
    )
    donor_chimerism_pct: float | None = Field(
        None, ge=0, le=100, description="Donor chimerism after a prior allo-HCT, %."
    )
    graft_dysfunction: bool | None = Field(
        None, description="Donor graft dysfunction after a prior allo-HCT."
    )
    note: str | None = Field(None, max_length=2000)

    @field_validator("ngs_variants", mode="before")
    @classmethod
    def _variants_cell(cls, value: object) -> object:
        return parse_variants(value) if isinstance(value, str) else value


def parse_variants(text: str) -> list[Any]:
    """NGS variants from one table cell: a JSON list, or ``GENE:VAF`` pairs separated by ';'
    ("DNMT3A:12.5;TET2" -> two variants, the second without a VAF). Raises ValueError naming
    the part that cannot be read."""
    text = text.strip()
    if text.startswith("["):
        try:
            found = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list of variants: {exc.msg}") from None
        if not isinstance(found, list):
            raise ValueError("not a JSON list of variants")
        return found
    variants: list[Any] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        gene, _, vaf = (x.strip() for x in part.partition(":"))
        if not vaf:
            variants.append({"gene": gene})
            continue
        try:
            variants.append({"gene": gene, "vaf_pct": float(vaf.removesuffix("%"))})
        except ValueError:
            raise ValueError(f"{part!r} is not GENE:VAF (VAF a number, in %)") from None
    return variants


class Chip(_Event):
    """Clonal haematopoiesis became known on ``start`` (never read before that day)."""

    kind: Literal["chip"] = "chip"
    gene: str | None = Field(None, max_length=32, description="HGNC symbol, e.g. TET2.")
    vaf_pct: float | None = Field(None, ge=0, le=100)


class HemophagocyticSyndrome(_Span):
    """A recorded IEC-HS (or HLH/MAS) diagnosis and its status (Hines 2023)."""

    kind: Literal["iec_hs"] = "iec_hs"
    diagnosis: Literal["iec_hs", "hlh", "mas"] = "iec_hs"
    status: Literal["suspected", "confirmed", "excluded", "resolved"] = "confirmed"


class StemCellBoost(_Event):
    kind: Literal["stem_cell_boost"] = "stem_cell_boost"
    source: Literal["autologous", "donor"]
    cd34_per_kg: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="CD34+ cells x10^6/kg."
    )


class Hct(_Event):
    kind: Literal["hct"] = "hct"
    hct_type: Literal["autologous", "allogeneic"]


class DiseaseStatus(_Event):
    kind: Literal["disease_status"] = "disease_status"
    status: Literal["cr", "pr", "sd", "pd", "relapse", "mrd_negative", "unknown"]


class NextTherapy(_Event):
    kind: Literal["next_therapy"] = "next_therapy"
    name: str | None = Field(None, max_length=200)


class Death(_Event):
    kind: Literal["death"] = "death"
    cause: str | None = Field(None, max_length=500)


class LastFollowUp(_Event):
    kind: Literal["last_follow_up"] = "last_follow_up"


class Finding(_Event):
    """A clinical finding used by scores and rules (HScore organomegaly, TA-TMA work-up)."""

    kind: Literal["finding"] = "finding"
    finding: Literal[
        "splenomegaly",
        "hepatomegaly",
        "hypertension",
        "proteinuria",
        "hemolysis",
        "dat_positive",
        "iec_hs",
    ]
    present: bool = Field(
        True, description="False records that the finding was looked for and absent."
    )


Event = Annotated[
    CrsEpisode
    | IcansEpisode
    | Fever
    | Infection
    | Bleeding
    | Transfusion
    | Medication
    | MarrowBiopsy
    | StemCellBoost
    | Hct
    | DiseaseStatus
    | NextTherapy
    | Death
    | LastFollowUp
    | Finding
    | Chip
    | HemophagocyticSyndrome,
    Field(discriminator="kind"),
]

#: The ``kind`` tags of the event union, in declaration order.
EVENT_KINDS: tuple[str, ...] = tuple(
    model.model_fields["kind"].default for model in get_args(get_args(Event)[0])
)

SCHEMA_VERSION: Literal["1"] = "1"


class PatientRecord(BaseModel):
    """One patient's record: facts, observations and events."""

    model_config = FROZEN_CLOSED
    schema_version: Literal["1"] = SCHEMA_VERSION
    patient: PatientFacts
    observations: list[Observation] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
