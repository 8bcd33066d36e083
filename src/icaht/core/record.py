"""The record contract's shared pieces and its clinical events.

A :class:`~icaht.core.patient_record.PatientRecord` holds the patient facts
(:mod:`icaht.core.patient_facts`), laboratory observations (:mod:`icaht.core.observation`) and the
clinical events defined here. It is the interchange form (JSON, the tabular
``patients``/``observations``/``events`` tables, and FHIR). Times are ISO dates/datetimes or a
number = day relative to CAR-T infusion (day 0); :mod:`icaht.core.course` turns a record into the
canonical columnar form with every time a day. Units are validated and normalised there, in one
vectorised pass shared with the tabular readers. The fields follow ``docs/architecture.md`` (Data
contract).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: The documented range of days: a day number is at most this many days either side of
#: infusion (ten years; project default), so every stored time stays assessable.
MAX_DAY_RANGE = 3660

#: A day relative to infusion: finite and within ``MAX_DAY_RANGE``.
Day = Annotated[float, Field(ge=-MAX_DAY_RANGE, le=MAX_DAY_RANGE, allow_inf_nan=False)]

#: A moment: day relative to infusion (number), ISO date or ISO datetime.
Moment = Day | date | datetime

#: The model configuration of the record's models: unknown fields refused, frozen, text stripped.
STRICT_CONFIG = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ContractModel(BaseModel):
    """Shared by the record's models: text never contains a NUL character (databases and most
    downstream tools refuse it, so it is refused here, at the boundary)."""

    model_config = STRICT_CONFIG

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain a NUL character")
        return value


def _kind_required(schema: dict[str, Any]) -> None:
    """In the JSON Schema, ``kind`` is required: it tells the event kinds apart."""
    required = schema.setdefault("required", [])
    if "kind" not in required:
        required.append("kind")


class _Event(ContractModel):
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


class Variant(ContractModel):
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
