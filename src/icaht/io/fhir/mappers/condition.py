"""The Condition mapper: findings, IEC-HS/HLH/MAS, CHIP, CRS, ICANS, bleeding, infections and
fever, with their onset, abatement, severity and verification status."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.condition import Condition

from icaht.io.fhir import codes
from icaht.io.fhir.import_report import ImportReport
from icaht.io.fhir.mappers.collected import Collected, FHIRMoment, Skip
from icaht.io.fhir.mappers.datatypes import (
    concept_grade,
    ext_value,
    extension,
    moment,
    optional_moment,
    triples,
)


def _onset(condition: Condition) -> tuple[FHIRMoment, FHIRMoment | None]:
    if condition.onsetPeriod is not None:
        start = moment(condition.onsetPeriod.start, "onset")
    else:
        start = moment(condition.onsetDateTime, "onset")
    end: FHIRMoment | None = None
    if condition.abatementPeriod is not None:
        end = optional_moment(condition.abatementPeriod.end, "abatement")
    elif condition.abatementDateTime is not None:
        end = moment(condition.abatementDateTime, "abatement")
    return start, end


def _only_recorded(condition: Condition) -> bool:
    """No onset, but a recordedDate (an encounter diagnosis)."""
    return (
        condition.onsetPeriod is None
        and condition.onsetDateTime is None
        and condition.recordedDate is not None
    )


def _onset_or_recorded(condition: Condition) -> tuple[FHIRMoment, FHIRMoment | None]:
    """Onset and abatement; a Condition without an onset starts when it was recorded."""
    if _only_recorded(condition):
        return moment(condition.recordedDate, "recordedDate"), None
    return _onset(condition)


def _severity(condition: Condition) -> str | None:
    for system, code, _ in triples(condition.severity):
        if system == codes.SNOMED and code in codes.SEVERITY_CODES:
            return codes.SEVERITY_CODES[code]
        if system == codes.ICAHT_CODES and code == "life-threatening":
            return "life-threatening"
    text = (condition.severity.text or "").strip().lower() if condition.severity else ""
    return text if text in ("mild", "moderate", "severe", "life-threatening") else None


def _verified_absent(condition: Condition) -> bool:
    return any(
        system == codes.CONDITION_VERIFICATION and code == "refuted"
        for system, code, _ in triples(condition.verificationStatus)
    )


def _hemophagocytic_status(condition: Condition, absent: bool) -> str:
    """The status of an IEC-HS/HLH/MAS Condition: the icaht extension, else refuted = excluded,
    provisional/differential/unconfirmed = suspected, clinical status resolved/inactive/remission
    = resolved, else confirmed."""
    ext = extension(condition.extension, codes.EXT_IEC_HS_STATUS)
    if ext is not None:
        return str(ext_value(ext))
    if absent:
        return "excluded"
    verification = {c for s, c, _ in triples(condition.verificationStatus)}
    if verification & {"provisional", "differential", "unconfirmed"}:
        return "suspected"
    clinical = {c for s, c, _ in triples(condition.clinicalStatus)}
    return "resolved" if clinical & {"resolved", "inactive", "remission"} else "confirmed"


def map_condition(condition: Condition, acc: Collected, report: ImportReport) -> None:
    """Map a Condition into ``acc``."""
    if any(c == "entered-in-error" for _, c, _ in triples(condition.verificationStatus)):
        raise Skip("verificationStatus entered-in-error")
    target = codes.match(
        "conditions", triples(condition.code), condition.code.text if condition.code else None
    )
    if target is None:
        raise Skip("code not in the condition mapping table")
    absent = _verified_absent(condition)
    start, end = _onset_or_recorded(condition)
    kind, _, detail = target.partition(":")
    if kind == "finding":
        acc.events.append(
            {"kind": "finding", "start": start, "finding": detail, "present": not absent}
        )
        return
    if kind == "iec_hs":
        acc.events.append(
            {
                "kind": "iec_hs",
                "start": start,
                "end": end,
                "diagnosis": detail,
                "status": _hemophagocytic_status(condition, absent),
            }
        )
        return
    if absent:
        raise Skip("verificationStatus refuted")
    if kind == "chip":
        gene = extension(condition.extension, codes.EXT_CHIP_GENE)
        vaf = extension(condition.extension, codes.EXT_CHIP_VAF)
        known = optional_moment(condition.recordedDate, "recordedDate")
        acc.events.append(
            {
                "kind": "chip",
                "start": known or start,
                "gene": ext_value(gene) if gene is not None else None,
                "vaf_pct": ext_value(vaf) if vaf is not None else None,
            }
        )
        return
    if kind in ("crs", "icans", "bleeding"):
        grade = int(detail) if detail else None
        if grade is None:
            for stage in condition.stage or []:
                grade = concept_grade(stage.summary)
                if grade is not None:
                    break
        if grade is None and kind == "bleeding":
            raise Skip("bleeding without a grade 1-5 (stage.summary)")
        if grade is not None and not 1 <= grade <= 5:
            raise Skip(f"{kind} grade {grade} is not 1-5")
        event: dict[str, Any] = {"kind": kind, "start": start, "grade": grade}
        if kind != "bleeding":
            event["end"] = end
        if kind != "bleeding" and _only_recorded(condition):
            # an encounter diagnosis: the day it was recorded stands for the onset, flagged
            report.note(f"{kind.upper()} without an onset: recordedDate used, start approximate")
            event["start_known"] = "approximate"
        acc.events.append(event)
    elif kind == "infection":
        severity = _severity(condition) or "unknown"
        if severity == "unknown":
            report.note("infection without a severity: severity unknown")
        organism = extension(condition.extension, codes.EXT_ORGANISM)
        site = condition.bodySite[0].text if condition.bodySite else None
        acc.events.append(
            {
                "kind": "infection",
                "start": start,
                "end": end,
                "severity": severity,
                "site": site,
                "organism": ext_value(organism) if organism is not None else None,
            }
        )
    elif kind == "fever":
        acc.events.append({"kind": "fever", "start": start})
    else:  # pragma: no cover - the table test keeps targets known
        raise Skip(f"unknown target {target}")
