"""Neutrophil and lymphocyte counts from the parts of a white-cell differential (issue 17).

Segmented (30451-9, 769-8) and band (26507-4, 764-9) neutrophils are not the ANC: the ANC is
their sum on the same specimen (the same ``Observation.specimen``, else the same time); a
segmented value alone is not graded. A neutrophil or lymphocyte percentage (770-8, 26511-6;
736-9, 26478-8) times the WBC of the same specimen gives the count. Every such value is marked
``derived``; a measured ANC or lymphocyte count of the same time wins. Parts that cannot be
combined are listed in the import report with their resource id, code and reason.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from icaht.core.units import unit_factor
from icaht.io.fhir.import_report import ImportReport
from icaht.knowledge.analytes import Analyte

COUNT_UNIT = "10^9/L"
_PERCENT = frozenset({"%", "percent"})


def _key(item: dict[str, Any]) -> Hashable:
    key: Hashable = item.get("specimen") or item.get("_specimen") or item["time"]
    return key


def _wbc_by_key(labs: list[dict[str, Any]]) -> dict[Hashable, float]:
    """The WBC of each specimen (and of each time), in 10^9/L."""
    found: dict[Hashable, float] = {}
    for lab in labs:
        if lab["analyte"] != Analyte.WBC.value:
            continue
        factor = unit_factor(Analyte.WBC, lab["unit"])
        if factor is not None:
            found[_key(lab)] = lab["value"] * factor
            found[lab["time"]] = lab["value"] * factor
    return found


def _count(part: dict[str, Any], wbc: float | None) -> float | None:
    """A part as a count in 10^9/L: a count in an accepted unit, or a % times the WBC."""
    if part["unit"].strip().lower() in _PERCENT:
        return None if wbc is None else part["value"] / 100.0 * wbc
    factor = unit_factor(Analyte.ANC, part["unit"])
    return None if factor is None else part["value"] * factor


class _Group:
    """The differential parts of one specimen."""

    def __init__(self, parts: list[dict[str, Any]], wbc: float | None) -> None:
        self.parts = {p["part"]: p for p in parts}
        self.wbc = wbc
        self.time = parts[0]["time"]

    def count(self, name: str) -> float | None:
        part = self.parts.get(name)
        return None if part is None else _count(part, self.wbc)

    def anc(self) -> tuple[float | None, str, str]:
        """(ANC, how, why not) of this specimen."""
        if "neutrophils" in self.parts:
            value = self.count("neutrophils")
            return value, "neutrophil % x WBC of the same specimen", "no WBC of the same specimen"
        segs, bands = self.count("segs"), self.count("bands")
        if "segs" in self.parts and "bands" in self.parts:
            total = None if segs is None or bands is None else segs + bands
            return total, "segmented + band neutrophils of the same specimen", "unit or WBC"
        if "segs" in self.parts:
            return None, "", "segmented neutrophils without bands of the same specimen: not ANC"
        return None, "", "band neutrophils without segmented of the same specimen: not ANC"


def _lab(time: object, analyte: Analyte, value: float, how: str) -> dict[str, Any]:
    return {
        "time": time,
        "analyte": analyte.value,
        "value": round(value, 4),
        "unit": COUNT_UNIT,
        "derived": how,
    }


def _drop(parts: list[dict[str, Any]], reason: str, report: ImportReport) -> None:
    for part in parts:
        report.mapped["Observation"] -= 1
        report.add_unmapped("Observation", part["id"], reason, part["code"])


def derive_counts(
    differential: list[dict[str, Any]], labs: list[dict[str, Any]], report: ImportReport
) -> list[dict[str, Any]]:
    """The ANC and lymphocyte values derived from the differential parts of one patient."""
    if not differential:
        return []
    wbc = _wbc_by_key(labs)
    measured = {(lab["analyte"], lab["time"]) for lab in labs}
    groups: dict[Hashable, list[dict[str, Any]]] = {}
    for part in differential:
        groups.setdefault(_key(part), []).append(part)
    out: list[dict[str, Any]] = []
    for key, parts in groups.items():
        group = _Group(parts, wbc.get(key, wbc.get(parts[0]["time"])))
        neutrophil_parts = [p for p in parts if p["part"] != "lymphocytes"]
        if neutrophil_parts:
            out += _derived(group, Analyte.ANC, neutrophil_parts, measured, report)
        lymphocytes = [p for p in parts if p["part"] == "lymphocytes"]
        if lymphocytes:
            out += _derived(group, Analyte.LYMPHOCYTES, lymphocytes, measured, report)
    return out


def _derived(
    group: _Group,
    analyte: Analyte,
    parts: list[dict[str, Any]],
    measured: set[tuple[str, object]],
    report: ImportReport,
) -> list[dict[str, Any]]:
    if (analyte.value, group.time) in measured:
        report.note(f"{analyte.value} measured and derived at the same time: the measured kept")
        return []
    if analyte is Analyte.ANC:
        value, how, why = group.anc()
    else:
        value = group.count("lymphocytes")
        how, why = "lymphocyte % x WBC of the same specimen", "no WBC of the same specimen"
    if value is None:
        _drop(parts, why, report)
        return []
    report.note(f"{analyte.value} derived: {how}")
    return [_lab(group.time, analyte, value, how)]
