"""The reviewed FHIR mapping tables: complete, with provenance, no duplicates, valid targets."""

from __future__ import annotations

import csv
from collections import Counter
from importlib import resources
from typing import get_args

import pytest

from icaht.core.record import Finding, HemophagocyticSyndrome, Transfusion
from icaht.io.fhir import codes
from icaht.knowledge import drugs
from icaht.knowledge.analytes import ANALYTES, Analyte

ANALYTE_NAMES = {a.value for a in Analyte}
FINDINGS = set(get_args(Finding.model_fields["finding"].annotation))
PRODUCTS = set(get_args(Transfusion.model_fields["product"].annotation))
DIAGNOSES = set(get_args(HemophagocyticSyndrome.model_fields["diagnosis"].annotation))


def _raw(table: str) -> list[dict[str, str]]:
    text = resources.files("icaht.knowledge").joinpath(f"fhir_maps/{table}.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize("table", codes.TABLES)
def test_columns_and_provenance(table: codes.Table) -> None:
    rows = _raw(table)
    assert rows, table
    assert tuple(rows[0]) == codes.COLUMNS
    for i, row in enumerate(rows):
        for column in codes.COLUMNS:
            assert (row[column] or "").strip(), f"{table} row {i + 2}: empty {column}"


@pytest.mark.parametrize("table", codes.TABLES)
def test_no_duplicate_codes(table: codes.Table) -> None:
    keys = Counter(
        (r.system, r.code.lower() if r.system == codes.TEXT else r.code)
        for r in codes.table_rows(table)
    )
    assert [k for k, n in keys.items() if n > 1] == []


def test_every_analyte_loinc_is_mapped_to_its_analyte() -> None:
    found = codes.lookup_table("labs")
    # issue 17: segmented (30451-9) and band (26507-4) neutrophils are combined per specimen
    # into the ANC on FHIR import, never read as the ANC alone
    combined = {"30451-9": "differential.segs", "26507-4": "differential.bands"}
    for analyte, info in ANALYTES.items():
        for code in (info.loinc_primary, *info.loinc_alternatives):
            if code:
                expected = combined.get(code, analyte.value)
                assert found.get((codes.LOINC, code)) == expected, (analyte, code)
        assert codes.codes_for("labs", analyte.value), f"no code to export {analyte}"


def test_primary_loinc_is_exported_first() -> None:
    for analyte, info in ANALYTES.items():
        if info.loinc_primary:
            assert codes.codes_for("labs", analyte.value)[0].code == info.loinc_primary


def test_lab_targets_are_analytes_or_known_facts() -> None:
    allowed = ANALYTE_NAMES | {"patient.weight_kg", "fever.temperature_c"}
    # issue 15: the DAT result and the NGS variant codes (genomics reporting IG components)
    allowed |= {"finding.dat_positive", "marrow.ngs_variant", "variant.gene", "variant.vaf_pct"}
    # issue 17: differential parts (combined per specimen) and hs-CRP (read as CRP by profile)
    allowed |= {f"differential.{p}" for p in ("segs", "bands", "neutrophils", "lymphocytes")}
    allowed |= {"crp.hs"}
    assert {r.target for r in codes.table_rows("labs")} <= allowed
    assert all(
        r.code
        not in {c for i in ANALYTES.values() for c in (i.loinc_primary, *i.loinc_alternatives)}
        for r in codes.table_rows("labs")
        if r.target in ("patient.weight_kg", "fever.temperature_c")
    )


def test_every_drug_class_member_is_mapped_by_name() -> None:
    members = set().union(*(v for v in vars(drugs).values() if isinstance(v, frozenset)))
    found = codes.lookup_table("medications")
    for name in members:
        assert found.get((codes.TEXT, name)) == name, name


def test_medication_codes_point_at_named_ingredients() -> None:
    names = {r.code for r in codes.table_rows("medications") if r.system == codes.TEXT}
    for row in codes.table_rows("medications"):
        assert row.target in names, row
        assert row.target == row.target.lower()
        assert row.system in (codes.RXNORM, codes.ATC, codes.TEXT)


def test_procedure_targets_cover_every_event_icaht_writes() -> None:
    targets = {r.target for r in codes.table_rows("procedures")}
    needed = {"car_t_infusion", "marrow_biopsy", "stem_cell_boost", "hct:autologous"}
    needed |= {"hct:allogeneic"} | {f"transfusion:{p}" for p in PRODUCTS}
    # issue 17: codes naming the CAR-T product, and generic transfusion codes (product read
    # from the BiologicallyDerivedProduct or usedCode)
    extra = {f"car_t_infusion:{p}" for p in drugs.CAR_T_PRODUCTS} | {"transfusion"}
    assert needed <= targets <= needed | extra
    for target in needed:
        assert codes.codes_for("procedures", target), f"no code to export {target}"


def test_condition_targets_cover_every_event_icaht_writes() -> None:
    targets = {r.target for r in codes.table_rows("conditions")}
    needed = {"crs", "icans", "infection", "fever", "bleeding"}
    needed |= {f"crs:{g}" for g in range(1, 6)} | {f"icans:{g}" for g in range(1, 6)}
    needed |= {f"finding:{f}" for f in FINDINGS}
    # issue 15: IEC-HS/HLH/MAS diagnoses with status, and CHIP with gene and the day known
    needed |= {f"iec_hs:{d}" for d in DIAGNOSES} | {"chip"}
    assert needed == targets
    for target in needed:
        assert codes.codes_for("conditions", target), f"no code to export {target}"


def test_standard_code_systems_only_where_reviewed() -> None:
    allowed = {codes.LOINC, codes.SNOMED, codes.RXNORM, codes.ATC, codes.ICD10CM}
    allowed |= {codes.ICAHT_CODES, codes.TEXT, codes.CPT, codes.ICD10PCS}  # issue 17
    for table in codes.TABLES:
        assert {r.system for r in codes.table_rows(table)} <= allowed, table


def test_match_prefers_codes_then_text_then_display() -> None:
    assert codes.match("medications", [(codes.ATC, "B02BX05", None)], "whatever") == "eltrombopag"
    assert codes.match("medications", [(codes.ATC, "X", None)], "Eltrombopag Choline") == (
        "eltrombopag"
    )
    assert codes.match("medications", [(None, None, "Neupogen")], None) == "filgrastim"
    assert codes.match("medications", [], "unknown drug") is None
