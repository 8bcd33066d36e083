"""HScore (Fardet, Arthritis Rheumatol 2014).

Item table and probability table from ``docs/evidence.md`` 5.4 (Fardet's table as
reproduced in Hindawi CRIRH 2017 tab. 3 and PMC7589537 table 4); triglyceride cut-offs converted
from mmol/L with 88.57 mg/dL per mmol/L (clinical-reference 8.2); fibrinogen 2.5 g/L = 250 mg/dL.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icaht.core.hscore import hscore, probability_row
from icaht.core.score_result import MISSING_BAND, ScoreResult

MG_DL_PER_MMOL_L = 88.57  # triglycerides (clin-ref 8.2)

# every item known and scoring 0
ZERO: dict[str, Any] = {
    "immunosuppression": False,
    "temperature_c": 37.0,
    "hepatomegaly": False,
    "splenomegaly": False,
    "hb": 12.0,
    "wbc": 7.0,
    "platelets": 200.0,
    "ferritin": 500.0,
    "triglycerides_mg_dl": 100.0,
    "fibrinogen_mg_dl": 300.0,
    "ast": 20.0,
    "hemophagocytosis": False,
}


def below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def above(x: float) -> float:
    return math.nextafter(x, math.inf)


def score(**changes: Any) -> ScoreResult:
    return hscore(**{**ZERO, **changes})


def item_points(r: ScoreResult, name: str) -> int | None:
    return next(i.points for i in r.items if i.name == name)


def test_all_zero() -> None:
    r = score()
    assert r.computable
    assert r.total == 0
    assert r.probability == "<1%"
    assert r.citations == ["FARDET"]
    assert len(r.items) == 9  # Fardet's nine variables


@pytest.mark.parametrize(
    ("changes", "item", "points"),
    [
        # known immunosuppression: 0 / 18
        ({"immunosuppression": True}, "immunosuppression", 18),
        # temperature: <38.4 -> 0; 38.4-39.4 -> 33; >39.4 -> 49
        ({"temperature_c": below(38.4)}, "temperature_c", 0),
        ({"temperature_c": 38.4}, "temperature_c", 33),
        ({"temperature_c": 39.0}, "temperature_c", 33),
        ({"temperature_c": 39.4}, "temperature_c", 33),
        ({"temperature_c": above(39.4)}, "temperature_c", 49),
        ({"temperature_c": 40.5}, "temperature_c", 49),
        # organomegaly: none 0; hepatomegaly or splenomegaly 23; both 38
        ({"hepatomegaly": True}, "organomegaly", 23),
        ({"splenomegaly": True}, "organomegaly", 23),
        ({"hepatomegaly": True, "splenomegaly": True}, "organomegaly", 38),
        # cytopenic lineages (Hb <=9.2 g/dL, WBC <=5.0, PLT <=110): 0/1 -> 0; 2 -> 24; 3 -> 34
        ({"hb": 9.2}, "cytopenias", 0),
        ({"hb": 9.2, "wbc": 5.0}, "cytopenias", 24),
        ({"hb": 9.2, "wbc": 5.0, "platelets": 110.0}, "cytopenias", 34),
        ({"hb": above(9.2), "wbc": 5.0, "platelets": 110.0}, "cytopenias", 24),
        ({"hb": 9.2, "wbc": above(5.0), "platelets": 110.0}, "cytopenias", 24),
        ({"hb": 9.2, "wbc": 5.0, "platelets": above(110.0)}, "cytopenias", 24),
        ({"wbc": 0.1, "platelets": 5.0}, "cytopenias", 24),
        # ferritin: <2000 -> 0; 2000-6000 -> 35; >6000 -> 50
        ({"ferritin": below(2000.0)}, "ferritin", 0),
        ({"ferritin": 2000.0}, "ferritin", 35),
        ({"ferritin": 6000.0}, "ferritin", 35),
        ({"ferritin": above(6000.0)}, "ferritin", 50),
        # triglycerides: <1.5 mmol/L -> 0; 1.5-4 -> 44; >4 -> 64 (given in mg/dL)
        ({"triglycerides_mg_dl": 1.49 * MG_DL_PER_MMOL_L}, "triglycerides_mg_dl", 0),
        ({"triglycerides_mg_dl": 132.7}, "triglycerides_mg_dl", 0),  # 1.498 mmol/L
        ({"triglycerides_mg_dl": 1.5 * MG_DL_PER_MMOL_L}, "triglycerides_mg_dl", 44),
        ({"triglycerides_mg_dl": 132.9}, "triglycerides_mg_dl", 44),
        ({"triglycerides_mg_dl": 4.0 * MG_DL_PER_MMOL_L}, "triglycerides_mg_dl", 44),
        ({"triglycerides_mg_dl": 354.3}, "triglycerides_mg_dl", 64),
        ({"triglycerides_mg_dl": 4.01 * MG_DL_PER_MMOL_L}, "triglycerides_mg_dl", 64),
        # fibrinogen: >2.5 g/L -> 0; <=2.5 g/L (250 mg/dL) -> 30
        ({"fibrinogen_mg_dl": above(250.0)}, "fibrinogen_mg_dl", 0),
        ({"fibrinogen_mg_dl": 250.0}, "fibrinogen_mg_dl", 30),
        ({"fibrinogen_mg_dl": 80.0}, "fibrinogen_mg_dl", 30),
        # AST: <30 -> 0; >=30 -> 19
        ({"ast": below(30.0)}, "ast", 0),
        ({"ast": 30.0}, "ast", 19),
        # hemophagocytosis on bone marrow aspirate: 0 / 35
        ({"hemophagocytosis": True}, "hemophagocytosis", 35),
    ],
)
def test_every_item_band(changes: dict[str, Any], item: str, points: int) -> None:
    r = score(**changes)
    assert r.computable
    assert item_points(r, item) == points
    assert r.total == points  # everything else scores 0


def test_zero_cytopenic_lineages_score_0() -> None:
    """Clin-ref 5.4 (derived): the table states '1 lineage = 0'; 0 lineages also scores 0."""
    r = score()
    item = next(i for i in r.items if i.name == "cytopenias")
    assert item.value == 0
    assert item.points == 0


def test_triglyceride_band_states_the_conversion() -> None:
    r = score(triglycerides_mg_dl=200.0)
    band = next(i.band for i in r.items if i.name == "triglycerides_mg_dl")
    assert "mmol/L" in band
    assert "88.57" in band


def test_maximum_is_337() -> None:
    r = hscore(
        immunosuppression=True,
        temperature_c=40.0,
        hepatomegaly=True,
        splenomegaly=True,
        hb=7.0,
        wbc=1.0,
        platelets=20.0,
        ferritin=20000.0,
        triglycerides_mg_dl=500.0,
        fibrinogen_mg_dl=100.0,
        ast=200.0,
        hemophagocytosis=True,
    )
    assert r.total == 337
    assert r.probability == ">99%"


def test_fully_specified_case() -> None:
    """Hand computed: no immunosuppression 0; 39.0 degC 33; splenomegaly only 23; Hb 8.1,
    WBC 1.2, PLT 45 = 3 lineages 34; ferritin 12,000 50; TG 310 mg/dL (3.5 mmol/L) 44;
    fibrinogen 140 mg/dL 30; AST 85 19; no marrow hemophagocytosis 0. Total 233 -> read at the
    230 row: 98%; at or above the cut-off 169."""
    r = hscore(
        immunosuppression=False,
        temperature_c=39.0,
        hepatomegaly=False,
        splenomegaly=True,
        hb=8.1,
        wbc=1.2,
        platelets=45.0,
        ferritin=12000.0,
        triglycerides_mg_dl=310.0,
        fibrinogen_mg_dl=140.0,
        ast=85.0,
        hemophagocytosis=False,
    )
    assert r.computable
    assert [i.points for i in r.items] == [0, 33, 23, 34, 50, 44, 30, 19, 0]
    assert r.total == 233
    assert r.probability == "98%"
    assert r.category == "at or above cut-off 169"
    assert (r.minimum, r.maximum) == (233, 233)


# Fardet 2014 probability table (clin-ref 5.4)
_TABLE = [
    (90, "<1%"), (100, "1%"), (110, "3%"), (120, "5%"), (130, "9%"), (140, "16%"),
    (150, "25%"), (160, "40%"), (170, "54%"), (180, "70%"), (190, "80%"), (200, "88%"),
    (210, "93%"), (220, "96%"), (230, "98%"), (240, "99%"), (250, ">99%"),
]  # fmt: skip


@pytest.mark.parametrize(("total", "label"), _TABLE)
def test_probability_table(total: int, label: str) -> None:
    assert probability_row(total) == (total, label)


@pytest.mark.parametrize(
    ("total", "row", "label"),
    [
        (0, None, "<1%"),
        (89, None, "<1%"),
        (95, 90, "<1%"),
        (169, 160, "40%"),  # between rows: the highest tabulated score not above it
        (175, 170, "54%"),
        (249, 240, "99%"),
        (251, 250, ">99%"),
        (337, 250, ">99%"),
    ],
)
def test_probability_between_rows(total: int, row: int | None, label: str) -> None:
    assert probability_row(total) == (row, label)


#: 169 = 33 (temperature) + 38 (both organs) + 34 (3 lineages) + 64 (TG > 4 mmol/L)
SCORE_169: dict[str, float | bool] = {
    "temperature_c": 39.0,
    "hepatomegaly": True,
    "splenomegaly": True,
    "hb": 8.0,
    "wbc": 2.0,
    "platelets": 50.0,
    "triglycerides_mg_dl": 400.0,
}


def test_probability_note_explains_the_reading() -> None:
    # 169 = 33 (temperature) + 38 (both organs) + 34 (3 lineages) + 64 (TG > 4 mmol/L)
    r = score(**SCORE_169)
    assert r.total == 169
    assert r.probability == "40%"
    note = r.notes[0]
    assert "160 (40%)" in note
    assert "170 (54%)" in note
    assert "highest tabulated score not above" in note


def test_cut_off_169() -> None:
    """Best cut-off 169 (Fardet): 169 is at or above, 168 below."""
    at = score(**SCORE_169)
    assert at.total == 169
    assert at.category == "at or above cut-off 169"
    # 168 = 33 + 38 + 34 + 44 (TG 1.5-4 mmol/L) + 19 (AST)
    under = score(
        temperature_c=39.0,
        hepatomegaly=True,
        splenomegaly=True,
        hb=8.0,
        wbc=2.0,
        platelets=50.0,
        triglycerides_mg_dl=200.0,
        ast=40.0,
    )
    assert under.total == 168
    assert under.category == "below cut-off 169"


def test_everything_missing() -> None:
    r = hscore()
    assert not r.computable
    assert r.total is None
    assert r.category is None
    assert r.probability is None
    assert (r.minimum, r.maximum) == (0, 337)
    assert r.missing == [
        "immunosuppression",
        "temperature_c",
        "hepatomegaly",
        "splenomegaly",
        "hb",
        "wbc",
        "platelets",
        "ferritin",
        "triglycerides_mg_dl",
        "fibrinogen_mg_dl",
        "ast",
        "hemophagocytosis",
    ]
    assert all(i.points is None for i in r.items)


@pytest.mark.parametrize(
    ("name", "max_points"),
    [
        ("immunosuppression", 18),
        ("temperature_c", 49),
        ("ferritin", 50),
        ("triglycerides_mg_dl", 64),
        ("fibrinogen_mg_dl", 30),
        ("ast", 19),
        ("hemophagocytosis", 35),
    ],
)
def test_each_missing_item_widens_the_range(name: str, max_points: int) -> None:
    """A missing item is never scored 0: not computable, min = known, max = known + its max."""
    for missing_value in (
        (None, math.nan) if name not in {"immunosuppression", "hemophagocytosis"} else (None,)
    ):
        r = score(**{"ast": 45.0, name: missing_value})
        known = 19 if name != "ast" else 0
        assert not r.computable
        assert r.total is None
        assert r.missing == [name]
        assert (r.minimum, r.maximum) == (known, known + max_points)
        item = next(i for i in r.items if i.name == name)
        assert item.points is None
        assert item.band == MISSING_BAND


def test_partially_known_organomegaly() -> None:
    r = score(hepatomegaly=True, splenomegaly=None)
    assert r.missing == ["splenomegaly"]
    assert (r.minimum, r.maximum) == (23, 38)
    r = score(hepatomegaly=None, splenomegaly=False)
    assert (r.minimum, r.maximum) == (0, 23)
    r = score(hepatomegaly=None, splenomegaly=None)
    assert r.missing == ["hepatomegaly", "splenomegaly"]
    assert (r.minimum, r.maximum) == (0, 38)


def test_partially_known_cytopenias() -> None:
    r = score(hb=8.0, wbc=None, platelets=50.0)  # 2 known lineages: 24, a third would give 34
    assert r.missing == ["wbc"]
    assert (r.minimum, r.maximum) == (24, 34)
    r = score(hb=12.0, wbc=None, platelets=None)  # 0 known: 0, up to 2 -> 24
    assert (r.minimum, r.maximum) == (0, 24)
    r = score(hb=8.0, wbc=None, platelets=None)  # 1 known: 0, up to 3 -> 34
    assert (r.minimum, r.maximum) == (0, 34)
    item = next(i for i in r.items if i.name == "cytopenias")
    assert item.points is None
    assert item.band.startswith(MISSING_BAND)


def test_missing_marrow_in_a_high_case() -> None:
    """The fully specified case without a marrow aspirate: 233-268, above the cut-off anyway."""
    r = hscore(
        immunosuppression=False,
        temperature_c=39.0,
        hepatomegaly=False,
        splenomegaly=True,
        hb=8.1,
        wbc=1.2,
        platelets=45.0,
        ferritin=12000.0,
        triglycerides_mg_dl=310.0,
        fibrinogen_mg_dl=140.0,
        ast=85.0,
    )
    assert not r.computable
    assert r.missing == ["hemophagocytosis"]
    assert (r.minimum, r.maximum) == (233, 268)
    assert any("At or above cut-off 169 whatever the missing items" in n for n in r.notes)
    assert any("98% to >99%" in n for n in r.notes)


def test_below_cut_off_whatever_the_missing_items() -> None:
    r = score(hemophagocytosis=None, immunosuppression=None)
    assert (r.minimum, r.maximum) == (0, 53)
    assert any("Below cut-off 169 whatever the missing items" in n for n in r.notes)


def test_impossible_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="ferritin"):
        score(ferritin=-5.0)


_bool = st.booleans()
_full = st.fixed_dictionaries(
    {
        "immunosuppression": _bool,
        "temperature_c": st.floats(min_value=35, max_value=42),
        "hepatomegaly": _bool,
        "splenomegaly": _bool,
        "hb": st.floats(min_value=3, max_value=18),
        "wbc": st.floats(min_value=0, max_value=30),
        "platelets": st.floats(min_value=0, max_value=600),
        "ferritin": st.floats(min_value=0, max_value=100000),
        "triglycerides_mg_dl": st.floats(min_value=20, max_value=1500),
        "fibrinogen_mg_dl": st.floats(min_value=10, max_value=900),
        "ast": st.floats(min_value=5, max_value=3000),
        "hemophagocytosis": _bool,
    }
)


@given(_full, st.sets(st.sampled_from(sorted(ZERO))))
def test_missing_range_contains_the_true_total(full: dict[str, Any], hidden: set[str]) -> None:
    """Whatever the missing values are, the complete total lies in [minimum, maximum]."""
    complete = hscore(**full)
    assert complete.total is not None
    assert 0 <= complete.total <= 337
    partial = hscore(**{k: (None if k in hidden else v) for k, v in full.items()})
    assert partial.minimum is not None
    assert partial.maximum is not None
    assert partial.minimum <= complete.total <= partial.maximum
    assert partial.computable == (not hidden)
    assert sorted(partial.missing) == sorted(hidden)
