"""Laboratory analytes: names, LOINC codes, canonical units, accepted units and plausible ranges.

LOINC codes and unit conversions from ``docs/evidence.md`` section 8 (8.1 codes with
their CIBMTR reporting-IG provenance, 8.2 conversions). Canonical units are those the graders and
scores use: counts in 10^9/L, Hb g/dL, CRP mg/dL (CAR-HEMATOTOX and m-EASIX use mg/dL), ferritin
ng/mL, enzymes U/L, fibrinogen/triglycerides/IgG mg/dL, bilirubin/creatinine mg/dL.

Plausible ranges are a project default (no clinical source fixes them): they exist only to catch
unit confusion (Hb 95 "g/dL") and impossible values, and are deliberately wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Analyte(StrEnum):
    """The analytes icaht reads."""

    ANC = "anc"
    WBC = "wbc"
    LYMPHOCYTES = "lymphocytes"
    HB = "hb"
    PLATELETS = "platelets"
    CRP = "crp"
    FERRITIN = "ferritin"
    LDH = "ldh"
    FIBRINOGEN = "fibrinogen"
    TRIGLYCERIDES = "triglycerides"
    AST = "ast"
    ALT = "alt"
    BILIRUBIN = "bilirubin"
    CREATININE = "creatinine"
    IL6 = "il6"
    IPF = "ipf"
    RETICULOCYTES = "reticulocytes"
    RETICULOCYTES_PCT = "reticulocytes_pct"
    CD4 = "cd4"
    CD4_PCT = "cd4_pct"
    IGG = "igg"


@dataclass(frozen=True, slots=True)
class AnalyteInfo:
    """What icaht knows about one analyte."""

    analyte: Analyte
    display: str
    canonical_unit: str
    units: dict[str, float]  # normalised unit spelling -> factor to the canonical unit
    loinc_primary: str
    loinc_alternatives: tuple[str, ...]
    plausible_max: float  # in the canonical unit; project default (see module docstring)


# Unit spellings are normalised by icaht.core.units.normalise_unit_spelling before lookup:
# lower case, no spaces, "µ"/"μ" -> "u", "^" and "*" kept as written in these keys' forms below.
# 1 /uL = 1 /mm3 = 10^6/L; 10^9/L = 10^3/uL = K/uL = G/L = /nL (docs/evidence.md 8.2).
_COUNT_UNITS: dict[str, float] = {
    "10^9/l": 1.0,
    "10*9/l": 1.0,
    "10e9/l": 1.0,
    "g/l": 1.0,
    "/nl": 1.0,
    "10^3/ul": 1.0,
    "10*3/ul": 1.0,
    "10e3/ul": 1.0,
    "k/ul": 1.0,
    "thou/ul": 1.0,
    "10^3/mm3": 1.0,
    # as US lab systems print them (issue 17; reviewed: each is 10^3 per uL = 10^9/L)
    "thousand/ul": 1.0,
    "10(3)/ul": 1.0,
    "10*3/mm3": 1.0,
    "k/mm3": 1.0,
    "/ul": 1e-3,
    "cells/ul": 1e-3,
    "{cells}/ul": 1e-3,
    "/mm3": 1e-3,
    "cells/mm3": 1e-3,
    "/mm^3": 1e-3,
}
_PERCENT: dict[str, float] = {"%": 1.0}
_ENZYME: dict[str, float] = {
    "u/l": 1.0,
    "units/l": 1.0,
    "iu/l": 1.0,
    "[iu]/l": 1.0,
    "ukat/l": 60.0,
}

ANALYTES: dict[Analyte, AnalyteInfo] = {
    info.analyte: info
    for info in (
        AnalyteInfo(
            Analyte.ANC,
            "ANC",
            "10^9/L",
            _COUNT_UNITS,
            "751-8",
            ("753-4", "26499-4"),
            500.0,
        ),
        AnalyteInfo(
            Analyte.WBC, "WBC", "10^9/L", _COUNT_UNITS, "6690-2", ("26464-8", "804-5"), 1000.0
        ),
        AnalyteInfo(
            Analyte.LYMPHOCYTES,
            "Lymphocytes",
            "10^9/L",
            _COUNT_UNITS,
            "731-0",
            ("26474-7", "732-8"),
            1000.0,
        ),
        AnalyteInfo(
            Analyte.HB,
            "Hemoglobin",
            "g/dL",
            # mmol/L (monomer) = g/dL x 0.6206 (docs/evidence.md 8.2; CTCAE 10.0 g/dL = 6.2)
            {"g/dl": 1.0, "gm/dl": 1.0, "g/l": 0.1, "mmol/l": 1.0 / 0.6206},
            "718-7",
            ("59260-0", "20509-6"),
            25.0,
        ),
        AnalyteInfo(
            Analyte.PLATELETS,
            "Platelets",
            "10^9/L",
            _COUNT_UNITS,
            "777-3",
            ("26515-7", "778-1", "49497-1"),
            5000.0,
        ),
        AnalyteInfo(
            Analyte.CRP,
            "CRP",
            "mg/dL",
            {"mg/dl": 1.0, "mg/l": 0.1},  # mg/L = mg/dL x 10 (8.2)
            "1988-5",
            (),  # 76485-2 is molar (not converted); 30522-7 hs-CRP is not for scores (8.1)
            100.0,
        ),
        AnalyteInfo(
            Analyte.FERRITIN,
            "Ferritin",
            "ng/mL",
            {"ng/ml": 1.0, "ug/l": 1.0, "pmol/l": 1.0 / 2.247},  # pmol/L = ng/mL x 2.247 (8.2)
            "2276-4",
            ("20567-4", "24373-3"),
            1_000_000.0,
        ),
        AnalyteInfo(
            Analyte.LDH, "LDH", "U/L", _ENZYME, "2532-0", ("14804-9", "14805-6"), 100_000.0
        ),
        AnalyteInfo(
            Analyte.FIBRINOGEN,
            "Fibrinogen",
            "mg/dL",
            {"mg/dl": 1.0, "g/l": 100.0},  # mg/dL = g/L x 100 (8.2)
            "3255-7",
            (),
            2000.0,
        ),
        AnalyteInfo(
            Analyte.TRIGLYCERIDES,
            "Triglycerides",
            "mg/dL",
            {"mg/dl": 1.0, "mmol/l": 88.57},  # mg/dL = mmol/L x 88.57 (8.2)
            "2571-8",
            ("3043-7", "14927-8"),
            20_000.0,
        ),
        AnalyteInfo(Analyte.AST, "AST", "U/L", _ENZYME, "1920-8", ("30239-8",), 50_000.0),
        AnalyteInfo(Analyte.ALT, "ALT", "U/L", _ENZYME, "1742-6", ("1743-4", "1744-2"), 50_000.0),
        AnalyteInfo(
            Analyte.BILIRUBIN,
            "Total bilirubin",
            "mg/dL",
            {"mg/dl": 1.0, "umol/l": 1.0 / 17.1},  # umol/L = mg/dL x 17.1 (8.2)
            "1975-2",
            ("14631-6",),
            100.0,
        ),
        AnalyteInfo(
            Analyte.CREATININE,
            "Creatinine",
            "mg/dL",
            {"mg/dl": 1.0, "umol/l": 1.0 / 88.4},  # umol/L = mg/dL x 88.4 (8.2)
            "2160-0",
            ("14682-9",),
            40.0,
        ),
        AnalyteInfo(Analyte.IL6, "IL-6", "pg/mL", {"pg/ml": 1.0, "ng/l": 1.0}, "26881-3", (), 1e7),
        # IPF LOINC 71693-6 is [UNCONFIRMED] in docs/evidence.md 8.1: accepted by name only.
        AnalyteInfo(Analyte.IPF, "IPF", "%", _PERCENT, "", (), 100.0),
        AnalyteInfo(
            Analyte.RETICULOCYTES,
            "Reticulocytes",
            "10^9/L",
            _COUNT_UNITS,
            "60474-4",
            ("14196-0",),
            2000.0,
        ),
        AnalyteInfo(
            Analyte.RETICULOCYTES_PCT,
            "Reticulocytes %",
            "%",
            _PERCENT,
            "17849-1",
            ("4679-7",),
            100.0,
        ),
        AnalyteInfo(Analyte.CD4, "CD4", "10^9/L", _COUNT_UNITS, "24467-3", (), 10.0),
        AnalyteInfo(Analyte.CD4_PCT, "CD4 %", "%", _PERCENT, "8123-2", (), 100.0),
        AnalyteInfo(
            Analyte.IGG, "IgG", "mg/dL", {"mg/dl": 1.0, "g/l": 100.0}, "2465-3", (), 10_000.0
        ),
    )
}

#: LOINC code -> analyte, over primary and alternative codes.
LOINC_TO_ANALYTE: dict[str, Analyte] = {
    code: info.analyte
    for info in ANALYTES.values()
    for code in (info.loinc_primary, *info.loinc_alternatives)
    if code
}

#: LOINC codes of the parts of a neutrophil differential, which are not the ANC on their own
#: (docs/evidence.md 8.1: the ANC is segmented + band neutrophils of one specimen). A record row
#: with one of them is refused naming it; the FHIR import combines them per specimen
#: (``icaht.io.fhir.differential``).
NOT_THE_ANC: dict[str, str] = {
    "30451-9": "segmented neutrophils",
    "769-8": "segmented neutrophils",
    "26507-4": "band neutrophils",
    "764-9": "band neutrophils",
}

#: Common names -> analyte (lower case); the enum values are accepted too.
ANALYTE_ALIASES: dict[str, Analyte] = {
    "neutrophils": Analyte.ANC,
    "absolute neutrophil count": Analyte.ANC,
    "leukocytes": Analyte.WBC,
    "white blood cells": Analyte.WBC,
    "alc": Analyte.LYMPHOCYTES,
    "hemoglobin": Analyte.HB,
    "haemoglobin": Analyte.HB,
    "hgb": Analyte.HB,
    "plt": Analyte.PLATELETS,
    "platelet": Analyte.PLATELETS,
    "c-reactive protein": Analyte.CRP,
    "ldh": Analyte.LDH,
    "tg": Analyte.TRIGLYCERIDES,
    "il-6": Analyte.IL6,
    "immature platelet fraction": Analyte.IPF,
    "retic": Analyte.RETICULOCYTES,
    "cd4 count": Analyte.CD4,
}
