"""Recommendations as CDS Hooks 2.0 cards (plain dicts, ready for a ``{"cards": [...]}`` response).

* ``summary``: the rule title, at most 140 characters (CDS Hooks limit).
* ``indicator``: ``critical`` for an alert-strength recommendation; ``warning`` for a source
  recommendation or a rule of the ``alert`` category; ``info`` for "consider".
* ``detail``: GitHub-flavoured markdown with the action, the facts that triggered it (values and
  days), caveats, citations (DOI links) and the profile settings used.
* ``source``: the first citation (label, DOI URL) with the rule id as ``topic``.
* ``suggestions``: a draft order where a concrete one fits (PJP and antiviral prophylaxis,
  filgrastim, platelet or RBC transfusion, marrow biopsy); the clinician accepts or not. Drugs
  are coded in every system of the medication table (RxNorm ingredient and ATC for filgrastim;
  ATC for TMP-SMX and aciclovir) plus, where the order names a dose, the reviewed RxNorm
  clinical drug of that strength (``rxnorm_products.csv``: aciclovir 800 mg oral tablet). The
  TMP-SMX draft names no dose (local protocol), so no clinical drug: it stays ATC-coded.
* ``uuid``: stable for (patient, as-of day, profile, rule), so feedback can refer to it.

:func:`worklist_cards` follows the tiers (docs/worklist.md): one summary card (phase, grades,
today's counts, the act-now items, a link to the dashboard page: ``smart`` when SMART is
configured, ``absolute`` otherwise) and one card per new or changed act-now recommendation;
standing items never become cards; a patient without a CAR-T infusion gets no card. Citations
read as authors, journal and year, with figures or tables but without line locators.

Decision support only, not a medical device: wording stays "consider".
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from typing import Any

from icaht import NOT_A_MEDICAL_DEVICE
from icaht.core.assessment import Assessment
from icaht.core.guidance import Recommendation
from icaht.io.fhir import codes
from icaht.io.fhir.export_types import fhir_id
from icaht.io.fhir.writer import validated
from icaht.knowledge.regimens import (
    ACICLOVIR_MG_TWICE_DAILY,
    FILGRASTIM_UG_PER_KG_DAY,
)

SUMMARY_MAX = 140  # CDS Hooks 2.0: "<140 characters"
_NAMESPACE = uuid.UUID("4a1f3c52-7d3e-5a8b-b2c1-9e7f0a6d2c14")  # icaht card namespace
#: The topic code of the summary card (icaht local code).
SUMMARY_CODE = "icaht-summary"
#: Override reasons offered with every card (icaht local codes; recorded by the feedback
#: endpoint).
OVERRIDE_REASONS: tuple[tuple[str, str], ...] = (
    ("already-addressed", "Already addressed"),
    ("not-applicable", "Not applicable to this patient"),
    ("data-incorrect", "The triggering data are incorrect"),
    ("clinical-judgement", "Clinical judgement"),
)


def _summary(rec: Recommendation) -> str:
    prefix = {"alert": "Alert", "source recommends": "Source recommends", "consider": "Consider"}
    text = f"{prefix[rec.strength]}: {rec.title}"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def indicator(rec: Recommendation) -> str:
    """info, warning or critical (see the module docstring)."""
    if rec.strength == "alert":
        return "critical"
    if rec.strength == "source recommends" or rec.category == "alert":
        return "warning"
    return "info"


def _doi_url(doi: str | None) -> str | None:
    return f"https://doi.org/{doi}" if doi else None


def _md(text: str) -> str:
    """Escape the markdown characters that would change the meaning of plain text."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


_LINE_LOCATOR = re.compile(r"^L\d+(?:-L?\d+)?$")


def readable_where(where: str) -> str:
    """A citation locator without line numbers of the source text ("L37; Fig. 1" -> "Fig. 1")."""
    parts = [p.strip() for p in re.split(r"[;,]", where)]
    return "; ".join(p for p in parts if p and not _LINE_LOCATOR.match(p))


