"""CTCAE v5.0 lab grading.

Expected grades are written out from the CTCAE v5.0 table as given in
``docs/evidence.md`` section 2 (not read back from the knowledge module), with the
boundary policy of ``docs/decisions.md`` (Grading): each boundary value belongs to the
milder grade, grade 1 needs an LLN, grades 2-4 ignore the LLN, anemia never reaches grade 4 from
a lab value.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icaht.core.ctcae import (
    NOT_ASSESSABLE_0_1,
    UNGRADED,
    CtcaeTerm,
    code_label,
    grade_array,
    grade_value,
)
from icaht.core.ctcae_worst import worst_grade, worst_grades
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.ctcae_criteria import CTCAE_CRITERIA


def below(x: float) -> float:
    """The largest float strictly below ``x`` (the tightest "just below the boundary")."""
    return math.nextafter(x, -math.inf)


# (term, boundary value in canonical units, grade AT the boundary, grade just BELOW it, LLN used)
# Clinical-reference section 2: "<LLN-X" bands, lower bound inclusive (milder grade).
_DECREASED_BOUNDARIES = [
    # Neutrophil count decreased: G1 <LLN-1.5; G2 <1.5-1.0; G3 <1.0-0.5; G4 <0.5 (10^9/L)
    ("neutrophils", 1.5, 1, 2, 2.0),
    ("neutrophils", 1.0, 2, 3, 2.0),
    ("neutrophils", 0.5, 3, 4, 2.0),
    # Platelet count decreased: G1 <LLN-75; G2 <75-50; G3 <50-25; G4 <25 (10^9/L)
    ("platelets", 75.0, 1, 2, 150.0),
    ("platelets", 50.0, 2, 3, 150.0),
    ("platelets", 25.0, 3, 4, 150.0),
    # White blood cell decreased: G1 <LLN-3.0; G2 <3.0-2.0; G3 <2.0-1.0; G4 <1.0
    ("wbc", 3.0, 1, 2, 4.0),
    ("wbc", 2.0, 2, 3, 4.0),
    ("wbc", 1.0, 3, 4, 4.0),
    # Lymphocyte count decreased: G1 <LLN-0.8; G2 <0.8-0.5; G3 <0.5-0.2; G4 <0.2
    ("lymphocytes", 0.8, 1, 2, 1.0),
    ("lymphocytes", 0.5, 2, 3, 1.0),
    ("lymphocytes", 0.2, 3, 4, 1.0),
    # CD4 lymphocytes decreased: G1 <LLN-500/mm3; G2 <500-200; G3 <200-50; G4 <50
    ("cd4", 0.5, 1, 2, 0.7),
    ("cd4", 0.2, 2, 3, 0.7),
    ("cd4", 0.05, 3, 4, 0.7),
    # Anemia: G1 <LLN-10.0 g/dL; G2 <10.0-8.0; G3 <8.0 (lab-only maximum)
    ("anemia", 10.0, 1, 2, 12.0),
    ("anemia", 8.0, 2, 3, 12.0),
]


@pytest.mark.parametrize(("term", "boundary", "at", "under", "lln"), _DECREASED_BOUNDARIES)
def test_every_boundary_belongs_to_the_milder_grade(
    term: str, boundary: float, at: int, under: int, lln: float
) -> None:
    """Reference table (clin-ref 2): the boundary value is the milder grade, just below is worse."""
    assert grade_value(term, boundary, lln).grade == at
    assert grade_value(term, below(boundary), lln).grade == under
    assert grade_value(term, boundary * 0.99, lln).grade == under
    # grades 2-4 are absolute: the same without an LLN (grade 1 becomes "0-1")
    expected_at = at if at >= 2 else None
    assert grade_value(term, boundary, None).grade == expected_at
    assert grade_value(term, below(boundary), None).grade == under


@pytest.mark.parametrize(("term", "boundary", "at", "under", "lln"), _DECREASED_BOUNDARIES)
def test_grade_array_matches_the_boundaries(
    term: str, boundary: float, at: int, under: int, lln: float
) -> None:
    codes = grade_array(term, np.array([boundary, below(boundary)]), np.array([lln, lln]))
    assert codes.dtype == np.int8
    assert codes.tolist() == [at, under]


def test_named_boundaries_of_the_clinical_decisions() -> None:
    """docs/decisions.md: ANC 1.0 = G2, 0.5 = G3; platelets 75 = G1, 50 = G2, 25 = G3."""
    assert grade_value(CtcaeTerm.NEUTROPHILS, 1.0, None).grade == 2
    assert grade_value(CtcaeTerm.NEUTROPHILS, 0.5, None).grade == 3
    assert grade_value(CtcaeTerm.PLATELETS, 75.0, 150.0).grade == 1
    assert grade_value(CtcaeTerm.PLATELETS, 50.0, None).grade == 2
    assert grade_value(CtcaeTerm.PLATELETS, 25.0, None).grade == 3


@pytest.mark.parametrize(
    ("term", "lln"),
    [("neutrophils", 1.8), ("platelets", 150.0), ("wbc", 4.0), ("lymphocytes", 1.0),
     ("cd4", 0.7), ("anemia", 12.0)],
)  # fmt: skip
def test_grade_1_needs_value_below_the_lln(term: str, lln: float) -> None:
    """CTCAE "<LLN": a value equal to the LLN is grade 0, just below it is grade 1."""
    assert grade_value(term, lln, lln).grade == 0
    assert grade_value(term, lln * 5, lln).grade == 0
    assert grade_value(term, below(lln), lln).grade == 1
    assert grade_array(term, np.array([lln, below(lln)]), np.array([lln, lln])).tolist() == [0, 1]


@pytest.mark.parametrize(
    "term", ["neutrophils", "platelets", "wbc", "lymphocytes", "cd4", "anemia"]
)
def test_without_lln_grade_0_1_is_not_assessable(term: str) -> None:
    """No LLN: grade 1 cannot be assigned and the result says so (never silently grade 0)."""
    floor = CTCAE_CRITERIA[term].floors[0]
    for value in (floor, floor * 3):
        g = grade_value(term, value, None)
        assert g.grade is None
        assert g.code == NOT_ASSESSABLE_0_1
        assert g.label == "grade 0-1"
        assert g.note is not None
        assert "no LLN given" in g.note
        assert "grade 1 not assessable" in g.note
    assert grade_array(term, np.array([floor]), None).tolist() == [NOT_ASSESSABLE_0_1]
    assert grade_array(term, np.array([floor]), np.array([np.nan])).tolist() == [NOT_ASSESSABLE_0_1]
    # NaN in an LLN given as a float is "unknown" too
    assert grade_value(term, floor, math.nan).code == NOT_ASSESSABLE_0_1


def test_lln_below_the_floor_does_not_stop_grade_2() -> None:
    """Clin-ref 2: ANC LLN 1.4, value 1.45 is 'normal' for the lab but in the numeric G2 band;
    graded 2 as the PharmaForest macro does, with a note."""
    g = grade_value("neutrophils", 1.45, 1.4)
    assert g.grade == 2
    assert g.note is not None
    assert "PharmaForest" in g.note
    assert "LLN" in g.note
    assert grade_value("neutrophils", 1.39, 1.4).grade == 2
    assert grade_value("neutrophils", 1.39, 1.4).note is None  # below the LLN too: nothing odd
    assert grade_value("neutrophils", 1.5, 1.4).grade == 0
    assert grade_array("neutrophils", np.array([1.45, 1.5]), np.array([1.4, 1.4])).tolist() == [
        2,
        0,
    ]


@given(
    st.floats(min_value=0, max_value=25, allow_nan=False),
    st.one_of(st.none(), st.floats(min_value=0, max_value=25, allow_nan=False)),
)
def test_anemia_never_grade_4_from_a_lab_value(hb: float, lln: float | None) -> None:
    """CTCAE anemia G4 is clinical only (life-threatening; urgent intervention)."""
    g = grade_value("anemia", hb, lln)
    assert g.grade is None or g.grade <= 3
    arr = grade_array("anemia", np.array([hb]), np.array([np.nan if lln is None else lln]))
    assert int(arr.max()) <= 3


def test_anemia_grade_3_says_grade_4_is_clinical_only() -> None:
    g = grade_value("anemia", 0.5, 12.0)
    assert g.grade == 3
    assert g.note is not None
    assert "grade 4 is clinical only" in g.note
    assert "never" in g.note


def test_baur_authors_grades() -> None:
    """BAUR case (clin-ref 1.6): reference ranges PLT 160-400, WBC 4-11, Hb 118-155 g/L.

    Month 6: Hb 103 g/L (10.3 g/dL) -> grade 1, PLT 60 -> grade 2 (the authors' grades).
    Discharge: WBC 0.38 -> 4, PLT 16 -> 4, Hb 84 g/L (8.4 g/dL) -> 2 (derived, clin-ref 1.6).
    """
    assert grade_value("anemia", 10.3, 11.8).grade == 1
    assert grade_value("platelets", 60.0, 160.0).grade == 2
    assert grade_value("wbc", 0.38, 4.0).grade == 4
    assert grade_value("platelets", 16.0, 160.0).grade == 4
    assert grade_value("anemia", 8.4, 11.8).grade == 2


def test_jain_case_1_pre_ld() -> None:
    """JAIN case 1 pre-LD (clin-ref 1.6): ANC 990/mm3 -> grade 3, Hb 9.5 g/dL -> grade 2."""
    assert grade_value("neutrophils", 0.99, None).grade == 3
    assert grade_value("anemia", 9.5, None).grade == 2
    # PLT 125: grade 1 only if below the lab's LLN
    assert grade_value("platelets", 125.0, 150.0).grade == 1
    assert grade_value("platelets", 125.0, None).code == NOT_ASSESSABLE_0_1


@pytest.mark.parametrize(
    ("value", "lln", "grade"),
    [
        # Fibrinogen decreased: G1 <1.0-0.75 LLN; G2 <0.75-0.5; G3 <0.5-0.25; G4 <0.25 LLN or <50
        (200.0, 200.0, 0),
        (199.9, 200.0, 1),
        (150.0, 200.0, 1),
        (149.9, 200.0, 2),
        (100.0, 200.0, 2),
        (99.9, 200.0, 3),
        (50.0, 200.0, 3),
        (49.9, 200.0, 4),
        (100.0, 400.0, 3),  # 0.25 x 400 = 100: the boundary is the milder grade
        (99.9, 400.0, 4),
        (49.9, None, 4),  # < 50 mg/dL is grade 4 whatever the LLN
        (50.0, None, None),  # needs an LLN
    ],
)
def test_fibrinogen_decreased(value: float, lln: float | None, grade: int | None) -> None:
    g = grade_value("fibrinogen", value, lln)
    assert g.grade == grade
    code = grade_array("fibrinogen", np.array([value]), None if lln is None else np.array([lln]))
    assert int(code[0]) == g.code
    if grade is None:
        assert g.code == UNGRADED
        assert g.note is not None
        assert "LLN" in g.note


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        # Hypertriglyceridemia: G1 150-300 mg/dL; G2 >300-500; G3 >500-1000; G4 >1000
        (149.9, 0),
        (150.0, 1),
        (300.0, 1),
        (300.1, 2),
        (500.0, 2),
        (500.1, 3),
        (1000.0, 3),
        (1000.1, 4),
    ],
)
def test_hypertriglyceridemia(value: float, grade: int) -> None:
    assert grade_value("triglycerides", value, None).grade == grade
    assert grade_array("triglycerides", np.array([value])).tolist() == [grade]


def test_missing_and_invalid_values() -> None:
    g = grade_value("neutrophils", math.nan, 1.8)
    assert g.grade is None
    assert g.code == UNGRADED
    assert g.value is None
    assert g.label == "not graded"
    assert grade_array("neutrophils", np.array([np.nan, 0.1]), 1.8).tolist() == [UNGRADED, 4]
    with pytest.raises(ValueError, match="non-negative"):
        grade_value("neutrophils", -0.1, None)
    with pytest.raises(ValueError, match="non-negative"):
        grade_value("neutrophils", 1.0, -1.0)
    with pytest.raises(ValueError, match="non-negative"):
        grade_array("neutrophils", np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        grade_array("neutrophils", np.array([math.inf]))
    with pytest.raises(ValueError, match="neutropenia"):
        grade_value("neutropenia", 1.0, None)


def test_result_model() -> None:
    g = grade_value("platelets", 16.0, 160.0)
    assert g.term is CtcaeTerm.PLATELETS
    assert g.ctcae_name == "Platelet count decreased"
    assert g.unit == "10^9/L"
    assert g.label == "grade 4"
    assert g.citation == "CTCAE"
    assert g.lln == 160.0
    with pytest.raises(ValueError, match="frozen"):
        g.grade = 1  # type: ignore[misc]


def test_every_term_has_criteria() -> None:
    assert set(CTCAE_CRITERIA) == {t.value for t in CtcaeTerm}


def test_grade_array_broadcasts_and_keeps_shape() -> None:
    values = np.array([[2.0, 1.2], [0.7, 0.2]])
    assert grade_array("neutrophils", values, 1.8).tolist() == [[0, 2], [3, 4]]
    assert grade_array("neutrophils", values).tolist() == [[-1, 2], [3, 4]]
    lln = np.array([np.nan, 2.5])  # per column
    assert grade_array("neutrophils", np.array([[2.0, 2.0]]), lln).tolist() == [[-1, 1]]
    assert grade_array("neutrophils", np.array([], dtype=np.float64)).shape == (0,)


def test_code_labels() -> None:
    assert [code_label(c) for c in (-2, -1, 0, 4)] == [
        "not graded",
        "grade 0-1",
        "grade 0",
        "grade 4",
    ]
    with pytest.raises(ValueError, match="CTCAE code"):
        code_label(5)


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([], None),
        ([UNGRADED], None),
        ([0, 0], 0),
        ([NOT_ASSESSABLE_0_1], NOT_ASSESSABLE_0_1),
        ([0, NOT_ASSESSABLE_0_1], NOT_ASSESSABLE_0_1),  # a certain 0 does not hide a possible 1
        ([1, NOT_ASSESSABLE_0_1], 1),
        ([NOT_ASSESSABLE_0_1, 3, UNGRADED, 2], 3),
        ([UNGRADED, 0], 0),
        ([4, 0, 1], 4),
    ],
)
def test_worst_grade(codes: list[int], worst: int | None) -> None:
    assert worst_grade(codes) == worst
    assert worst_grade(np.array(codes, dtype=np.int8)) == worst


def test_worst_grade_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError, match="codes"):
        worst_grade([5])


@given(
    codes=st.lists(st.integers(min_value=UNGRADED, max_value=4), max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=12), max_size=4),
)
def test_worst_grades_per_slice_equal_worst_grade(codes: list[int], cuts: list[int]) -> None:
    """One pass over several slices (empty ones included) gives worst_grade of each slice."""
    arr = np.array(codes, dtype=np.int8)
    bounds = [0, *sorted(min(c, len(codes)) for c in cuts), len(codes)]
    expected = [worst_grade(arr[lo:hi]) for lo, hi in pairwise(bounds)]
    assert worst_grades(arr, bounds) == expected


def test_worst_grades_checks_bounds_and_codes() -> None:
    with pytest.raises(ValueError, match="bounds"):
        worst_grades(np.array([1, 2], dtype=np.int8), [0, 1])
    with pytest.raises(ValueError, match="codes"):
        worst_grades(np.array([1, 5], dtype=np.int8), [0, 1, 2])


# --- properties ----------------------------------------------------------------------------------

_RANK = {UNGRADED: -1.0, NOT_ASSESSABLE_0_1: 0.5}


def _rank(code: int) -> float:
    """Severity order: 0 < "0-1" < 1 < 2 < 3 < 4."""
    return _RANK.get(code, float(code))


_ABSOLUTE_DECREASED = ["neutrophils", "platelets", "wbc", "lymphocytes", "cd4", "anemia"]
_value = st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False)
_lln = st.one_of(st.none(), st.floats(min_value=0, max_value=500, allow_nan=False))


@given(st.sampled_from(_ABSOLUTE_DECREASED), _value, _value, _lln)
def test_lowering_a_value_never_lowers_the_grade(
    term: str, a: float, b: float, lln: float | None
) -> None:
    low, high = sorted((a, b))
    assert _rank(grade_value(term, low, lln).code) >= _rank(grade_value(term, high, lln).code)


@given(_value, _value, st.floats(min_value=1, max_value=500, allow_nan=False))
def test_fibrinogen_lowering_never_lowers_the_grade(a: float, b: float, lln: float) -> None:
    low, high = sorted((a, b))
    assert grade_value("fibrinogen", low, lln).code >= grade_value("fibrinogen", high, lln).code


@given(st.floats(min_value=0, max_value=5000), st.floats(min_value=0, max_value=5000))
def test_raising_triglycerides_never_lowers_the_grade(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert grade_value("triglycerides", high).code >= grade_value("triglycerides", low).code


_lln_or_nan = st.one_of(st.just(math.nan), st.floats(min_value=0, max_value=500, allow_nan=False))


@given(
    st.sampled_from(list(CtcaeTerm)),
    st.lists(st.tuples(st.one_of(_value, st.just(math.nan)), _lln_or_nan), min_size=1, max_size=30),
)
def test_grade_array_agrees_with_grade_value(
    term: CtcaeTerm, pairs: list[tuple[float, float]]
) -> None:
    values = np.array([v for v, _ in pairs], dtype=np.float64)
    llns = np.array([n for _, n in pairs], dtype=np.float64)
    codes = grade_array(term, values, llns)
    expected = [grade_value(term, v, None if math.isnan(n) else n).code for v, n in pairs]
    assert codes.tolist() == expected


@given(st.sampled_from(list(CtcaeTerm)), st.lists(_value, min_size=1, max_size=30))
def test_grade_array_agrees_at_exact_boundaries(term: CtcaeTerm, extra: list[float]) -> None:
    """Boundary values (and their float neighbours) mixed into random values."""
    floors = CTCAE_CRITERIA[term].floors
    lln = 2 * max(floors) if not CTCAE_CRITERIA[term].floors_x_lln else 200.0
    points = [
        *extra,
        *floors,
        *(below(f) for f in floors),
        *(math.nextafter(f, 1e9) for f in floors),
    ]
    if CTCAE_CRITERIA[term].floors_x_lln:
        points += [f * lln for f in floors] + [below(f * lln) for f in floors] + [50.0, below(50.0)]
    codes = grade_array(term, np.array(points), lln)
    assert codes.tolist() == [grade_value(term, p, lln).code for p in points]


# --------------------------------------------------------------------------------------------
# CTCAE in the reported unit; anemia grade 3 "transfusion indicated" (docs/decisions.md)
# --------------------------------------------------------------------------------------------

_HB_UNITS = tuple(ANALYTES[Analyte.HB].units)


def _from(value: float, unit: str) -> float:
    """The canonical (g/dL) value of ``value`` reported in ``unit``, converted as the input
    boundary converts it (icaht.core.units)."""
    factor = ANALYTES[Analyte.HB].units[unit]
    return value * factor


@pytest.mark.parametrize(
    ("value", "unit", "grade"),
    [
        (6.2, "mmol/l", 1),  # <LLN-6.2 mmol/L: grade 1 (converted: 9.99 g/dL, grade 2)
        (6.19, "mmol/l", 2),
        (4.9, "mmol/l", 2),  # <6.2-4.9 mmol/L: grade 2 (converted: 7.90 g/dL, grade 3)
        (4.89, "mmol/l", 3),
        (100.0, "g/l", 1),
        (80.0, "g/l", 2),
        (79.9, "g/l", 3),
        (8.0, "g/dl", 2),
    ],
)
def test_anemia_graded_on_the_bands_of_the_reported_unit(
    value: float, unit: str, grade: int
) -> None:
    """CTCAE v5 anemia bands in g/dL, g/L and mmol/L (docs/evidence.md 2: <LLN-6.2 mmol/L,
    <6.2-4.9, <4.9): a value reported in mmol/L is graded on the mmol/L bands, not converted
    first (docs/decisions.md, Grading: "CTCAE in the reported unit"). LLN 7.4 mmol/L."""
    canonical = _from(value, unit)
    lln = _from(7.4, "mmol/l")
    g = grade_value("anemia", canonical, lln, unit=unit)
    assert g.grade == grade
    codes = grade_array(
        "anemia", [canonical], [lln], unit_code=np.array([_HB_UNITS.index(unit)], dtype=np.int8)
    )
    assert codes.tolist() == [grade]


def test_mmol_per_l_note_names_the_bands() -> None:
    """The result says it was graded on CTCAE's mmol/L bands (docs/decisions.md)."""
    g = grade_value("anemia", _from(4.9, "mmol/l"), unit="mmol/L")
    assert g.note is not None
    assert "4.9 mmol/L on CTCAE's mmol/L bands (grade 2 < 6.2, grade 3 < 4.9 mmol/L)" in g.note


def test_unknown_or_canonical_unit_code_uses_the_canonical_bands() -> None:
    """Unit code -1 (unknown) and g/dL grade on the g/dL bands; other terms ignore unit codes."""
    v = _from(4.9, "mmol/l")  # 7.896 g/dL
    assert grade_array("anemia", [v, v], unit_code=np.array([-1, 0])).tolist() == [3, 3]
    assert grade_array("neutrophils", [0.4], unit_code=np.array([0])).tolist() == [4]


@pytest.mark.parametrize(("hb", "transfused", "grade"), [(9.0, True, 3), (9.0, False, 2)])
def test_transfusion_indicated_lifts_anemia_grade_2_to_3(
    hb: float, transfused: bool, grade: int
) -> None:
    """CTCAE v5 anemia grade 3: "<8.0 g/dL; transfusion indicated" (docs/evidence.md 2):
    an RBC transfusion within 2 days lifts a lab grade 2 to 3, named as such in the note
    (docs/decisions.md, Grading)."""
    g = grade_value("anemia", hb, 12.0, transfused_day=5 if transfused else None)
    assert g.grade == grade
    assert (g.note is not None and "transfusion indicated" in g.note) is transfused
    codes = grade_array("anemia", [hb], [12.0], transfused=[transfused])
    assert codes.tolist() == [grade]


def test_transfusion_lifts_only_anemia_grade_2() -> None:
    """Only a lab grade 2 is lifted (decisions page); grade 1 stays, other terms ignore it."""
    assert grade_value("anemia", 11.0, 12.0, transfused_day=3).grade == 1
    assert grade_value("anemia", 7.0, 12.0, transfused_day=3).grade == 3
    assert grade_value("platelets", 60.0, 150.0, transfused_day=3).grade == 2
    assert grade_array("anemia", [11.0, 9.0, 7.0], 12.0, transfused=[True] * 3).tolist() == [
        1,
        3,
        3,
    ]
