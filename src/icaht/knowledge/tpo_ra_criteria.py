"""Thrombopoietin-receptor agonist (TPO-RA) criteria as data (no logic).

The Beyar-Katz response definition (BK, Ann Hematol 2022, seed 002 abstract), the label limits of
eltrombopag and romiplostim and the eltrombopag salt equivalence, as recorded in
``docs/evidence.md`` sections 1.2 and 7 and ``docs/decisions.md``
("TPO-RA candidate", "TPO-RA response"). Counts are in 10^9/L (ANC 0.5 x10^9/L = 500/uL;
platelets 20 x10^9/L = 20,000/uL), hemoglobin in g/dL. Settings that centres vary (start doses,
titration steps, target) are profile settings (``icaht.knowledge.profile.tpo_ra.TpoRaSettings``).
"""

from __future__ import annotations

from typing import Final, Literal

# ---------------------------------------------------------------------------------------------
# Response (BK abstract; docs/decisions.md "TPO-RA response"); every comparison is strict ">"
# ---------------------------------------------------------------------------------------------
RESPONSE_ANC_10E9_PER_L: Final = 0.5  # BK: resolution of severe neutropenia, ANC > 500/uL
RESPONSE_PLATELETS_10E9_PER_L: Final = 20.0  # BK: platelets > 20,000/uL
COMPLETE_HB_G_DL: Final = 8.0  # BK: complete resolution also needs hemoglobin > 8 g/dL
RESPONSE_CONSECUTIVE_VALUES: Final = 3  # BK: "three consecutive values on different days"

# ---------------------------------------------------------------------------------------------
# Candidacy (docs/decisions.md "TPO-RA candidate"; JAIN L57)
# ---------------------------------------------------------------------------------------------
LOW_PLATELETS_10E9_PER_L: Final = 20.0  # docs/decisions.md: platelets < 20 qualify

# ---------------------------------------------------------------------------------------------
# Partial response (docs/decisions.md "A TPO-RA course is one state machine")
# ---------------------------------------------------------------------------------------------
PARTIAL_TRANSFUSION_FRACTION: Final = 0.5  # transfusions in the last window at most half
PARTIAL_PLATELET_FOLD: Final = 2.0  # platelets at least doubled from the pre-treatment median

# ---------------------------------------------------------------------------------------------
# Eltrombopag (LABEL-ELTROMBOPAG via docs/evidence.md 7; JAIN L57; BK)
# ---------------------------------------------------------------------------------------------
ELTROMBOPAG_MAX_MG_DAY: Final = 150.0  # JAIN L57 (titrate to 150 mg), BK (max 150 mg/day)
ELTROMBOPAG_LABEL_MAX_MG_DAY: Final = 75.0  # label (ITP, adults and children): maximum 75 mg
ELTROMBOPAG_MIN_AGE_YEARS: Final = 1.0  # label: paediatric ITP from 1 year
ELTROMBOPAG_CHILD_OLDER_FROM_YEARS: Final = 6.0  # label bands: 1-5 years, 6-17 years
ELTROMBOPAG_REDUCE_FROM_10E9_PER_L: Final = 200.0  # label: platelets 200-400 -> -25 mg
ELTROMBOPAG_STOP_ABOVE_10E9_PER_L: Final = 400.0  # label: platelets > 400 -> stop, recheck
ELTROMBOPAG_RESTART_BELOW_10E9_PER_L: Final = 150.0  # label: restart at -25 mg once < 150
ELTROMBOPAG_REDUCE_STEP_MG: Final = 25.0  # label: reduce by 25 mg
ELTROMBOPAG_CHOLINE_MG: Final = 36.0  # reference 7 [SEC]: choline 36 mg ~ olamine 50 mg
ELTROMBOPAG_OLAMINE_MG: Final = 50.0  # reference 7 [SEC]: choline 36 mg ~ olamine 50 mg
#: Choline dose equivalent to the olamine maximum: 150 x 36 / 50 = 108 mg/day (derived).
ELTROMBOPAG_CHOLINE_MAX_MG_DAY: Final = (
    ELTROMBOPAG_MAX_MG_DAY * ELTROMBOPAG_CHOLINE_MG / ELTROMBOPAG_OLAMINE_MG
)
ALT_STOP_ULN_MULTIPLE: Final = 3.0  # label (boxed warning): ALT >= 3x ULN -> stop review
ALT_PERSISTENT_WEEKS: Final = 4  # label: persistent (>= 4 weeks) rise -> stop

# ---------------------------------------------------------------------------------------------
# Romiplostim (LABEL-ROMIPLOSTIM: US label / EU SmPC via docs/evidence.md 7; JAIN L57)
# ---------------------------------------------------------------------------------------------
ROMIPLOSTIM_MAX_UG_KG: Final = 10.0  # label maximum 10 ug/kg weekly; JAIN L57 10 ug/kg/week
ROMIPLOSTIM_REDUCE_STEP_UG_KG: Final = 1.0  # label: reduce by 1 ug/kg; resume at -1 ug/kg
ROMIPLOSTIM_REDUCE_CONSECUTIVE_WEEKS: Final = 2  # label: above the cut-off 2 consecutive weeks
ROMIPLOSTIM_NO_RESPONSE_WEEKS_AT_MAX: Final = 4  # label: stop if no response 4 weeks at max

RomiplostimLabel = Literal["us", "eu"]
#: (reduce above, hold above, resume below) x10^9/L: US label 200/400/200, EU SmPC 150/250/150.
ROMIPLOSTIM_THRESHOLDS_10E9_PER_L: Final[dict[RomiplostimLabel, tuple[float, float, float]]] = {
    "us": (200.0, 400.0, 200.0),  # US label
    "eu": (150.0, 250.0, 150.0),  # EU SmPC
}