def detail(rec: Recommendation, assessment: Assessment) -> str:
    """The card's markdown detail."""
    lines = [f"**{_md(rec.action)}**", "", "**Triggering facts**", ""]
    for fact in rec.facts:
        day = f" (day {fact.day})" if fact.day is not None else ""
        lines.append(f"- {_md(fact.label)}: {_md(fact.value)}{day}")
    if rec.caveats:
        lines += ["", "**Caveats**", ""]
        lines += [f"- {_md(c)}" for c in rec.caveats]
    lines += ["", "**Evidence**", ""]
    for cite in rec.citations:
        url = _doi_url(cite.doi)
        label = f"[{_md(cite.label)}]({url})" if url else _md(cite.label)
        where = readable_where(cite.where)
        lines.append(f"- {label}, {_md(where)}" if where else f"- {label}")
    if rec.settings:
        lines += ["", f"**Settings** (profile {_md(assessment.profile_name)})", ""]
        for setting in rec.settings:
            flag = " (project default)" if setting.project_default else ""
            lines.append(f"- {_md(setting.name)} = {_md(setting.value)}{flag}")
    lines += ["", f"_Day {assessment.as_of_day} after infusion. {NOT_A_MEDICAL_DEVICE}_"]
    return "\n".join(lines)


def _clinical_drug(rxnorm_name: str | None) -> list[dict[str, str]]:
    """The RxNorm coding of a reviewed clinical drug (``rxnorm_products.csv``) by its RxNorm
    name, e.g. "acyclovir 800 MG Oral Tablet"; none when the table does not hold it."""
    rows = [r for r in codes.rxnorm_rows() if rxnorm_name and r.rxnorm_name == rxnorm_name]
    return [{"system": codes.RXNORM, "code": r.rxcui, "display": r.rxnorm_name} for r in rows[:1]]


def _medication_request(
    subject: dict[str, str],
    rec: Recommendation,
    drug: str,
    dose: dict[str, Any] | None,
    frequency: str | None,
    clinical_drug: str | None = None,
) -> dict[str, Any]:
    dosage: dict[str, Any] = {"text": rec.action}
    if frequency:
        dosage["timing"] = {"code": {"text": frequency}}
    if dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    rows = codes.codes_for("medications", drug)
    coding = [{"system": r.system, "code": r.code, "display": r.display} for r in rows]
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "proposal",
        "medicationCodeableConcept": {
            "coding": [*_clinical_drug(clinical_drug), *coding],
            "text": drug,
        },
        "subject": subject,
        "dosageInstruction": [dosage],
        "note": [{"text": NOT_A_MEDICAL_DEVICE}],
    }


def _service_request(
    subject: dict[str, str], rec: Recommendation, target: str, text: str
) -> dict[str, Any]:
    rows = codes.codes_for("procedures", target)
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": {
            "coding": [{"system": r.system, "code": r.code, "display": r.display} for r in rows],
            "text": text,
        },
        "subject": subject,
        "note": [{"text": f"{rec.action} {NOT_A_MEDICAL_DEVICE}"}],
    }


_Order = Callable[[dict[str, str], Recommendation], tuple[str, dict[str, Any]] | None]
_ADULT_ACICLOVIR = f"aciclovir {ACICLOVIR_MG_TWICE_DAILY:g} mg twice daily"


def _pjp(subject: dict[str, str], rec: Recommendation) -> tuple[str, dict[str, Any]] | None:
    # JAIN prefers TMP-SMX for PJP prophylaxis (docs/evidence.md 7); dose per local protocol.
    # Only when the card itself chose TMP-SMX: never with persistent cytopenia or without counts
    # (issue 15 finding 12).
    if "with TMP-SMX" not in rec.action:
        return None
    return "Draft: TMP-SMX for PJP prophylaxis", _medication_request(
        subject, rec, "sulfamethoxazole-trimethoprim", None, None
    )


