"""Events as short text, shared by the console and the dashboard: the day as well as it is known
("day 40", "~day 40 (+/- 7)", "before day 40") and what happened, with what the record leaves
open named ("CRS, grade not recorded")."""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.record import (
    Bleeding,
    Chip,
    CrsEpisode,
    Event,
    Finding,
    HemophagocyticSyndrome,
    IcansEpisode,
    MarrowBiopsy,
    Medication,
    Transfusion,
)
from icaht.core.timeline import calendar_day

_DIAGNOSES = {"iec_hs": "IEC-HS", "hlh": "HLH", "mas": "MAS"}
_FINDINGS = {"dat_positive": "DAT", "iec_hs": "IEC-HS"}


def _num(value: float) -> str:
    return f"{value:g}"


def day_text(event: Event) -> str:
    """The start day of a canonical event as known: exact, approximate or "before"."""
    day = calendar_day(day_of(event.start))
    if event.start_known == "before":
        return f"before day {day}"
    if event.start_known == "approximate":
        window = event.start_window_days
        return f"~day {day}" + ("" if window is None else f" (+/- {_num(window)})")
    return f"day {day}"


def _span(event: Event) -> str:
    end = event.__dict__.get("end")
    return "" if end is None else f" (until day {calendar_day(day_of(end))})"


def _marrow(event: MarrowBiopsy) -> str:
    parts: list[str] = [event.cellularity] if event.cellularity else []
    if event.cellularity_pct is not None:
        parts.append(f"cellularity {_num(event.cellularity_pct)}%")
    if event.aplasia:
        parts.append("aplasia")
    for name in ("megakaryopoiesis", "erythropoiesis", "myelopoiesis"):
        level = getattr(event, name)
        if level is not None:
            parts.append(f"{name} {level}")
    if event.blasts_pct is not None:
        parts.append(f"blasts {_num(event.blasts_pct)}%")
    if event.cytogenetics:
        parts.append(f"karyotype {event.cytogenetics}")
    if event.ngs_variants:
        parts.append("NGS " + ", ".join(_variant(v.gene, v.vaf_pct) for v in event.ngs_variants))
    elif event.ngs_done:
        parts.append("NGS: no variant")
    if event.donor_chimerism_pct is not None:
        parts.append(f"donor chimerism {_num(event.donor_chimerism_pct)}%")
    if event.note:
        parts.append(event.note)
    return "Marrow biopsy" + (f": {'; '.join(parts)}" if parts else "")


def _variant(gene: str | None, vaf: float | None) -> str:
    name = gene or "gene not recorded"
    return name if vaf is None else f"{name} {_num(vaf)}%"


def _what(event: Event) -> str:
    if isinstance(event, CrsEpisode | IcansEpisode):
        grade = "grade not recorded" if event.grade is None else f"grade {event.grade}"
        return f"{event.kind.upper()}, {grade}"
    if isinstance(event, HemophagocyticSyndrome):
        return f"{_DIAGNOSES[event.diagnosis]} {event.status}"
    if isinstance(event, Chip):
        return f"CHIP known: {_variant(event.gene, event.vaf_pct)}"
    if isinstance(event, Finding):
        name = _FINDINGS.get(event.finding, event.finding)
        if event.finding == "dat_positive":
            return f"{name} {'positive' if event.present else 'negative'}"
        return name if event.present else f"{name} absent"
    if isinstance(event, MarrowBiopsy):
        return _marrow(event)
    if isinstance(event, Transfusion):
        return f"Transfusion {event.product} x{event.units}"
    if isinstance(event, Medication):
        dose = "" if event.dose is None else f" {_num(event.dose)} {event.dose_unit or ''}"
        return f"{event.drug}{dose}".rstrip()
    if isinstance(event, Bleeding):
        return f"Bleeding grade {event.grade}"
    return event.kind.replace("_", " ").capitalize()


def event_text(event: Event) -> str:
    """One line: "~day 40 (+/- 7): CRS, grade not recorded (until day 45)"."""
    return f"{day_text(event)}: {_what(event)}{_span(event)}"
