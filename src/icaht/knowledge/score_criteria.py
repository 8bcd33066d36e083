"""Risk-score cut-offs, points and tables as data (no logic): CAR-HEMATOTOX, EASIX family, HScore.

Every number cites its source key (``icaht.knowledge.bibliography``) and where it was read;
``docs/evidence.md`` section 5 (5.1 CAR-HEMATOTOX, 5.3 EASIX family, 5.4 HScore; unit
conversions in 8.2) and ``docs/decisions.md`` ("Risk scores") are the project's record
of them. The scoring logic is in ``icaht.core.hematotox``, ``icaht.core.easix`` and
``icaht.core.hscore``.

Units are in the names: counts in 10^9/L, Hb g/dL, CRP mg/dL, ferritin ng/mL, triglycerides
mmol/L (as published) and mg/dL (canonical), fibrinogen mg/dL, AST U/L, temperature deg C; point
values end in ``_POINTS``.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------------------------
# CAR-HEMATOTOX. Source: HT (Rejeski, Blood 2021;138:2499), clinical-reference 5.1.
# Boundary treatment: docs/decisions.md "Risk scores" (a value exactly on a cut-off written as
# a range scores in the middle band; ANC 1.2 -> 0, Hb 9.0 -> 0, CRP 3.0 -> 1).
# ---------------------------------------------------------------------------------------------
HT_PLATELETS_UPPER_10E9_PER_L: Final = 175.0  # >175 -> 0; 175 itself -> 1
HT_PLATELETS_LOWER_10E9_PER_L: Final = 75.0  # <75 -> 2; 75 itself -> 1
HT_ANC_10E9_PER_L: Final = 1.2  # >=1.2 -> 0; <1.2 -> 1
HT_HB_G_PER_DL: Final = 9.0  # >=9.0 -> 0; <9.0 -> 1
HT_CRP_MG_PER_DL: Final = 3.0  # <3.0 -> 0; >=3.0 -> 1 (= 30 mg/L)
HT_FERRITIN_LOWER_NG_PER_ML: Final = 650.0  # <650 -> 0; 650 itself -> 1
HT_FERRITIN_UPPER_NG_PER_ML: Final = 2000.0  # >2000 -> 2; 2000 itself -> 1
HT_HIGH_RISK_MIN_POINTS: Final = 2  # low 0-1, high >=2
HT_MAX_POINTS: Final = 7

# ---------------------------------------------------------------------------------------------
# EASIX family. Source: PENNISI (Pennisi, Blood Adv 2021), clinical-reference 5.3.
# The formulas fix the units of their inputs: creatinine in umol/L or CRP in mg/L would change the
# value 88.4x or 10x. No cut-off: none is universal (clinical-reference 5.3, [UNCONFIRMED]).
# ---------------------------------------------------------------------------------------------
EASIX_LDH_UNIT: Final = "U/L"  # PENNISI: LDH (U/L)
EASIX_CREATININE_UNIT: Final = "mg/dL"  # PENNISI: creatinine (mg/dL), EASIX only
EASIX_CRP_UNIT: Final = "mg/dL"  # PENNISI: CRP (mg/dL), m-EASIX only
EASIX_PLATELETS_UNIT: Final = "10^9/L"  # PENNISI: platelets (10^9/L), the denominator

# ---------------------------------------------------------------------------------------------
# HScore item points and cut-offs. Source: FARDET (Fardet 2014), clinical-reference 5.4 (Fardet's
# table as reproduced in Hindawi CRIRH 2017 tab. 3 and PMC7589537 table 4). Range ends written
# "a-b" are inclusive (docs/decisions.md "Risk scores": HScore as the reference).
# ---------------------------------------------------------------------------------------------
HSCORE_IMMUNOSUPPRESSION_POINTS: Final = 18
HSCORE_TEMP_LOWER_C: Final = 38.4  # <38.4 -> 0; 38.4-39.4 -> 33
HSCORE_TEMP_UPPER_C: Final = 39.4  # >39.4 -> 49
HSCORE_TEMP_MID_POINTS: Final = 33
HSCORE_TEMP_HIGH_POINTS: Final = 49
HSCORE_ORGANOMEGALY_ONE_POINTS: Final = 23  # hepatomegaly or splenomegaly
HSCORE_ORGANOMEGALY_BOTH_POINTS: Final = 38
HSCORE_CYTOPENIA_HB_G_PER_DL: Final = 9.2  # Hb <=9.2 g/dL (92 g/L) counts as cytopenic
HSCORE_CYTOPENIA_WBC_10E9_PER_L: Final = 5.0  # WBC <=5.0 x10^9/L (5000/uL)
HSCORE_CYTOPENIA_PLATELETS_10E9_PER_L: Final = 110.0  # PLT <=110 x10^9/L (110,000/uL)
HSCORE_CYTOPENIA_POINTS_BY_LINEAGES: Final = (0, 0, 24, 34)  # 0 and 1 lineage -> 0 (5.4 derived)
HSCORE_FERRITIN_LOWER_NG_PER_ML: Final = 2000.0  # <2000 -> 0; 2000-6000 -> 35
HSCORE_FERRITIN_UPPER_NG_PER_ML: Final = 6000.0  # >6000 -> 50
HSCORE_FERRITIN_MID_POINTS: Final = 35
HSCORE_FERRITIN_HIGH_POINTS: Final = 50
# The table is in mmol/L; icaht's canonical unit is mg/dL. 1.5 mmol/L = 132.855 mg/dL and 4 mmol/L
# = 354.28 mg/dL. (Some reproductions print 132.7 mg/dL, i.e. a factor of about 88.5; the two
# differ only for 132.7-132.85 mg/dL.)
TRIGLYCERIDES_MG_PER_DL_PER_MMOL_PER_L: Final = 88.57  # clinical-reference 8.2
HSCORE_TG_LOWER_MMOL_PER_L: Final = 1.5  # <1.5 -> 0; 1.5-4 -> 44
HSCORE_TG_UPPER_MMOL_PER_L: Final = 4.0  # >4 -> 64
HSCORE_TG_LOWER_MG_PER_DL: Final = (
    HSCORE_TG_LOWER_MMOL_PER_L * TRIGLYCERIDES_MG_PER_DL_PER_MMOL_PER_L
)
HSCORE_TG_UPPER_MG_PER_DL: Final = (
    HSCORE_TG_UPPER_MMOL_PER_L * TRIGLYCERIDES_MG_PER_DL_PER_MMOL_PER_L
)
HSCORE_TG_MID_POINTS: Final = 44
HSCORE_TG_HIGH_POINTS: Final = 64
HSCORE_FIBRINOGEN_MG_PER_DL: Final = 250.0  # <=2.5 g/L (250 mg/dL) -> 30; clinical-reference 8.2
HSCORE_FIBRINOGEN_POINTS: Final = 30
HSCORE_AST_U_PER_L: Final = 30.0  # >=30 U/L -> 19
HSCORE_AST_POINTS: Final = 19
HSCORE_HEMOPHAGOCYTOSIS_POINTS: Final = 35
HSCORE_MAX_POINTS: Final = 337
HSCORE_BEST_CUTOFF: Final = 169  # sensitivity 93%, specificity 86%
# Probability of hemophagocytic syndrome by total (Fardet 2014; clinical-reference 5.4). A total
# between tabulated scores is read at the highest tabulated score not above it; a total below 90
# reads "<1%" (Fardet: "<1% with an HScore <=90").
HSCORE_PROBABILITY_TABLE: Final[tuple[tuple[int, str], ...]] = (
    (90, "<1%"),
    (100, "1%"),
    (110, "3%"),
    (120, "5%"),
    (130, "9%"),
    (140, "16%"),
    (150, "25%"),
    (160, "40%"),
    (170, "54%"),
    (180, "70%"),
    (190, "80%"),
    (200, "88%"),
    (210, "93%"),
    (220, "96%"),
    (230, "98%"),
    (240, "99%"),
    (250, ">99%"),
)
