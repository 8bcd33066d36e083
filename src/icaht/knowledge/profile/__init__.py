"""Institution profiles: every setting that centres legitimately vary, with its source.

A profile is TOML. Shipped profiles live in ``icaht/knowledge/profiles``; ``seed-2023`` is the
default (the approach of Jain et al., Blood 2023, seed 001) and ``icaht-2023`` follows the EHA/EBMT
consensus where it differs. Settings whose value no source fixes say "project default" in their
description (``docs/decisions.md``). Unknown settings and out-of-range values are
rejected with the setting's dotted name.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from icaht.errors import ProfileError
from icaht.knowledge.profile.grading import (
    BaselineSettings,
    IcahtSettings,
    RecoveryPhenotypeSettings,
    TicahtSettings,
)
from icaht.knowledge.profile.inputs import DataQualitySettings, FhirImportSettings, HscoreSettings
from icaht.knowledge.profile.management import (
    BoostSettings,
    CytopeniaSettings,
    IecHsSettings,
    MarrowSettings,
    PatientGroupSettings,
    SeveritySettings,
    WorkupSettings,
)
from icaht.knowledge.profile.section import SECTION_CONFIG
from icaht.knowledge.profile.supportive_care import (
    GcsfSettings,
    ProphylaxisSettings,
    TransfusionSettings,
    TransfusionTriggerSettings,
)
from icaht.knowledge.profile.tpo_ra import TpoRaSettings

DEFAULT_PROFILE = "seed-2023"


class Profile(BaseModel):
    """An institution profile: named, versioned, and recorded on every assessment."""

    model_config = SECTION_CONFIG
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    baseline: BaselineSettings = BaselineSettings()
    icaht: IcahtSettings = IcahtSettings()
    ticaht: TicahtSettings = TicahtSettings()
    recovery: RecoveryPhenotypeSettings = RecoveryPhenotypeSettings()
    transfusion: TransfusionSettings = TransfusionSettings()
    gcsf: GcsfSettings = GcsfSettings()
    transfusion_triggers: TransfusionTriggerSettings = TransfusionTriggerSettings()
    prophylaxis: ProphylaxisSettings = ProphylaxisSettings()
    tpo_ra: TpoRaSettings = TpoRaSettings()
    iechs: IecHsSettings = IecHsSettings()
    cytopenia: CytopeniaSettings = CytopeniaSettings()
    patient_groups: PatientGroupSettings = PatientGroupSettings()
    workup: WorkupSettings = WorkupSettings()
    data_quality: DataQualitySettings = DataQualitySettings()
    hscore: HscoreSettings = HscoreSettings()
    severity: SeveritySettings = SeveritySettings()
    marrow: MarrowSettings = MarrowSettings()
    boost: BoostSettings = BoostSettings()
    fhir: FhirImportSettings = FhirImportSettings()


def _explain(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        dotted = ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"{dotted}: unknown setting")
        else:  # the setting, the reason and a number read; never text (it may not be a profile)
            value = err.get("input")
            shown = f" (got {value!r})" if isinstance(value, int | float) else ""
            problems.append(f"{dotted}: {err['msg']}{shown}")
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


@functools.cache
def _shipped_names() -> tuple[str, ...]:
    folder = resources.files("icaht.knowledge") / "profiles"
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with icaht."""
    return list(_shipped_names())


@functools.cache
def _shipped_profile(name: str) -> Profile:
    """A shipped profile, parsed once per process (package data does not change; profiles are
    frozen, so sharing one is safe)."""
    resource = resources.files("icaht.knowledge") / "profiles" / f"{name}.toml"
    return parse_profile(resource.read_text(encoding="utf-8"), f"profile {name}")


def load_shipped_profile(name: str) -> Profile:
    """A shipped profile by name only: never reads a file outside the package (the service's
    ``?profile=``); :class:`ProfileError` for an unknown name."""
    if name not in _shipped_names():
        raise ProfileError(name, [f"no such profile; shipped: {', '.join(_shipped_names())}"])
    return _shipped_profile(name)


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
    return load_shipped_profile(str(name_or_path))
