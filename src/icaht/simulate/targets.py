"""Calibration targets and generator settings of the synthetic cohort, each with its source.

Source keys are those of ``docs/evidence.md`` (section 0 and the sections named):
``HT`` (CAR-HEMATOTOX, Rejeski, Blood 2021; abstract and Table 3, reference 1.7), ``HT-NL`` (Dutch
LBCL validation, Blood Adv 2025, reference 5.1), ``HT-MM`` (CAR-HEMATOTOX in myeloma, J Hematol
Oncol 2023, reference 5.1), ``ALL-HT`` (ALL-Hematotox abstract, reference 5.1), ``BK`` (Beyar-Katz,
Ann Hematol 2022, reference 1.2/1.7), ``GETH`` (GETH-TC eltrombopag registry, reference 1.7),
``JAIN`` (How I treat, Blood 2023, reference 1.1), ``ICAHT`` (EHA/EBMT consensus, reference 3.2).
``PROJECT`` marks a project default: no source in the reference fixes the number, so it is a
named constant here and listed as such in ``docs/simulate.md``.

Decision support only, not a medical device: these figures make realistic test data, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Disease = Literal["LBCL", "MCL", "B-ALL", "MM"]
Phenotype = Literal["quick", "intermittent", "aplastic"]
Risk = Literal["low", "high"]

DISEASES: Final[tuple[Disease, ...]] = ("LBCL", "MCL", "B-ALL", "MM")
PHENOTYPES: Final[tuple[Phenotype, ...]] = ("quick", "intermittent", "aplastic")

# ---------------------------------------------------------------------------------------------
# Disease and product mix (PROJECT: a registry-like mix of the commercial products the brief names)
# ---------------------------------------------------------------------------------------------
DISEASE_MIX: Final[dict[Disease, float]] = {"LBCL": 0.58, "MCL": 0.07, "B-ALL": 0.07, "MM": 0.28}
PRODUCT_MIX: Final[dict[Disease, dict[str, float]]] = {
    "LBCL": {"axi-cel": 0.45, "tisa-cel": 0.25, "liso-cel": 0.30},
    "MCL": {"brexu-cel": 1.0},
    "B-ALL": {"tisa-cel": 0.6, "brexu-cel": 0.4},
    "MM": {"ide-cel": 0.45, "cilta-cel": 0.55},
}
#: product -> (target antigen, costimulatory domain): product labels (not a PROJECT choice).
PRODUCT_CONSTRUCT: Final[dict[str, tuple[str, str]]] = {
    "axi-cel": ("CD19", "CD28"),
    "tisa-cel": ("CD19", "4-1BB"),
    "liso-cel": ("CD19", "4-1BB"),
    "brexu-cel": ("CD19", "CD28"),
    "ide-cel": ("BCMA", "4-1BB"),
    "cilta-cel": ("BCMA", "4-1BB"),
}

# ---------------------------------------------------------------------------------------------
# Age (BK cohort of DLBCL: median 69, range 19-85; other diseases PROJECT)
# (median, lowest, highest, spread below the median, spread above the median) in years
# ---------------------------------------------------------------------------------------------
AGE_YEARS: Final[dict[str, tuple[float, float, float, float, float]]] = {
    "LBCL": (69.0, 19.0, 85.0, 10.0, 7.0),  # BK: median 69 (19-85)
    "MCL": (66.0, 40.0, 84.0, 8.0, 6.0),  # PROJECT
    "MM": (63.0, 35.0, 82.0, 8.0, 7.0),  # PROJECT
    "B-ALL/tisa-cel": (12.0, 1.0, 25.0, 6.0, 6.0),  # PROJECT (label: patients up to 25 years)
    "B-ALL/brexu-cel": (42.0, 18.0, 78.0, 12.0, 14.0),  # PROJECT (adult label)
}
FEMALE_SHARE: Final = 0.38  # PROJECT

# ---------------------------------------------------------------------------------------------
# CAR-HEMATOTOX high-risk share by disease (the published cohorts)
# ---------------------------------------------------------------------------------------------
HT_HIGH_SHARE: Final[dict[Disease, float]] = {
    "LBCL": 0.70,  # HT-NL: n=245 LBCL, 70% CAR-HEMATOTOX high
    "MM": 50 / 113,  # HT-MM: 113 patients, 63 low / 50 high
    "B-ALL": 0.90,  # ALL-HT abstract: CAR-HEMATOTOX put ~90% into the high group
    "MCL": 0.70,  # PROJECT: no MCL figure in the reference; the LBCL share
}
#: Low risk: P(total 0) (the rest scores 1); PROJECT.
HT_LOW_ZERO_SHARE: Final = 0.45
#: Low risk with 1 point: which marker gives it (PROJECT weights).
HT_LOW_ONE_POINT_WEIGHTS: Final[dict[str, float]] = {
    "platelets": 0.25,
    "anc": 0.15,
    "hb": 0.15,
    "crp": 0.20,
    "ferritin": 0.25,
}
#: High risk: per-marker point distributions (PROJECT), redrawn until the total is >= 2.
HT_HIGH_POINTS: Final[dict[str, tuple[float, ...]]] = {
    "platelets": (0.25, 0.45, 0.30),
    "anc": (0.65, 0.35),
    "hb": (0.70, 0.30),
    "crp": (0.55, 0.45),
    "ferritin": (0.20, 0.50, 0.30),
}

# ---------------------------------------------------------------------------------------------
# Neutrophil recovery phenotypes by CAR-HEMATOTOX risk. The proportions are PROJECT defaults (the
# reference has the phenotype names and definitions, HT/JAIN, but no proportions); they are chosen
# so that "severe neutropenia (ANC <= 0.5) >= 14 days" is 48% (high) vs 5% (low) as in HT's
# pooled validation (Table 3), since an aplastic course is exactly such a run.
# ---------------------------------------------------------------------------------------------
PHENOTYPE_MIX: Final[dict[Risk, dict[Phenotype, float]]] = {
    "low": {"quick": 0.65, "intermittent": 0.30, "aplastic": 0.05},
    "high": {"quick": 0.20, "intermittent": 0.33, "aplastic": 0.47},
}
#: Severe-neutropenia run (days ANC < 0.5) of quick/intermittent courses: gamma(shape, scale)
#: clipped to 1-11 days (low), normal(mean, sd) clipped to 3-11 (high). PROJECT, chosen to give
#: HT's median duration of severe neutropenia, 5.5 (low) vs 12 (high) days (Table 3).
SEVERE_DAYS_LOW_GAMMA: Final = (3.2, 2.0)
SEVERE_DAYS_HIGH_NORMAL: Final = (9.5, 1.5)
NON_APLASTIC_MAX_SEVERE_DAYS: Final = 11  # PROJECT: keeps a margin below the 14-day definition
#: Quick/intermittent courses without any severe neutropenia (PROJECT; the ICAHT abstract of 549
#: patients [SEC] has 13% without early ICAHT, HT's low-risk median of 5.5 days bounds it here).
NO_SEVERE_SHARE: Final[dict[Risk, float]] = {"low": 0.15, "high": 0.03}
#: Aplastic courses: severe run of 16 + exponential(mean) days (PROJECT).
APLASTIC_MIN_SEVERE_DAYS: Final = 16
APLASTIC_EXTRA_MEAN_DAYS: Final = 6.0  # PROJECT: few runs reach day 30 (early ICAHT grade 4)
#: Profound neutropenia (ANC < 0.1) in 72% of patients (HT abstract); aplastic courses nearly
#: always reach it (PROJECT 0.95), the others are solved for the cohort-wide 72%.
PROFOUND_SHARE: Final = 0.72
PROFOUND_SHARE_APLASTIC: Final = 0.95
#: Second dip of intermittent courses: start day (JAIN: often week 3 or the 1-month restaging
#: visit), nadir and length are PROJECT.
SECOND_DIP_START_DAYS: Final = (23.0, 40.0)
SECOND_DIP_NADIR_10E9_PER_L: Final = (0.55, 0.9)
SECOND_DIP_DAYS: Final = (6.0, 18.0)

# ---------------------------------------------------------------------------------------------
# TPO-RA (BK): 6 of 93 (6.5%) treated; start day median 43 (21-55); eltrombopag 4, romiplostim 1,
# both 1; eltrombopag 50 mg/day up to 150 mg/day; romiplostim 125 ug weekly x 2; all on daily
# G-CSF and transfusion-dependent before; response 6/6, complete resolution 5/6; days from start
# to resolution Hb 22 (8-124), platelets 27 (6-38), neutrophils 29 (7-61).
# ---------------------------------------------------------------------------------------------
TPO_RA_SHARE: Final = 6 / 93
TPO_RA_START_DAY: Final = (21.0, 43.0, 55.0)  # (min, median, max)
TPO_RA_REGIMEN_MIX: Final[dict[str, float]] = {
    "eltrombopag": 4 / 6,
    "romiplostim": 1 / 6,
    "both": 1 / 6,
}
ELTROMBOPAG_START_MG: Final = 50.0  # BK
ELTROMBOPAG_MAX_MG: Final = 150.0  # BK
ELTROMBOPAG_STEP_MG: Final = 25.0  # label step (docs/evidence.md 7)
ELTROMBOPAG_STEP_DAYS: Final = 14  # label: after >= 2 weeks below 50
ROMIPLOSTIM_FLAT_UG: Final = 125.0  # BK
ROMIPLOSTIM_DOSES: Final = 2  # BK
#: Response probability: PROJECT 0.85, within the published range (GETH 76.3% platelet
#: transfusion independence; BK 6/6).
TPO_RA_RESPONSE_SHARE: Final = 0.85
TPO_RA_COMPLETE_SHARE: Final = 5 / 6  # BK: complete resolution 5/6 (of responders)
#: (min, median, max) days from the first dose to resolution per lineage (BK).
TPO_RA_DAYS_TO_RESOLUTION: Final[dict[str, tuple[float, float, float]]] = {
    "hemoglobin": (8.0, 22.0, 124.0),
    "platelets": (6.0, 27.0, 38.0),
    "neutrophils": (7.0, 29.0, 61.0),
}
#: Days between the crossing of a threshold and the third consecutive value above it when
#: counts are drawn twice weekly (the engine's "met" day; PROJECT).
TPO_RA_THIRD_VALUE_LAG_DAYS: Final = 7.0
TPO_RA_NO_RESPONSE_STOP_WEEKS: Final = 6  # docs/decisions.md: stop after 6 weeks (4-6)

# ---------------------------------------------------------------------------------------------
# CRS / ICANS (PROJECT: approximating the product labels / pivotal trials; the reference has the
# ASTCT grading (LEE) but no incidences). (any grade, grade >= 3, median onset day)
# ---------------------------------------------------------------------------------------------
CRS_RATES: Final[dict[str, tuple[float, float, float]]] = {
    "LBCL/axi-cel": (0.93, 0.12, 2.0),
    "LBCL/tisa-cel": (0.58, 0.12, 3.0),
    "LBCL/liso-cel": (0.46, 0.04, 5.0),
    "MCL/brexu-cel": (0.91, 0.15, 3.0),
    "B-ALL/tisa-cel": (0.77, 0.40, 3.0),
    "B-ALL/brexu-cel": (0.89, 0.24, 5.0),
    "MM/ide-cel": (0.84, 0.05, 1.0),
    "MM/cilta-cel": (0.95, 0.04, 7.0),
}
ICANS_RATES: Final[dict[str, tuple[float, float]]] = {
    "LBCL/axi-cel": (0.60, 0.25),
    "LBCL/tisa-cel": (0.20, 0.10),
    "LBCL/liso-cel": (0.30, 0.10),
    "MCL/brexu-cel": (0.60, 0.30),
    "B-ALL/tisa-cel": (0.40, 0.13),
    "B-ALL/brexu-cel": (0.60, 0.25),
    "MM/ide-cel": (0.18, 0.03),
    "MM/cilta-cel": (0.17, 0.02),
}
LOW_GRADE_1_SHARE: Final = 0.6  # PROJECT: grade 1 among grade 1-2
HIGH_GRADE_3_SHARE: Final = 0.75  # PROJECT: grade 3 among grade 3-4

# ---------------------------------------------------------------------------------------------
# Outcomes and infections
# ---------------------------------------------------------------------------------------------
#: 1-year non-relapse mortality and severe infection by CAR-HEMATOTOX risk (HT-MM: NRM 13% vs 2%,
#: severe infection 40% vs 5%); applied to every disease (PROJECT extension).
NRM_1Y: Final[dict[Risk, float]] = {"high": 0.13, "low": 0.02}
SEVERE_INFECTION: Final[dict[Risk, float]] = {"high": 0.40, "low": 0.05}
#: Progression or relapse by day 365 (PROJECT); timing day 30 + exponential(mean) days.
PROGRESSION_1Y: Final[dict[Disease, float]] = {"LBCL": 0.50, "MCL": 0.30, "B-ALL": 0.40, "MM": 0.35}
PROGRESSION_MEAN_DAYS_AFTER_30: Final = 90.0
DEATH_AFTER_PROGRESSION: Final = 0.45  # PROJECT: within follow-up
NEXT_THERAPY_AFTER_PROGRESSION: Final = 0.7  # PROJECT
LOST_TO_FOLLOW_UP: Final = 0.08  # PROJECT
FOLLOW_UP_DAYS: Final = 365  # the brief: labs to one year
#: Day-30 response among patients without progression (PROJECT): cr, pr, sd.
DAY30_RESPONSE: Final = (0.55, 0.30, 0.15)

# ---------------------------------------------------------------------------------------------
# Supportive care
# ---------------------------------------------------------------------------------------------
PLATELET_TRIGGER_10E9_PER_L: Final = 10.0  # docs/decisions.md (JAIN Case 1 goals)
HB_TRIGGER_G_DL: Final = 7.0  # docs/decisions.md (JAIN Case 1 goals)
TRANSFUSE_BELOW_TRIGGER: Final = 0.9  # PROJECT: share of below-trigger values transfused
RBC_TWO_UNITS_SHARE: Final = 0.3  # PROJECT (ICAHT: consider one unit at a time)
PLATELET_INCREMENT_10E9_PER_L: Final = 25.0  # PROJECT: increment per unit, fading over days
HB_INCREMENT_G_DL: Final = 1.0  # PROJECT: per RBC unit
GCSF_START_DAY: Final = 7  # docs/decisions.md: ANC <= 0.5 on or after day 7
GCSF_WHEN_ELIGIBLE: Final = 0.7  # PROJECT: share of eligible patients given G-CSF
GCSF_SECOND_DIP_BELOW_10E9_PER_L: Final = 0.75  # JAIN: biphasic drop below 0.75
GCSF_SECOND_DIP_UNTIL_10E9_PER_L: Final = 1.5  # JAIN: daily G-CSF until ANC > 1.5
GCSF_SECOND_DIP_SHARE: Final = 0.6  # PROJECT
FILGRASTIM_UG_KG: Final = 5.0  # ICAHT / JAIN: 5 ug/kg/day

# ---------------------------------------------------------------------------------------------
# Lab schedule (PROJECT): daily while inpatient, about three times a week to day 30, weekly to day
# 90, monthly to one year; twice weekly while transfusion-dependent; missed draws and gaps.
# ---------------------------------------------------------------------------------------------
INPATIENT_DAYS: Final = (7, 14)
MISSED_DRAW: Final[dict[str, float]] = {
    "inpatient": 0.04,
    "to_day_30": 0.10,
    "weekly": 0.15,
    "monthly": 0.15,
}
LONG_GAP_SHARE: Final = 0.2
LONG_GAP_DAYS: Final = (10, 30)


@dataclass(frozen=True, slots=True)
class Target:
    """One calibration target a generated cohort must meet, checked by tests/simulate."""

    name: str
    value: float
    tolerance: float
    source: str
    measure: str


def expected_share(table: dict[Risk, dict[Phenotype, float]], phenotype: Phenotype) -> float:
    """The cohort-wide expected share of a phenotype (disease mix x HT risk x phenotype mix)."""
    total = 0.0
    for disease, p in DISEASE_MIX.items():
        high = HT_HIGH_SHARE[disease]
        total += p * (high * table["high"][phenotype] + (1 - high) * table["low"][phenotype])
    return total


#: Aplastic share of the whole cohort (derived from the mixes above).
APLASTIC_SHARE: Final = expected_share(PHENOTYPE_MIX, "aplastic")


def _no_severe_share() -> float:
    total = 0.0
    for disease, p in DISEASE_MIX.items():
        high = HT_HIGH_SHARE[disease]
        for risk, weight in (("high", high), ("low", 1 - high)):
            mix = PHENOTYPE_MIX[risk]  # type: ignore[index]
            total += p * weight * (1 - mix["aplastic"]) * NO_SEVERE_SHARE[risk]  # type: ignore[index]
    return total


#: Share of the cohort without severe neutropenia (derived).
NO_SEVERE_COHORT_SHARE: Final = _no_severe_share()
#: Profound-neutropenia probability of non-aplastic courses with a severe run, solved for
#: PROFOUND_SHARE overall.
PROFOUND_SHARE_OTHER: Final = (PROFOUND_SHARE - APLASTIC_SHARE * PROFOUND_SHARE_APLASTIC) / (
    1 - APLASTIC_SHARE - NO_SEVERE_COHORT_SHARE
)
#: TPO-RA is given to aplastic courses (BK: "bone marrow aplasia"), solved for 6.5% overall.
TPO_RA_GIVEN_APLASTIC: Final = TPO_RA_SHARE / APLASTIC_SHARE


def _cohort_ht_high() -> float:
    return sum(p * HT_HIGH_SHARE[d] for d, p in DISEASE_MIX.items())


#: The targets tests/simulate checks (tolerances sized for the test cohorts; docs/simulate.md).
TARGETS: Final[tuple[Target, ...]] = (
    Target("ht_high_lbcl", HT_HIGH_SHARE["LBCL"], 0.08, "HT-NL", "CAR-HEMATOTOX >= 2, LBCL"),
    Target("ht_high_mm", HT_HIGH_SHARE["MM"], 0.12, "HT-MM", "CAR-HEMATOTOX >= 2, myeloma"),
    Target("ht_high_cohort", _cohort_ht_high(), 0.05, "HT-NL, HT-MM, ALL-HT", "whole cohort"),
    Target("severe14_high", 0.48, 0.10, "HT Table 3", "early ICAHT ANC <= 0.5 >= 14 d, HT high"),
    Target("severe14_low", 0.05, 0.06, "HT Table 3", "early ICAHT ANC <= 0.5 >= 14 d, HT low"),
    Target("severe_median_high", 12.0, 3.0, "HT Table 3", "median days ANC <= 0.5, HT high"),
    Target("severe_median_low", 5.5, 2.5, "HT Table 3", "median days ANC <= 0.5, HT low"),
    Target("profound", PROFOUND_SHARE, 0.08, "HT abstract", "ANC nadir < 0.1 from day 0"),
    Target("phenotype_high_quick", PHENOTYPE_MIX["high"]["quick"], 0.09, "PROJECT", "HT high"),
    Target(
        "phenotype_high_intermittent", PHENOTYPE_MIX["high"]["intermittent"], 0.09, "PROJECT", ""
    ),
    Target("phenotype_high_aplastic", PHENOTYPE_MIX["high"]["aplastic"], 0.09, "PROJECT", ""),
    Target("phenotype_low_quick", PHENOTYPE_MIX["low"]["quick"], 0.12, "PROJECT", "HT low"),
    Target("phenotype_low_intermittent", PHENOTYPE_MIX["low"]["intermittent"], 0.12, "PROJECT", ""),
    Target("phenotype_low_aplastic", PHENOTYPE_MIX["low"]["aplastic"], 0.06, "PROJECT", ""),
    Target("tpo_ra_share", TPO_RA_SHARE, 0.025, "BK", "patients with a TPO-RA"),
    Target("tpo_ra_start_median", TPO_RA_START_DAY[1], 5.0, "BK", "first TPO-RA day"),
    Target("tpo_ra_response", TPO_RA_RESPONSE_SHARE, 0.12, "BK, GETH", "BK response, engine"),
    Target("tpo_ra_complete", TPO_RA_COMPLETE_SHARE, 0.15, "BK", "complete among responders"),
    # the median day as a share: 0.5 of responders resolved by the BK median day, +/- tolerance
    Target("tpo_ra_days_platelets", 27.0, 0.15, "BK", "share resolved by day 27 is 0.5"),
    Target("tpo_ra_days_neutrophils", 29.0, 0.15, "BK", "share resolved by day 29 is 0.5"),
    Target("tpo_ra_days_hemoglobin", 22.0, 0.15, "BK", "share resolved by day 22 is 0.5"),
    Target("age_median_lbcl", 69.0, 3.0, "BK", "median age, LBCL (range 19-85)"),
    Target("nrm_high", NRM_1Y["high"], 0.06, "HT-MM", "death without progression, HT high"),
    Target("nrm_low", NRM_1Y["low"], 0.04, "HT-MM", "death without progression, HT low"),
    Target("infection_high", SEVERE_INFECTION["high"], 0.08, "HT-MM", "severe infection, high"),
    Target("infection_low", SEVERE_INFECTION["low"], 0.06, "HT-MM", "severe infection, low"),
    Target("crs_any", 0.0, 0.06, "PROJECT", "any-grade CRS vs the product mix (expected)"),
    Target("crs_severe", 0.0, 0.04, "PROJECT", "grade >= 3 CRS vs the product mix (expected)"),
    Target("icans_any", 0.0, 0.06, "PROJECT", "any-grade ICANS vs the product mix (expected)"),
    Target("product_mix", 0.0, 0.05, "PROJECT", "each product's share vs the mix (expected)"),
)


def target(name: str) -> Target:
    """The target called ``name``."""
    for candidate in TARGETS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
