"""Unit normalisation, analyte resolution and plausibility checks (icaht.core.units).

Every expected number below is written out from ``docs/evidence.md`` section 8
(8.1 LOINC table, 8.2 unit conversions), not read back from ``icaht.knowledge.analytes``.
Canonical units (the graders' units, documented in the analytes module): counts 10^9/L, Hb g/dL,
CRP mg/dL, ferritin ng/mL, enzymes U/L, fibrinogen/triglycerides/IgG mg/dL, bilirubin and
creatinine mg/dL, IL-6 pg/mL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from icaht.core.units import (
    RowProblem,
    accepted_units,
    normalise_observations,
    resolve_analyte,
    unit_factor,
)
from icaht.knowledge.analytes import Analyte

A = Analyte


def normalise(
    rows: Sequence[tuple[str | None, str | None, float, str | None]],
    lln: list[float] | None = None,
    uln: list[float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[RowProblem]]:
    """Run the vectorised normaliser on (analyte, loinc, value, unit) rows.

    Builds the dictionary encoding the way both readers do: distinct (analyte, loinc) pairs and
    distinct units, each row pointing at its entry. Returns (codes, value, lln, uln, problems).
    """
    pairs: dict[tuple[str | None, str | None], int] = {}
    units: dict[str | None, int] = {}
    a_idx = np.array([pairs.setdefault((r[0], r[1]), len(pairs)) for r in rows], dtype=np.int64)
    u_idx = np.array([units.setdefault(r[3], len(units)) for r in rows], dtype=np.int64)
    n = len(rows)
    out = normalise_observations(
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        a_idx,
        list(units),
        u_idx,
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array(lln if lln is not None else [math.nan] * n, dtype=np.float64),
        np.array(uln if uln is not None else [math.nan] * n, dtype=np.float64),
    )
    return out.analyte_code, out.value, out.lln, out.uln, out.problems


def convert(analyte: Analyte, value: float, unit: str) -> float:
    """One value in ``unit`` converted to the analyte's canonical unit; fails on any problem."""
    _, values, _, _, problems = normalise([(analyte.value, None, value, unit)])
    assert problems == [], problems
    return float(values[0])


def from_canonical(analyte: Analyte, canonical: float, unit: str) -> float:
    """The reverse direction: a canonical value expressed in ``unit``."""
    factor = unit_factor(analyte, unit)
    assert factor is not None, f"{unit!r} not accepted for {analyte}"
    return canonical / factor


# --- counts (8.2: 1 /uL = 1 /mm3 = 10^6/L; 10^9/L = 10^3/uL = K/uL = G/L = /nL) -----------------


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected_10e9_per_l"),
    [
        # "ANC 500/uL = 0.5 x10^9/L" (8.2)
        (A.ANC, 500, "/uL", 0.5),
        (A.ANC, 500, "/µL", 0.5),
        (A.ANC, 500, "cells/uL", 0.5),
        (A.ANC, 500, "{cells}/uL", 0.5),  # UCUM annotation form (8.1 ANC units)
        (A.ANC, 500, "cells/mm3", 0.5),
        (A.ANC, 500, "/mm3", 0.5),
        (A.ANC, 500, "cells/mm³", 0.5),
        (A.ANC, 0.5, "10*9/L", 0.5),  # UCUM spelling (8.1)
        (A.ANC, 0.5, "10^9/L", 0.5),
        (A.ANC, 0.5, "x10^9/L", 0.5),
        (A.ANC, 0.5, "10*3/uL", 0.5),
        (A.ANC, 0.5, "K/uL", 0.5),
        (A.ANC, 0.5, "G/L", 0.5),
        (A.ANC, 0.5, "/nL", 0.5),
        # "PLT 20,000/uL = 20 x10^9/L = 20 K/uL" (8.2)
        (A.PLATELETS, 20_000, "/uL", 20.0),
        (A.PLATELETS, 20, "K/uL", 20.0),
        (A.PLATELETS, 20, "k/µl", 20.0),
        (A.PLATELETS, 20, "G/L", 20.0),  # "The HT table writes g/L for platelets, meaning G/L"
        (A.PLATELETS, 20, "10*9/L", 20.0),
        (A.PLATELETS, 20_000, "cells/mm3", 20.0),
        # "CD4 200/uL = 0.2 x10^9/L" (8.2)
        (A.CD4, 200, "/uL", 0.2),
        (A.WBC, 3200, "/mm3", 3.2),
        (A.LYMPHOCYTES, 0.4, "10*3/uL", 0.4),
        (A.RETICULOCYTES, 50, "10*9/L", 50.0),
    ],
)
def test_count_units_convert_to_10e9_per_l(
    analyte: Analyte, value: float, unit: str, expected_10e9_per_l: float
) -> None:
    """Counts normalise to 10^9/L (docs/evidence.md 8.2)."""
    assert convert(analyte, value, unit) == pytest.approx(expected_10e9_per_l)


