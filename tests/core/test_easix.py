"""EASIX family (Pennisi, Blood Adv 2021; clinical-reference 5.3).

EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L); simplified EASIX = LDH / platelets;
m-EASIX = LDH x CRP (mg/dL) / platelets. Usually analysed as log2; no universal cut-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from icaht.core.easix import easix, m_easix, simplified_easix
from icaht.core.score_result import MISSING_BAND, ScoreResult


def test_easix_arithmetic() -> None:
    r = easix(ldh=250.0, creatinine_mg_dl=1.0, platelets=125.0)
    assert r.computable
    assert r.total == pytest.approx(2.0)
    assert r.log2_total == pytest.approx(1.0)
    r = easix(ldh=600.0, creatinine_mg_dl=1.5, platelets=20.0)
    assert r.total == pytest.approx(45.0)
    assert r.log2_total == pytest.approx(math.log2(45.0))
    assert r.citations == ["PENNISI"]
    assert r.category is None
    assert [i.name for i in r.items] == ["ldh", "creatinine_mg_dl", "platelets"]
    assert [i.unit for i in r.items] == ["U/L", "mg/dL", "10^9/L"]
    assert all(i.points is None for i in r.items)


def test_simplified_easix_arithmetic() -> None:
    r = simplified_easix(ldh=400.0, platelets=100.0)
    assert r.total == pytest.approx(4.0)
    assert r.log2_total == pytest.approx(2.0)
    assert [i.name for i in r.items] == ["ldh", "platelets"]


def test_m_easix_arithmetic() -> None:
    """m-EASIX uses CRP in mg/dL: CRP 50 mg/L = 5 mg/dL."""
    r = m_easix(ldh=300.0, crp_mg_dl=5.0, platelets=50.0)
    assert r.total == pytest.approx(30.0)
    assert r.log2_total == pytest.approx(math.log2(30.0))
    assert [i.name for i in r.items] == ["ldh", "crp_mg_dl", "platelets"]


def test_no_cut_off_is_applied() -> None:
    r = m_easix(ldh=3000.0, crp_mg_dl=30.0, platelets=5.0)
    assert r.category is None
    assert any("No universal cut-off" in n for n in r.notes)


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (easix, {"ldh": 250.0, "creatinine_mg_dl": 1.0}),
        (simplified_easix, {"ldh": 250.0}),
        (m_easix, {"ldh": 250.0, "crp_mg_dl": 2.0}),
    ],
)
def test_platelets_zero_is_not_computable(
    fn: Callable[..., ScoreResult], kwargs: dict[str, float]
) -> None:
    r = fn(platelets=0.0, **kwargs)
    assert not r.computable
    assert r.total is None
    assert r.log2_total is None
    assert r.missing == []
    assert r.reason is not None
    assert "platelets" in r.reason


@pytest.mark.parametrize(
    ("fn", "full"),
    [
        (easix, {"ldh": 250.0, "creatinine_mg_dl": 1.0, "platelets": 100.0}),
        (simplified_easix, {"ldh": 250.0, "platelets": 100.0}),
        (m_easix, {"ldh": 250.0, "crp_mg_dl": 2.0, "platelets": 100.0}),
    ],
)
def test_each_missing_input_is_named(
    fn: Callable[..., ScoreResult], full: dict[str, float]
) -> None:
    for name in full:
        for missing_value in (None, math.nan):
            r = fn(**{**full, name: missing_value})
            assert not r.computable
            assert r.total is None
            assert r.missing == [name]
            item = next(i for i in r.items if i.name == name)
            assert item.value is None
            assert item.band == MISSING_BAND


def test_zero_numerator_has_no_log2() -> None:
    r = easix(ldh=0.0, creatinine_mg_dl=1.0, platelets=100.0)
    assert r.computable
    assert r.total == 0.0
    assert r.log2_total is None
    assert any("log2" in n for n in r.notes)


def test_impossible_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="ldh"):
        easix(ldh=-1.0, creatinine_mg_dl=1.0, platelets=100.0)