def _antiviral(subject: dict[str, str], rec: Recommendation) -> tuple[str, dict[str, Any]] | None:
    # The adult dose only when the card shows it: children dose by weight (issue 15 finding 1).
    if _ADULT_ACICLOVIR not in rec.action:
        return None
    dose = {"value": ACICLOVIR_MG_TWICE_DAILY, "unit": "mg", "system": codes.UCUM, "code": "mg"}
    tablet = f"acyclovir {ACICLOVIR_MG_TWICE_DAILY:g} MG Oral Tablet"  # RxNorm's name
    return (
        f"Draft: {_ADULT_ACICLOVIR}",
        _medication_request(subject, rec, "aciclovir", dose, "twice daily", tablet),
    )


def _filgrastim(subject: dict[str, str], rec: Recommendation) -> tuple[str, dict[str, Any]]:
    dose = {
        "value": FILGRASTIM_UG_PER_KG_DAY,
        "unit": "ug/kg",
        "system": codes.UCUM,
        "code": "ug/kg",
    }
    return (
        f"Draft: filgrastim {FILGRASTIM_UG_PER_KG_DAY:g} ug/kg once daily",
        _medication_request(subject, rec, "filgrastim", dose, "daily"),
    )


def _marrow(subject: dict[str, str], rec: Recommendation) -> tuple[str, dict[str, Any]]:
    return "Draft: bone marrow biopsy", _service_request(
        subject, rec, "marrow_biopsy", "Bone marrow aspirate and biopsy"
    )


def _platelets(subject: dict[str, str], rec: Recommendation) -> tuple[str, dict[str, Any]]:
    return "Draft: platelet transfusion", _service_request(
        subject, rec, "transfusion:platelets", "Platelet transfusion"
    )


def _rbc(subject: dict[str, str], rec: Recommendation) -> tuple[str, dict[str, Any]]:
    return "Draft: red blood cell transfusion", _service_request(
        subject, rec, "transfusion:rbc", "Red blood cell transfusion"
    )


#: Rules whose recommendation fits one concrete draft order.
ORDERS: dict[str, _Order] = {
    "prophylaxis.pjp-start": _pjp,
    "prophylaxis.antiviral-start": _antiviral,
    "growth-factor.prophylactic-gcsf": _filgrastim,
    "growth-factor.consider-gcsf": _filgrastim,
    "growth-factor.biphasic-drop": _filgrastim,
    "workup.marrow-biopsy": _marrow,
    "transfusion.platelet-trigger": _platelets,
    "transfusion.rbc-trigger": _rbc,
}


def card(
    rec: Recommendation, assessment: Assessment, patient_reference: str | None = None
) -> dict[str, Any]:
    """One CDS Hooks card for one recommendation."""
    key = f"{assessment.patient_id}|{assessment.as_of_day}|{assessment.profile_name}|{rec.rule_id}"
    first = rec.citations[0] if rec.citations else None
    source: dict[str, Any] = {
        "label": first.label if first is not None else "icaht",
        "topic": {"system": codes.ICAHT_RULES, "code": rec.rule_id, "display": rec.title},
    }
    url = _doi_url(first.doi) if first is not None else None
    if url:
        source["url"] = url
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_NAMESPACE, key)),
        "summary": _summary(rec),
        "indicator": indicator(rec),
        "detail": detail(rec, assessment),
        "source": source,
        "overrideReasons": [
            {"system": codes.ICAHT_CODES, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS
        ],
    }
    order = ORDERS.get(rec.rule_id)
    subject = {"reference": patient_reference or f"Patient/{fhir_id(assessment.patient_id)}"}
    suggested = None if order is None else order(subject, rec)
    if suggested is not None:
        label, resource = suggested
        result["suggestions"] = [
            {
                "label": label,
                "uuid": str(uuid.uuid5(_NAMESPACE, key + "|suggestion")),
                "actions": [
                    {"type": "create", "description": label, "resource": validated(resource)}
                ],
            }
        ]
        result["selectionBehavior"] = "at-most-one"
    return result


def recommendation_cards(
    assessment: Assessment, patient_reference: str | None = None
) -> list[dict[str, Any]]:
    """CDS Hooks 2.0 cards for the assessment's recommendations, in their order."""
    return [card(rec, assessment, patient_reference) for rec in assessment.recommendations]