@pytest.mark.parametrize(
    ("canonical", "unit", "expected"),
    [(0.5, "/uL", 500.0), (20.0, "/uL", 20_000.0), (20.0, "K/uL", 20.0), (0.5, "cells/mm3", 500)],
)
def test_count_units_reverse(canonical: float, unit: str, expected: float) -> None:
    """The same pairs read backwards: 0.5 x10^9/L = 500 /uL, 20 x10^9/L = 20,000 /uL (8.2)."""
    assert from_canonical(A.PLATELETS, canonical, unit) == pytest.approx(expected)


# --- hemoglobin (8.2: g/L = g/dL x 10; mmol/L = g/dL x 0.6206; CTCAE pairs) ---------------------


@pytest.mark.parametrize(
    ("g_dl", "mmol_l", "g_l"),
    [(10.0, 6.2, 100.0), (8.0, 4.9, 80.0)],
)
def test_hemoglobin_ctcae_pairs(g_dl: float, mmol_l: float, g_l: float) -> None:
    """CTCAE pairs 10.0 g/dL = 6.2 mmol/L = 100 g/L and 8.0 g/dL = 4.9 mmol/L = 80 g/L (8.2).

    The CTCAE mmol/L figures are rounded (8.0 x 0.6206 = 4.96 is printed 4.9), so the molar side
    is compared within 0.1 mmol/L (about 0.16 g/dL).
    """
    assert convert(A.HB, g_dl, "g/dL") == pytest.approx(g_dl)
    assert convert(A.HB, g_l, "g/L") == pytest.approx(g_dl)
    assert convert(A.HB, mmol_l, "mmol/L") == pytest.approx(g_dl, abs=0.17)
    assert from_canonical(A.HB, g_dl, "g/L") == pytest.approx(g_l)
    assert from_canonical(A.HB, g_dl, "mmol/L") == pytest.approx(mmol_l, abs=0.1)


def test_hemoglobin_molar_factor() -> None:
    """mmol/L (monomer) = g/dL x 0.6206 (8.2), exactly."""
    assert from_canonical(A.HB, 1.0, "mmol/L") == pytest.approx(0.6206, rel=1e-9)


