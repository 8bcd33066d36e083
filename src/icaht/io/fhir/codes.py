"""Code systems, extension URLs and the reviewed mapping tables (``knowledge/fhir_maps/*.csv``).

Each table row maps one (system, code) to an icaht target and says why (justification) and on
what authority (reference). ``system`` ``text`` rows match free text (``CodeableConcept.text`` or
a coding's display, case-insensitive). The exporter writes, for a target, the codes of the first
row of each system in table order (see docs/fhir.md).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
TEXT = "text"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

#: Canonical base of icaht's own FHIR artefacts. Project default: a placeholder under the
#: reserved ``example.org`` domain until the project has a canonical home (docs/fhir.md).
ICAHT_FHIR_BASE = "https://icaht.example.org/fhir"
#: The icaht local code system (assessment results, events without a standard code).
ICAHT_CODES = f"{ICAHT_FHIR_BASE}/CodeSystem/icaht"
#: Grades 0-5 (ASTCT, CTCAE, ICAHT) as codes ``"0"``..``"5"``.
ICAHT_GRADES = f"{ICAHT_FHIR_BASE}/CodeSystem/icaht-grade"
#: Recommendation rule ids (the catalogue of ``icaht rules``).
ICAHT_RULES = f"{ICAHT_FHIR_BASE}/CodeSystem/icaht-rule"
#: Identifier system of PatientFacts.patient_id.
PATIENT_ID_SYSTEM = f"{ICAHT_FHIR_BASE}/patient-id"
#: Extension URLs (``{base}/StructureDefinition/<name>``).
EXT = f"{ICAHT_FHIR_BASE}/StructureDefinition"
EXT_CART = f"{EXT}/car-t-facts"
EXT_TRANSFUSION_UNITS = f"{EXT}/transfusion-units"
EXT_IRRADIATED = f"{EXT}/irradiated"
EXT_ORGANISM = f"{EXT}/infection-organism"
EXT_PRODUCT = f"{EXT}/medication-product"
EXT_FREQUENCY = f"{EXT}/medication-frequency"
EXT_CD34 = f"{EXT}/cd34-per-kg"
EXT_BOOST_SOURCE = f"{EXT}/stem-cell-source"
EXT_DEATH_CAUSE = f"{EXT}/cause-of-death"
EXT_FINDING_ABSENT = f"{EXT}/finding-absent"
#: On Patient, repeated: one ``valueCode`` per data stream the record holds completely
#: (PatientFacts.complete_streams: transfusions, medications, gcsf).
EXT_COMPLETE_STREAMS = f"{EXT}/complete-stream"
#: On an event's resource: how well its start is known when not exact (sub-extensions ``known``
#: = approximate | before, ``window-days`` = +/- days); the resource's own time is the start.
EXT_START_CERTAINTY = f"{EXT}/start-certainty"
#: The same for the death event (Patient.deceasedDateTime).
EXT_DEATH_CERTAINTY = f"{EXT}/death-start-certainty"
#: IEC-HS/HLH/MAS Condition: the recorded status (suspected, confirmed, excluded, resolved).
EXT_IEC_HS_STATUS = f"{EXT}/iec-hs-status"
#: CHIP Condition: the gene (HGNC symbol) and the variant allele frequency (%).
EXT_CHIP_GENE = f"{EXT}/chip-gene"
EXT_CHIP_VAF = f"{EXT}/chip-vaf-pct"
#: Positive / negative result of a qualitative test (DAT), SNOMED CT qualifier values.
RESULT_POSITIVE = "10828004"
RESULT_NEGATIVE = "260385009"

#: FHIR R4 ValueSet condition-severity (SNOMED CT) and icaht's code for life-threatening.
SEVERITY_CODES: dict[str, str] = {
    "255604002": "mild",
    "6736007": "moderate",
    "24484000": "severe",
}
SEVERITY_DISPLAY: dict[str, str] = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}

Table = Literal["labs", "medications", "procedures", "conditions"]
TABLES: tuple[Table, ...] = ("labs", "medications", "procedures", "conditions")
COLUMNS: tuple[str, ...] = ("system", "code", "display", "target", "justification", "reference")


@dataclass(frozen=True, slots=True)
class MapRow:
    """One reviewed mapping: (system, code) -> target, with provenance."""

    system: str
    code: str
    display: str
    target: str
    justification: str
    reference: str


def _key(system: str, code: str) -> tuple[str, str]:
    return (system, code.strip().lower() if system == TEXT else code.strip())


@cache
def table_rows(table: Table) -> tuple[MapRow, ...]:
    """The rows of one mapping table, in file order."""
    path = resources.files("icaht.knowledge").joinpath(f"fhir_maps/{table}.csv")
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    return tuple(MapRow(**{c: (row[c] or "").strip() for c in COLUMNS}) for row in reader)


@cache
def lookup_table(table: Table) -> dict[tuple[str, str], str]:
    """(system, code) -> target; text codes are lower case."""
    return {_key(r.system, r.code): r.target for r in table_rows(table)}


@cache
def codes_for(table: Table, target: str) -> tuple[MapRow, ...]:
    """The codes the exporter writes for a target: the first row of each coded system."""
    seen: set[str] = set()
    out = []
    for row in table_rows(table):
        if row.target == target and row.system != TEXT and row.system not in seen:
            seen.add(row.system)
            out.append(row)
    return tuple(out)


def match(
    table: Table, codings: Iterable[tuple[str | None, str | None, str | None]], text: str | None
) -> str | None:
    """The target of the first (system, code) found in the table, else of the text or a coding's
    display; None if nothing matches."""
    found = lookup_table(table)
    names: list[str] = [text] if text else []
    for system, code, display in codings:
        if system and code:
            hit = found.get(_key(system, code))
            if hit is not None:
                return hit
        if display:
            names.append(display)
    for name in names:
        hit = found.get(_key(TEXT, name))
        if hit is not None:
            return hit
    return None


CPT = "http://www.ama-assn.org/go/cpt"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
#: ATC group "antineoplastic cell and gene therapy": a coded product of this group is read as a
#: CAR-T product (issue 17), named by its text.
ATC_CELL_THERAPY = "L01XL"


@dataclass(frozen=True, slots=True)
class RxNormRow:
    """One reviewed RxNorm code (ingredient, clinical or branded drug, pack) -> its ingredient as
    icaht names it, with the RxNorm name and where the code was confirmed."""

    rxcui: str
    tty: str
    rxnorm_name: str
    ingredient: str
    source: str


@cache
def rxnorm_rows() -> tuple[RxNormRow, ...]:
    """The reviewed RxNorm product table (``fhir_maps/rxnorm_products.csv``)."""
    path = resources.files("icaht.knowledge").joinpath("fhir_maps/rxnorm_products.csv")
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    fields = RxNormRow.__dataclass_fields__
    return tuple(RxNormRow(**{c: (row[c] or "").strip() for c in fields}) for row in reader)


@cache
def rxnorm_ingredients() -> dict[str, str]:
    """RxNorm code -> ingredient (icaht's name)."""
    return {row.rxcui: row.ingredient for row in rxnorm_rows()}


_WORD = re.compile(r"[a-z0-9]+(?:[-/][a-z0-9]+)*")


@cache
def _text_names(table: Table) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The text rows of a table as word sequences, the longest first."""
    names = [
        (tuple(_WORD.findall(r.code.lower())), r.target)
        for r in table_rows(table)
        if r.system == TEXT
    ]
    return tuple(sorted((n for n in names if n[0]), key=lambda n: -len(n[0])))


def match_words(table: Table, text: str | None) -> str | None:
    """The target of the text rows whose words occur in ``text`` as whole words (order-style
    text such as "filgrastim (NEUPOGEN) injection 480 mcg"); None when none, or when names of
    different targets occur (ambiguous)."""
    if not text:
        return None
    words = tuple(_WORD.findall(text.lower()))
    found: set[str] = set()
    for name, target in _text_names(table):
        size = len(name)
        if any(words[i : i + size] == name for i in range(len(words) - size + 1)):
            found.add(target)
    return found.pop() if len(found) == 1 else None