def _grade_text(grade: int | None) -> str:
    return "n/a" if grade is None else str(grade)


def _counts(assessment: Assessment) -> list[str]:
    """Today's counts with their CTCAE grade, e.g. "ANC 0.3 10^9/L (G4, day 12)"."""
    out = []
    for status in assessment.lineages[:3]:  # ANC, platelets, Hb
        if status.latest is None:
            out.append(f"{status.lineage}: no value")
            continue
        grade = "G0-1" if status.latest_ctcae is None else f"G{status.latest_ctcae}"
        day = math.floor(status.latest.day)
        out.append(f"{status.lineage} {status.latest.value:g} {status.unit} ({grade}, day {day})")
    return out


def summary_card(
    assessment: Assessment, act_now: list[Recommendation], link: tuple[str, str] | None
) -> dict[str, Any]:
    """The one card that sums the patient up: phase, ICAHT grades, today's counts and the
    act-now items; ``link`` is (url, "smart" or "absolute")."""
    a = assessment
    window = a.late_icaht if a.icaht_window == "late" else a.early_icaht
    summary = (
        f"icaht day {a.as_of_day}, {a.jain_phase} phase: {window.window} ICAHT "
        f"{_grade_text(window.grade)}; {len(act_now)} to act on"
    )
    lines = [
        f"**Day {a.as_of_day} after infusion, {_md(a.jain_phase)} phase** (ICAHT window "
        f"{_md(a.icaht_window)})",
        "",
        f"- ICAHT early {_grade_text(a.early_icaht.grade)}, late {_grade_text(a.late_icaht.grade)}"
        f"; T-ICAHT early {_grade_text(a.early_ticaht.grade)}, late "
        f"{_grade_text(a.late_ticaht.grade)}",
        *(f"- {_md(text)}" for text in _counts(a)),
    ]
    if act_now:
        lines += ["", "**Act now**", ""]
        lines += [f"- {_md(r.title)} (since day {r.episode.began_day})" for r in act_now]
    lines += ["", f"_{NOT_A_MEDICAL_DEVICE}_"]
    key = f"{a.patient_id}|{a.as_of_day}|{a.profile_name}|summary"
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_NAMESPACE, key)),
        "summary": summary[:SUMMARY_MAX],
        "indicator": "critical" if any(r.strength == "alert" for r in act_now) else "info",
        "detail": "\n".join(lines),
        "source": {
            "label": "icaht",
            "topic": {"system": codes.ICAHT_CODES, "code": SUMMARY_CODE, "display": "Summary"},
        },
    }
    if link is not None:
        url, kind = link
        result["links"] = [{"label": "Open in icaht", "url": url, "type": kind}]
    return result


def summary_with_caveats(summary: dict[str, Any], caveats: list[str]) -> dict[str, Any]:
    """A copy of the summary card saying what the patient's data lack (``service.prefetch``): a
    "Data incomplete" section before the disclaimer, the summary line saying so, and at least a
    warning indicator."""
    head, _, disclaimer = summary["detail"].rpartition("\n")
    section = [
        "**Data incomplete**: the grades and recommendations may miss what could not be read; "
        "review the chart before acting on them.",
        "",
        *(f"- {_md(c)}" for c in caveats),
        "",
    ]
    line = summary["summary"]
    tail = "; data incomplete"
    return {
        **summary,
        "summary": line[: SUMMARY_MAX - len(tail)] + tail,
        "indicator": "warning" if summary["indicator"] == "info" else summary["indicator"],
        "detail": "\n".join([head, *section, disclaimer]),
    }


def worklist_cards(
    assessment: Assessment,
    patient_reference: str | None = None,
    *,
    infused: bool = True,
    link: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The cards of the tiers (module docstring): none without an infusion; else the summary
    card, then one card per new or changed act-now recommendation."""
    if not infused:
        return []
    act_now = [r for r in assessment.recommendations if r.tier == "act now"]
    fresh = [r for r in act_now if r.novelty != "unchanged"]
    return [
        summary_card(assessment, act_now, link),
        *(card(rec, assessment, patient_reference) for rec in fresh),
    ]