# --- chemistry (8.2) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected", "tolerance"),
    [
        # CRP: mg/L = mg/dL x 10; HT cut-off 3.0 mg/dL = 30 mg/L
        (A.CRP, 30, "mg/L", 3.0, 1e-9),
        (A.CRP, 3.0, "mg/dL", 3.0, 1e-9),
        # Ferritin: ng/mL = ug/L (1:1); pmol/L = ng/mL x 2.247
        (A.FERRITIN, 650, "ug/L", 650.0, 1e-9),
        (A.FERRITIN, 650, "µg/L", 650.0, 1e-9),
        (A.FERRITIN, 2247, "pmol/L", 1000.0, 1e-6),
        # Triglycerides: mg/dL = mmol/L x 88.57; HLH-2004 265 mg/dL ~ 3.0 mmol/L
        (A.TRIGLYCERIDES, 3.0, "mmol/L", 265.0, 1.0),
        (A.TRIGLYCERIDES, 1.0, "mmol/L", 88.57, 1e-6),
        # Fibrinogen: mg/dL = g/L x 100 (HScore 2.5 g/L = 250; HLH-2004 150 mg/dL = 1.5 g/L)
        (A.FIBRINOGEN, 2.5, "g/L", 250.0, 1e-9),
        (A.FIBRINOGEN, 1.5, "g/L", 150.0, 1e-9),
        # Bilirubin: umol/L = mg/dL x 17.1; creatinine: umol/L = mg/dL x 88.4
        (A.BILIRUBIN, 17.1, "umol/L", 1.0, 1e-9),
        (A.BILIRUBIN, 34.2, "µmol/L", 2.0, 1e-9),
        (A.CREATININE, 88.4, "umol/L", 1.0, 1e-9),
        (A.CREATININE, 176.8, "µmol/L", 2.0, 1e-9),
        # LDH: 1 ukat/L = 60 U/L
        (A.LDH, 1.0, "ukat/L", 60.0, 1e-9),
        (A.LDH, 4.5, "µkat/L", 270.0, 1e-9),
        (A.LDH, 250, "U/L", 250.0, 1e-9),
        # IgG: mg/dL = g/L x 100 (400 mg/dL = 4 g/L)
        (A.IGG, 4.0, "g/L", 400.0, 1e-9),
        # IL-6: pg/mL = ng/L
        (A.IL6, 12.0, "ng/L", 12.0, 1e-9),
    ],
)
def test_chemistry_conversions(
    analyte: Analyte, value: float, unit: str, expected: float, tolerance: float
) -> None:
    """Chemistry conversions to the canonical unit (docs/evidence.md 8.2)."""
    assert convert(analyte, value, unit) == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize(
    ("analyte", "canonical", "unit", "expected", "tolerance"),
    [
        (A.CRP, 3.0, "mg/L", 30.0, 1e-9),
        (A.FERRITIN, 1000.0, "pmol/L", 2247.0, 1e-6),
        (A.TRIGLYCERIDES, 265.0, "mmol/L", 3.0, 0.01),  # 265 x 0.01129 = 2.99
        (A.FIBRINOGEN, 150.0, "g/L", 1.5, 1e-9),
        (A.BILIRUBIN, 1.0, "umol/L", 17.1, 1e-9),
        (A.CREATININE, 1.0, "umol/L", 88.4, 1e-9),
        (A.LDH, 60.0, "ukat/L", 1.0, 1e-9),
        (A.IGG, 400.0, "g/L", 4.0, 1e-9),
    ],
)
def test_chemistry_conversions_reverse(
    analyte: Analyte, canonical: float, unit: str, expected: float, tolerance: float
) -> None:
    """The 8.2 pairs read from the canonical side (e.g. mmol/L = mg/dL x 0.01129 for TG)."""
    assert from_canonical(analyte, canonical, unit) == pytest.approx(expected, abs=tolerance)


def test_limits_are_converted_with_the_value() -> None:
    """LLN/ULN are given in the value's unit and must be converted with the same factor."""
    _, value, lln, uln, problems = normalise(
        [("anc", None, 1500, "/uL"), ("hb", None, 120, "g/L")],
        lln=[1800, 130],
        uln=[7700, math.nan],
    )
    assert problems == []
    assert value.tolist() == pytest.approx([1.5, 12.0])
    assert lln.tolist() == pytest.approx([1.8, 13.0])
    assert uln[0] == pytest.approx(7.7)
    assert math.isnan(uln[1])


def test_unit_meaning_depends_on_the_analyte() -> None:
    """'g/L' is grams for Hb (100 g/L = 10 g/dL) but giga-cells for platelets (8.2)."""
    _, value, _, _, problems = normalise(
        [("hb", None, 100, "g/L"), ("platelets", None, 100, "g/L"), ("igg", None, 4, "g/L")]
    )
    assert problems == []
    assert value.tolist() == pytest.approx([10.0, 100.0, 400.0])


