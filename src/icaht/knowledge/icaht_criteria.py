"""ICAHT, T-ICAHT and recovery-phenotype criteria as data (no logic).

Counts are in 10^9/L (ANC 0.5 x10^9/L = 500/uL; platelets 20 x10^9/L = 20,000/uL). Days are
calendar days relative to CAR-T infusion (day 0). Every number cites its source key
(``icaht.knowledge.bibliography``) and where it was read; ``docs/evidence.md`` sections
3.1, 3.4 and 4 and ``docs/decisions.md`` ("Grading") are the project's record of them.

Duration tables are tuples of ``(minimum_days, grade)`` in ascending order: the grade is the one of
the largest ``minimum_days`` that the duration reaches (0 when it reaches none). Depth tables are
tuples of ``(threshold, grade)`` from the deepest band to the mildest.
"""

from __future__ import annotations

from typing import Final, Literal

# ---------------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------------
EARLY_WINDOW_START_DAY: Final = 0  # ICAHT abstract: early ICAHT = day 0 to +30
EARLY_WINDOW_END_DAY: Final = 30  # ICAHT abstract: early ICAHT = day 0 to +30
LATE_WINDOW_START_DAY: Final = 31  # ICAHT: late = after day +30; LIANG-ICAHT: day +31 onward

# ---------------------------------------------------------------------------------------------
# Early neutrophil ICAHT: ICAHT Table 1 via LIANG-ICAHT (docs/evidence.md 3.1)
# ---------------------------------------------------------------------------------------------
ICAHT_COMPARISON: Final[Literal["<="]] = "<="  # ICAHT Table 1 via LIANG-ICAHT ("<=", coded <501)
ANC_SEVERE_10E9_PER_L: Final = 0.5  # ICAHT Table 1 via LIANG-ICAHT ("<=")
ANC_PROFOUND_10E9_PER_L: Final = 0.1  # ICAHT Table 1 via LIANG-ICAHT ("<=")
# ANC <= 0.5 row: 1-6 d G1, 7-13 d G2, 14-30 d G3, >= 31 d (never > 0.5 in day 0-30) G4.
ICAHT_EARLY_SEVERE_DURATION_GRADES: Final[tuple[tuple[int, int], ...]] = (
    (1, 1),
    (7, 2),
    (14, 3),
    (31, 4),
)  # ICAHT Table 1 via LIANG-ICAHT
# ANC <= 0.1 row: 7-13 d G3, >= 14 d G4 (fewer than 7 days set no grade from this row).
ICAHT_EARLY_PROFOUND_DURATION_GRADES: Final[tuple[tuple[int, int], ...]] = (
    (7, 3),
    (14, 4),
)  # ICAHT Table 1 via LIANG-ICAHT
# Interpolated ANC is rounded to the nearest 10/uL = 0.01 x10^9/L (LIANG-ICAHT: round(anc/10)*10).
ANC_INTERPOLATED_ROUND_DECIMALS_10E9_PER_L: Final = 2  # LIANG-ICAHT
# Stable recovery = ANC above the threshold on >= 3 consecutive days (CIBMTR engraftment, as used
# by LIANG-ICAHT to join runs and by the T-ICAHT footnote: "non-stable recovery (< 3 days)").
STABLE_RECOVERY_MIN_DAYS: Final = 3  # LIANG-ICAHT; T-ICAHT Table 1 footnote

# ---------------------------------------------------------------------------------------------
# Late neutrophil ICAHT: ICAHT Table 1 via LIANG-ICAHT (docs/evidence.md 3.1)
# ---------------------------------------------------------------------------------------------
# Depth bands of the graded ANC value ("<="): <= 0.1 G4, <= 0.5 G3, <= 1.0 G2, <= 1.5 G1.
ICAHT_LATE_DEPTH_GRADES_10E9_PER_L: Final[tuple[tuple[float, int], ...]] = (
    (0.1, 4),
    (0.5, 3),
    (1.0, 2),
    (1.5, 1),
)  # ICAHT Table 1 via LIANG-ICAHT ("<=")
# Non-transient: another value in the window must be <= 1.5 (LIANG-ICAHT "anc_2 <= 1500").
ANC_LATE_CONFIRM_MAX_10E9_PER_L: Final = 1.5  # LIANG-ICAHT ("<=")

