"""CAR-HEMATOTOX (Rejeski, Blood 2021).

Cut-offs from ``docs/evidence.md`` 5.1 (the HT table): platelets >175 / 75-175 / <75,
ANC >=1.2 / <1.2, Hb >=9.0 / <9.0, CRP <3.0 / >=3.0 mg/dL, ferritin <650 / 650-2000 / >2000;
total 0-7, low 0-1, high >=2. Boundary values per ``docs/decisions.md`` (Risk scores):
exactly on a range cut-off = middle band; ANC 1.2 -> 0, Hb 9.0 -> 0, CRP 3.0 -> 1.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icaht.core.hematotox import car_hematotox
from icaht.core.score_result import MISSING_BAND, ScoreResult

# every input at a 0-point value
NORMAL = {"platelets": 250.0, "anc": 3.0, "hb": 13.0, "crp_mg_dl": 0.5, "ferritin": 300.0}


def below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def above(x: float) -> float:
    return math.nextafter(x, math.inf)


def score(**changes: float | None) -> ScoreResult:
    return car_hematotox(**{**NORMAL, **changes})


def points(result: ScoreResult, name: str) -> int | None:
    return next(i.points for i in result.items if i.name == name)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        # Platelets (10^9/L): >175 -> 0; 75-175 -> 1 (both ends); <75 -> 2
        ("platelets", above(175.0), 0),
        ("platelets", 175.0, 1),
        ("platelets", below(175.0), 1),
        ("platelets", 125.0, 1),
        ("platelets", 75.0, 1),
        ("platelets", below(75.0), 2),
        ("platelets", 0.0, 2),
        # ANC (10^9/L): >=1.2 -> 0; <1.2 -> 1
        ("anc", 1.2, 0),
        ("anc", above(1.2), 0),
        ("anc", below(1.2), 1),
        ("anc", 1.19, 1),
        ("anc", 0.0, 1),
        # Hb (g/dL): >=9.0 -> 0; <9.0 -> 1
        ("hb", 9.0, 0),
        ("hb", below(9.0), 1),
        ("hb", 8.9, 1),
        # CRP (mg/dL): <3.0 -> 0; >=3.0 -> 1
        ("crp_mg_dl", below(3.0), 0),
        ("crp_mg_dl", 2.9, 0),
        ("crp_mg_dl", 3.0, 1),
        ("crp_mg_dl", 30.0, 1),
        # Ferritin (ng/mL): <650 -> 0; 650-2000 -> 1 (both ends); >2000 -> 2
        ("ferritin", below(650.0), 0),
        ("ferritin", 650.0, 1),
        ("ferritin", 2000.0, 1),
        ("ferritin", above(2000.0), 2),
        ("ferritin", 15000.0, 2),
    ],
)
def test_every_cut_off(name: str, value: float, expected: int) -> None:
    r = score(**{name: value})
    assert r.computable
    assert points(r, name) == expected
    assert r.total == expected  # the other inputs score 0
    assert r.category == ("high" if expected >= 2 else "low")


def test_band_text_names_the_rule() -> None:
    r = score(platelets=75.0, ferritin=2000.0, crp_mg_dl=3.0)
    bands = {i.name: i.band for i in r.items}
    assert bands["platelets"].startswith("75-175 x10^9/L")
    assert bands["platelets"].endswith("→ 1")
    assert bands["ferritin"].startswith("650-2000 ng/mL")
    assert bands["crp_mg_dl"] == "≥3.0 mg/dL → 1"
    assert bands["anc"] == "≥1.2 x10^9/L → 0"


@pytest.mark.parametrize(
    ("changes", "total", "category"),
    [
        ({}, 0, "low"),
        ({"crp_mg_dl": 3.0}, 1, "low"),
        ({"anc": 1.0, "hb": 8.0}, 2, "high"),
        (
            {"platelets": 50.0, "anc": 0.1, "hb": 7.0, "crp_mg_dl": 10.0, "ferritin": 5000.0},
            7,
            "high",
        ),
    ],
)
def test_total_and_category(changes: dict[str, float], total: int, category: str) -> None:
    """Total 0-7; low 0-1, high >= 2 (HT)."""
    r = score(**changes)
    assert r.total == total
    assert r.category == category
    assert r.minimum == r.maximum == total
    assert r.citations == ["HT"]
    assert r.missing == []


@pytest.mark.parametrize(
    ("name", "max_points"),
    [("platelets", 2), ("anc", 1), ("hb", 1), ("crp_mg_dl", 1), ("ferritin", 2)],
)
def test_each_missing_input(name: str, max_points: int) -> None:
    """A missing input: not computable, named, never imputed as normal; others keep points."""
    for missing_value in (None, math.nan):
        r = score(**{"anc": 0.5, name: missing_value})
        assert not r.computable
        assert r.total is None
        assert r.category is None
        assert r.missing == [name]
        assert r.reason is not None
        assert name in r.reason
        item = next(i for i in r.items if i.name == name)
        assert item.points is None
        assert item.value is None
        assert item.band == MISSING_BAND
        present = [i for i in r.items if i.name != name]
        assert all(i.points is not None for i in present)
        known = 1 if name != "anc" else 0
        assert r.minimum == known
        assert r.maximum == known + max_points


def test_all_missing() -> None:
    r = car_hematotox(platelets=None, anc=None, hb=None, crp_mg_dl=None, ferritin=None)
    assert not r.computable
    assert r.missing == ["platelets", "anc", "hb", "crp_mg_dl", "ferritin"]
    assert (r.minimum, r.maximum) == (0, 7)


def test_jain_case_1_pre_ld() -> None:
    """JAIN case 1 pre-LD (clin-ref 1.6): ANC 990/mm3, Hb 9.5 g/dL, PLT 125; CRP and ferritin
    not reported: PLT 1 + ANC 1 + Hb 0 = 2 known points, not computable, already >= 2."""
    r = car_hematotox(platelets=125.0, anc=0.99, hb=9.5, crp_mg_dl=None, ferritin=None)
    assert not r.computable
    assert r.total is None
    assert [points(r, n) for n in ("platelets", "anc", "hb")] == [1, 1, 0]
    assert r.missing == ["crp_mg_dl", "ferritin"]
    assert (r.minimum, r.maximum) == (2, 5)
    assert any("high whatever the missing values" in n for n in r.notes)
    # with CRP and ferritin both in the 0 band, the complete score is 2: high
    full = car_hematotox(platelets=125.0, anc=0.99, hb=9.5, crp_mg_dl=0.5, ferritin=300.0)
    assert full.total == 2
    assert full.category == "high"


def test_low_whatever_the_missing_value() -> None:
    r = score(crp_mg_dl=None)
    assert (r.minimum, r.maximum) == (0, 1)
    assert any("low whatever the missing values" in n for n in r.notes)


def test_impossible_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="platelets"):
        score(platelets=-1.0)
    with pytest.raises(ValueError, match="ferritin"):
        score(ferritin=math.inf)


_v = st.floats(min_value=0, max_value=10000, allow_nan=False, allow_infinity=False)


@given(
    st.fixed_dictionaries(dict.fromkeys(NORMAL, _v)),
    st.sets(st.sampled_from(sorted(NORMAL))),
)
def test_missing_range_contains_the_true_total(full: dict[str, float], hidden: set[str]) -> None:
    """Whatever the missing values are, the complete total lies in [minimum, maximum]."""
    complete = car_hematotox(**full)
    assert complete.total is not None
    assert 0 <= complete.total <= 7
    partial = car_hematotox(**{k: (None if k in hidden else v) for k, v in full.items()})
    assert partial.minimum is not None
    assert partial.maximum is not None
    assert partial.minimum <= complete.total <= partial.maximum
    assert partial.computable == (not hidden)