def test_rows_sharing_dictionary_entries_are_converted_independently() -> None:
    """Several rows pointing at the same analyte and unit entries all get converted."""
    rows = [("anc", None, v, u) for v, u in [(100, "/uL"), (0.2, "10^9/L"), (300, "/uL")]]
    codes, value, _, _, problems = normalise(rows)
    assert problems == []
    assert value.tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert len(set(codes.tolist())) == 1


# --- analyte resolution (8.1) ------------------------------------------------------------------

#: docs/evidence.md 8.1, copied by hand: (analyte, preferred LOINC, alternatives).
LOINC_TABLE: list[tuple[Analyte, str, tuple[str, ...]]] = [
    # segmented 30451-9 and band 26507-4 neutrophils are parts of the ANC, not the ANC (8.1;
    # issue 17): they are refused in records, combined per specimen by the FHIR import
    (A.ANC, "751-8", ("753-4", "26499-4")),
    (A.WBC, "6690-2", ("26464-8", "804-5")),
    (A.LYMPHOCYTES, "731-0", ("26474-7", "732-8")),
    (A.HB, "718-7", ("59260-0", "20509-6")),
    (A.PLATELETS, "777-3", ("26515-7", "778-1", "49497-1")),
    (A.CRP, "1988-5", ()),  # alternatives deliberately not mapped: see the test below
    (A.FERRITIN, "2276-4", ("20567-4", "24373-3")),
    (A.LDH, "2532-0", ("14804-9", "14805-6")),
    (A.FIBRINOGEN, "3255-7", ()),
    (A.TRIGLYCERIDES, "2571-8", ("3043-7", "14927-8")),
    (A.AST, "1920-8", ("30239-8",)),
    (A.ALT, "1742-6", ("1743-4", "1744-2")),
    (A.BILIRUBIN, "1975-2", ("14631-6",)),
    (A.CREATININE, "2160-0", ("14682-9",)),
    (A.IL6, "26881-3", ()),
    # Reticulocytes: 60474-4 [#/vol] count; 17849-1 /100 RBC (%); alternatives 14196-0 (count)
    # and 4679-7 (%).
    (A.RETICULOCYTES, "60474-4", ("14196-0",)),
    (A.RETICULOCYTES_PCT, "17849-1", ("4679-7",)),
    # CD4: 24467-3 [#/volume]; 8123-2 is the % form.
    (A.CD4, "24467-3", ()),
    (A.CD4_PCT, "8123-2", ()),
    (A.IGG, "2465-3", ()),
]

_ALL_CODES = [
    pytest.param(analyte, code, id=f"{analyte.value}-{code}")
    for analyte, primary, alternatives in LOINC_TABLE
    for code in (primary, *alternatives)
]


@pytest.mark.parametrize(("analyte", "code"), _ALL_CODES)
def test_every_loinc_code_of_the_reference_table_resolves(analyte: Analyte, code: str) -> None:
    """Every preferred and alternative LOINC code in docs/evidence.md 8.1 names its analyte."""
    assert resolve_analyte(None, code) is analyte
    assert resolve_analyte(None, f" {code} ") is analyte
    # and through the normaliser, with a unit accepted for that analyte
    unit = "%" if analyte in (A.RETICULOCYTES_PCT, A.CD4_PCT) else accepted_units(analyte)[0]
    codes, _, _, _, problems = normalise([(None, code, 1.0, unit)])
    assert problems == []
    assert codes[0] >= 0


@pytest.mark.parametrize(
    "code",
    [
        "76485-2",  # CRP [Moles/volume]: no molar CRP conversion is defined in 8.2
        "30522-7",  # hs-CRP: "not for scores" (8.1)
        "3074-2",  # fibrinogen code "meaning unverified" (8.1)
        "71693-6",  # IPF code [UNCONFIRMED] (8.1)
    ],
)
def test_unverified_or_unsuitable_codes_are_not_mapped(code: str) -> None:
    """Codes 8.1 flags as unverified or unsuitable for scores are not silently mapped."""
    assert resolve_analyte(None, code) is None