# ---------------------------------------------------------------------------------------------
# Platelet T-ICAHT: T-ICAHT Table 1 (docs/evidence.md 3.4)
# ---------------------------------------------------------------------------------------------
TICAHT_COMPARISON: Final[Literal["<"]] = "<"  # T-ICAHT Table 1 ("<"; its public code uses "<=")
PLT_SEVERE_10E9_PER_L: Final = 50.0  # T-ICAHT Table 1 ("<")
PLT_PROFOUND_10E9_PER_L: Final = 20.0  # T-ICAHT Table 1 ("<")
PLT_LATE_MILD_10E9_PER_L: Final = 100.0  # T-ICAHT Table 1, late: "< 100 on >= 1 occasion" G1
# Early PLT < 50 row: 1-6 d G1, >= 7 d G2.
TICAHT_EARLY_SEVERE_DURATION_GRADES: Final[tuple[tuple[int, int], ...]] = (
    (1, 1),
    (7, 2),
)  # T-ICAHT Table 1
# PLT < 20 row (early and late): 1-13 d G3, >= 14 d G4.
TICAHT_PROFOUND_DURATION_GRADES: Final[tuple[tuple[int, int], ...]] = (
    (1, 3),
    (14, 4),
)  # T-ICAHT Table 1
# Late depth bands ("<"): < 20 G3, < 50 G2, < 100 G1 (G4 needs >= 14 days < 20).
TICAHT_LATE_DEPTH_GRADES_10E9_PER_L: Final[tuple[tuple[float, int], ...]] = (
    (20.0, 3),
    (50.0, 2),
    (100.0, 1),
)  # T-ICAHT Table 1
TICAHT_LATE_MIN_TESTS: Final = 2  # T-ICAHT Table 1 footnote: late grading needs >= 2 lab tests
# Runs under the threshold separated by fewer than 3 days above it (non-stable recovery) count as
# one: the gap joined is at most STABLE_RECOVERY_MIN_DAYS - 1 = 2 days. T-ICAHT Table 1 footnote.
TICAHT_JOIN_GAP_DAYS: Final = STABLE_RECOVERY_MIN_DAYS - 1  # T-ICAHT Table 1 footnote
# Project reading: the LIANG-ICAHT interpolation limit (7 days) applied to platelets, since T-ICAHT
# "follows the principal logic of N-ICAHT" (docs/evidence.md 3.1, 3.4; docs/decisions.md).
TICAHT_INTERPOLATION_MAX_GAP_DAYS: Final = 7  # LIANG-ICAHT, applied to T-ICAHT (project reading)
# Platelet recovery: first of 3 consecutive days >= 20 with no platelet transfusion for 7 days.
PLT_RECOVERY_10E9_PER_L: Final = 20.0  # T-ICAHT (">=")

# ---------------------------------------------------------------------------------------------
# Neutrophil recovery phenotype: HT (Rejeski, Blood 2021) via docs/decisions.md and
# docs/evidence.md 4 (operational definitions recalled, flagged [UNCONFIRMED] there).
# ---------------------------------------------------------------------------------------------
ANC_RECOVERY_10E9_PER_L: Final = 1.0  # HT: recovery = ANC > 1.0; second dip = ANC < 1.0
ANC_APLASTIC_10E9_PER_L: Final = 0.5  # HT: aplastic = continuous ANC < 0.5
APLASTIC_MIN_DAYS: Final = 14  # HT: aplastic = ANC < 0.5 for >= 14 days
SECOND_DIP_AFTER_DAY: Final = 21  # HT: second dip "after day +21" (i.e. on day 22 or later)
