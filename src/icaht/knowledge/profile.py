"""Institution profiles: every setting that centres legitimately vary, with its source.

A profile is TOML. Shipped profiles live in ``icaht/knowledge/profiles``; ``seed-2023`` is the
default (the approach of Jain et al., Blood 2023, seed 001) and ``icaht-2023`` follows the EHA/EBMT
consensus where it differs. Settings whose value no source fixes say "project default" in their
description (``shared/clinical-decisions.md``). Unknown settings and out-of-range values are
rejected with the setting's dotted name.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from icaht.errors import ProfileError

_FROZEN = ConfigDict(extra="forbid", frozen=True)

DEFAULT_PROFILE = "seed-2023"


class BaselineSettings(BaseModel):
    """Pre-infusion baseline selection (clinical-decisions.md, Timeline)."""

    model_config = _FROZEN
    lookback_days: int = Field(
        10,
        ge=1,
        le=60,
        description="Baseline = last value in [day -lookback, day 0) and before lymphodepletion "
        "starts when its date is known. Source: clinical-decisions.md (Timeline).",
    )


class IcahtSettings(BaseModel):
    """Early and late neutrophil ICAHT (EHA/EBMT 2023) counting rules."""

    model_config = _FROZEN
    duration_method: Literal["longest_run", "cumulative"] = Field(
        "longest_run",
        description="longest_run = longest run under the threshold with short gaps joined "
        "(LIANG-ICAHT automated method); cumulative = total days under the threshold "
        "(T-ICAHT footnote). Source: clinical-decisions.md (Grading).",
    )
    interpolation_max_gap_days: int = Field(
        7,
        ge=0,
        le=14,
        description="Missing days are linearly interpolated across gaps of at most this many "
        "days; longer gaps stay missing and are flagged. Source: LIANG-ICAHT.",
    )
    join_gap_days: int = Field(
        2,
        ge=0,
        le=6,
        description="Runs under the threshold separated by at most this many days above it are "
        "joined (stable recovery needs 3 consecutive days above). Source: LIANG-ICAHT.",
    )
    early_grade4_onset_max_day: int = Field(
        3,
        ge=0,
        le=7,
        description="Neutropenia (<=0.5) starting on day 0..this day and lasting to the last "
        "available value is grade 4. Source: LIANG-ICAHT.",
    )
    late_rule: Literal["lowest_confirmed", "second_lowest"] = Field(
        "lowest_confirmed",
        description="lowest_confirmed = band of the lowest value provided another value in the "
        "window is <= 1.5 (LIANG-ICAHT); second_lowest = band of the second-lowest value. "
        "Source: clinical-decisions.md (Grading).",
    )
    late_window_end_day: Literal[100, 180, 365] = Field(
        100,
        description="Late ICAHT window ends at the earliest of this day, relapse/progression, "
        "next therapy, death and last follow-up. Source: LIANG-ICAHT (day +100); 180/365 "
        "suggested by its author.",
    )


class TicahtSettings(BaseModel):
    """Platelet T-ICAHT counting rules."""

    model_config = _FROZEN
    duration_method: Literal["longest_run", "cumulative"] = Field(
        "cumulative",
        description="T-ICAHT counts cumulative days under the threshold (T-ICAHT Table 1 "
        "footnote). Source: clinical-decisions.md (Grading).",
    )
    late_window_end_day: Literal[100, 180, 365] = Field(
        100, description="Late T-ICAHT window end (T-ICAHT Table 1: day 31-100)."
    )
    recovery_consecutive_days: int = Field(
        3,
        ge=1,
        le=7,
        description="Platelet recovery = first of this many consecutive days >= 20 x10^9/L "
        "(T-ICAHT).",
    )
    recovery_transfusion_free_days: int = Field(
        7,
        ge=0,
        le=28,
        description="... with no platelet transfusion in this many days (T-ICAHT).",
    )


class RecoveryPhenotypeSettings(BaseModel):
    """Neutrophil recovery phenotype (Rejeski, Blood 2021)."""

    model_config = _FROZEN
    window_end_day: int = Field(
        60,
        ge=30,
        le=365,
        description="The phenotype is read from ANC values up to this day; 'quick' needs "
        "follow-up to this day. Project default (the published definitions give no window).",
    )


class TransfusionSettings(BaseModel):
    """Transfusion dependence windows (project defaults, clinical-decisions.md)."""

    model_config = _FROZEN
    platelet_dependence_window_days: int = Field(
        14,
        ge=1,
        le=56,
        description="Platelet-transfusion dependent = >= 1 platelet transfusion in this many "
        "trailing days. Project default (clinical-decisions.md).",
    )
    rbc_dependence_window_days: int = Field(
        28,
        ge=1,
        le=90,
        description="RBC-transfusion dependent = >= 1 RBC transfusion in this many trailing "
        "days. Project default (clinical-decisions.md).",
    )


class GcsfSettings(BaseModel):
    """G-CSF dependence."""

    model_config = _FROZEN
    dependence_window_days: int = Field(
        14,
        ge=1,
        le=56,
        description="G-CSF dependent = G-CSF given within this many trailing days. Project "
        "default (no source defines G-CSF dependence numerically).",
    )


class DataQualitySettings(BaseModel):
    """When the latest value of a lineage is too old to describe the patient today."""

    model_config = _FROZEN
    stale_days_early: int = Field(
        3, ge=1, le=30, description="Jain early phase (< day 30). Project default."
    )
    stale_days_prolonged: int = Field(
        14, ge=1, le=60, description="Jain prolonged phase (day 30-90). Project default."
    )
    stale_days_late: int = Field(
        35, ge=1, le=180, description="Jain late phase (> day 90). Project default."
    )


class HscoreSettings(BaseModel):
    """Which values feed the HScore shown as of a day."""

    model_config = _FROZEN
    lookback_days: int = Field(
        7,
        ge=1,
        le=30,
        description="Laboratory values and fever within this many trailing days feed the HScore "
        "(latest value; highest temperature). Project default.",
    )


class Profile(BaseModel):
    """An institution profile: named, versioned, and recorded on every assessment."""

    model_config = _FROZEN
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    baseline: BaselineSettings = BaselineSettings()
    icaht: IcahtSettings = IcahtSettings()
    ticaht: TicahtSettings = TicahtSettings()
    recovery: RecoveryPhenotypeSettings = RecoveryPhenotypeSettings()
    transfusion: TransfusionSettings = TransfusionSettings()
    gcsf: GcsfSettings = GcsfSettings()
    data_quality: DataQualitySettings = DataQualitySettings()
    hscore: HscoreSettings = HscoreSettings()


def _explain(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        dotted = ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"{dotted}: unknown setting")
        else:
            problems.append(f"{dotted}: {err['msg']} (got {err.get('input')!r})")
    return problems


def parse_profile(text: str, source: str) -> Profile:
    """Parse a profile from TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, [f"not valid TOML: {exc}"]) from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, _explain(exc)) from None


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with icaht."""
    folder = resources.files("icaht.knowledge") / "profiles"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_profile(name_or_path: str | Path | None = None) -> Profile:
    """Load a shipped profile by name, or a profile TOML file by path (default: seed-2023)."""
    if name_or_path is None:
        name_or_path = DEFAULT_PROFILE
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(str(path), [f"cannot read: {exc.strerror}"]) from None
        return parse_profile(text, str(path))
    name = str(name_or_path)
    if name not in shipped_profiles():
        raise ProfileError(name, [f"no such profile; shipped: {', '.join(shipped_profiles())}"])
    resource = resources.files("icaht.knowledge") / "profiles" / f"{name}.toml"
    return parse_profile(resource.read_text(encoding="utf-8"), f"profile {name}")