@pytest.mark.parametrize("analyte", list(Analyte))
def test_every_analyte_name_resolves_case_and_space_insensitively(analyte: Analyte) -> None:
    """The analyte names themselves are accepted, in any case and with stray spaces."""
    assert resolve_analyte(analyte.value, None) is analyte
    assert resolve_analyte(f"  {analyte.value.upper()} ", None) is analyte


@pytest.mark.parametrize(
    ("name", "analyte"),
    [
        ("Neutrophils", A.ANC),
        ("Absolute Neutrophil Count", A.ANC),
        ("Hemoglobin", A.HB),
        ("Haemoglobin", A.HB),
        ("HGB", A.HB),
        ("PLT", A.PLATELETS),
        ("Leukocytes", A.WBC),
        ("ALC", A.LYMPHOCYTES),
        ("C-reactive protein", A.CRP),
        ("IL-6", A.IL6),
    ],
)
def test_common_clinical_aliases(name: str, analyte: Analyte) -> None:
    """Common clinical names of the 8.1 analytes resolve to them."""
    assert resolve_analyte(name, None) is analyte


def test_name_wins_over_code_and_unknown_name_falls_back_to_code() -> None:
    """A known name decides; an unknown name with a known code resolves by the code."""
    assert resolve_analyte("hb", "777-3") is A.HB
    assert resolve_analyte("Thrombozyten", "777-3") is A.PLATELETS
    assert resolve_analyte("Thrombozyten", None) is None
    assert resolve_analyte(None, "0000-0") is None
    assert resolve_analyte(None, None) is None


# --- problems ------------------------------------------------------------------------------------


def test_unknown_unit_names_the_unit_field_and_lists_accepted_units() -> None:
    """An unknown unit is an error naming field 'unit', the value, and the accepted units."""
    _, _, _, _, problems = normalise([("anc", None, 500, "furlongs")])
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.row, problem.field, problem.value) == (0, "unit", "furlongs")
    for spelling in ("/ul", "10^9/l", "k/ul", "cells/mm3"):
        assert spelling in problem.message


def test_unit_valid_for_another_analyte_is_rejected() -> None:
    """mg/dL is a real unit, but not a count unit: ANC in mg/dL is an error, never a guess."""
    _, _, _, _, problems = normalise([("anc", None, 1.0, "mg/dL"), ("hb", None, 9, "/uL")])
    assert [(p.row, p.field) for p in problems] == [(0, "unit"), (1, "unit")]
    assert "g/dl" in problems[1].message
    assert "mmol/l" in problems[1].message


def test_missing_unit() -> None:
    """A value without a unit is an error on field 'unit' (DESIGN: every value needs a unit)."""
    _, _, _, _, problems = normalise([("platelets", None, 20, None)])
    assert [(p.row, p.field) for p in problems] == [(0, "unit")]
    assert "missing unit" in problems[0].message


def test_missing_analyte() -> None:
    """A row with neither analyte nor LOINC is an error on field 'analyte'."""
    _, _, _, _, problems = normalise([(None, None, 1.0, "/uL")])
    assert [(p.row, p.field) for p in problems] == [(0, "analyte")]
    assert "missing" in problems[0].message


def test_unknown_analyte_and_unknown_code() -> None:
    """Unknown names are reported on 'analyte', unknown codes (without a name) on 'loinc'."""
    codes, _, _, _, problems = normalise(
        [("unobtainium", None, 1.0, "/uL"), (None, "9999-9", 1.0, "/uL")]
    )
    assert [(p.row, p.field, p.value) for p in problems] == [
        (0, "analyte", "unobtainium"),
        (1, "loinc", "9999-9"),
    ]
    assert codes.tolist() == [-1, -1]


def test_negative_value() -> None:
    """A negative count is an error on 'value' naming the value (DESIGN, Data contract)."""
    _, _, _, _, problems = normalise([("anc", None, -0.1, "10^9/L")])
    assert [(p.row, p.field, p.value) for p in problems] == [(0, "value", -0.1)]
    assert "negative" in problems[0].message


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_value(bad: float) -> None:
    """NaN and infinities are errors on 'value', not silently graded."""
    _, _, _, _, problems = normalise([("platelets", None, bad, "10^9/L")])
    assert problems
    assert {(p.row, p.field) for p in problems} == {(0, "value")}


def test_negative_limit() -> None:
    """A negative LLN/ULN is an error on that field."""
    _, _, _, _, problems = normalise([("anc", None, 1.0, "10^9/L")], lln=[-1.0], uln=[math.nan])
    assert [(p.row, p.field, p.value) for p in problems] == [(0, "lln", -1.0)]


def test_hemoglobin_95_g_dl_is_implausible_and_the_message_suggests_g_l() -> None:
    """Hb 95 "g/dL" is the DESIGN example of unit confusion: reject it and point at g/L."""
    _, _, _, _, problems = normalise([("hb", None, 95, "g/dL")])
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.row, problem.field, problem.value) == (0, "value", 95)
    assert "implausible" in problem.message
    assert "g/l" in problem.message.lower().replace("g/dl", "")


def test_hemoglobin_95_g_l_is_fine() -> None:
    """The same number in g/L is a normal Hb of 9.5 g/dL (8.2)."""
    assert convert(A.HB, 95, "g/L") == pytest.approx(9.5)


def test_platelets_five_million_per_nanolitre_is_implausible() -> None:
    """5,000,000 x10^9/L platelets is impossible; it reads like a per-uL count (8.2)."""
    _, _, _, _, problems = normalise([("platelets", None, 5_000_000, "x10^9/L")])
    assert len(problems) == 1
    assert (problems[0].field, problems[0].value) == ("value", 5_000_000)
    assert "/ul" in problems[0].message


def test_all_problems_are_reported_in_row_order() -> None:
    """Every bad row is reported (nothing raised here), sorted by row; good rows convert."""
    codes, value, _, _, problems = normalise(
        [
            ("hb", None, 95, "g/dL"),
            ("anc", None, 500, "/uL"),
            ("nonsense", None, 1, "/uL"),
            ("anc", None, 1, "parsecs"),
            ("anc", None, -1, "/uL"),
        ]
    )
    assert [p.row for p in problems] == [0, 2, 3, 4]
    assert value[1] == pytest.approx(0.5)
    assert codes[1] >= 0


def test_empty_input() -> None:
    """No observations: no problems, empty columns."""
    out = normalise_observations(
        [],
        [],
        np.zeros(0, np.int64),
        [],
        np.zeros(0, np.int64),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0),
    )
    assert out.problems == []
    assert out.value.shape == (0,)


# --- superscript spellings -----------------------------------------------------------------------


# Regression (fixed): normalise_unit_spelling maps "⁹" -> "9" and "³" -> "3" without a
# caret, so "10⁹/L" becomes "109/l" and "10³/µL" becomes "103/ul", neither of which is accepted.
# docs/evidence.md 8.2 writes counts exactly this way ("0.5 ×10⁹/L", "10³/µL").
@pytest.mark.parametrize("unit", ["10⁹/L", "×10⁹/L", "10³/µL"])
def test_superscript_count_units(unit: str) -> None:
    """The superscript spellings used throughout docs/evidence.md 8.2 are counts."""
    assert unit_factor(A.ANC, unit) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("30451-9", "segmented neutrophils"),
        ("769-8", "segmented neutrophils"),
        ("26507-4", "band neutrophils"),
        ("764-9", "band neutrophils"),
    ],
)
def test_segmented_or_band_neutrophils_alone_are_not_the_anc(code: str, what: str) -> None:
    """Issue 17: segs 0.45 + bands 0.08 is an ANC of 0.53; a segs-only (or bands-only) row read
    as the ANC under-counts it and over-grades ICAHT (docs/evidence.md 8.1: the ANC is
    segmented + band neutrophils of one specimen). A record row coded with such a LOINC is
    refused naming the code and what it is, not graded as the ANC."""
    assert resolve_analyte(None, code) is None
    problems = normalise([(None, code, 0.45, "10^9/L")])[4]
    assert [(p.row, p.field, p.value) for p in problems] == [(0, "loinc", code)]
    assert what in problems[0].message
    assert "not the ANC" in problems[0].message
