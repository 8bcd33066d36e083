"""CTCAE v5.0 laboratory grade bands, as data.

Source: NCI CTCAE v5.0 (27 Nov 2017), citation key ``CTCAE``, as tabulated in
``docs/evidence.md`` section 2 (confirmed against the PharmaForest ``ctcae5_grader``
SAS macro headers and several faithful copies of the v5 grade text). Boundary policy:
``docs/decisions.md`` (Grading).

Reading a "decreased" term. CTCAE writes the bands as ``G1 <LLN - 1.5; G2 <1.5 - 1.0; G3 <1.0 -
0.5; G4 <0.5`` (ANC, 10^9/L). "<LLN - 1.5" runs from just below the LLN down to 1.5 inclusive, so
every band's lower bound is inclusive and each boundary value belongs to the milder grade:
ANC exactly 1.0 is grade 2 and exactly 0.5 is grade 3. Here a band is stored by its inclusive lower
bound (its "floor"): ``floors[0]`` is the lowest grade-1 value, ``floors[1]`` the lowest grade-2
value, and so on; a value below the last floor has the highest lab grade of the term.

* Grade 1 also needs the value to be below the laboratory's LLN; without an LLN it cannot be told
  from grade 0.
* Grades 2 and above are absolute and ignore the LLN. If a lab's LLN lies below the grade-1 floor
  (for example ANC LLN 1.4), a value of 1.45 is "normal" for that lab but still falls in the numeric
  grade-2 band; it is graded 2, as the PharmaForest macro does (docs/evidence.md section 2
  flags this as a policy decision; docs/decisions.md adopts the reference table exactly).
* Anemia grade 3 is "<8.0 g/dL; transfusion indicated" and grade 4 is clinical only
  ("life-threatening consequences; urgent intervention indicated"): a lab value never sets grade 4.
* Fibrinogen decreased is LLN-relative (multiples of the LLN); its grade 4 is also reached below an
  absolute 50 mg/dL. The v5 alternative "if abnormal at baseline: % decrease from baseline" needs a
  baseline and is not encoded.
* Hypertriglyceridemia is an "increased" term with absolute bands written
  ``G1 150-300; G2 >300-500; G3 >500-1000; G4 >1000`` mg/dL: here the band *upper* bounds are
  inclusive (300 is grade 1, 500 grade 2, 1000 grade 3) and 150 itself is grade 1, as the table
  states.

Units are the canonical units of icaht (docs/evidence.md 8.2): counts in 10^9/L
(1 000/mm3 = 1.0 x10^9/L), hemoglobin in g/dL, fibrinogen and triglycerides in mg/dL. Where CTCAE
writes a term's bands in several units (anemia: g/dL, g/L, mmol/L), ``unit_floors`` keeps its
bands in the other units so a value is graded in the unit it was reported in. No grade 5
is encoded: grade 5 (death) is never a laboratory grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Direction(StrEnum):
    """Whether a term grades low values (``decreased``) or high values (``increased``)."""

    DECREASED = "decreased"
    INCREASED = "increased"


# --- Neutrophil count decreased (CTCAE v5.0, Investigations) ------------------------------------
# G1 <LLN-1500/mm3; G2 <1500-1000; G3 <1000-500; G4 <500.  Source: CTCAE (clin-ref section 2).
ANC_G1_FLOOR_10E9_PER_L: Final = 1.5
ANC_G2_FLOOR_10E9_PER_L: Final = 1.0
ANC_G3_FLOOR_10E9_PER_L: Final = 0.5

# --- Platelet count decreased --------------------------------------------------------------------
# G1 <LLN-75,000/mm3; G2 <75,000-50,000; G3 <50,000-25,000; G4 <25,000.  Source: CTCAE.
PLATELETS_G1_FLOOR_10E9_PER_L: Final = 75.0
PLATELETS_G2_FLOOR_10E9_PER_L: Final = 50.0
PLATELETS_G3_FLOOR_10E9_PER_L: Final = 25.0

# --- White blood cell decreased ------------------------------------------------------------------
# G1 <LLN-3000/mm3; G2 <3000-2000; G3 <2000-1000; G4 <1000.  Source: CTCAE.
WBC_G1_FLOOR_10E9_PER_L: Final = 3.0
WBC_G2_FLOOR_10E9_PER_L: Final = 2.0
WBC_G3_FLOOR_10E9_PER_L: Final = 1.0

# --- Lymphocyte count decreased ------------------------------------------------------------------
# G1 <LLN-800/mm3; G2 <800-500; G3 <500-200; G4 <200.  Source: CTCAE.
LYMPHOCYTES_G1_FLOOR_10E9_PER_L: Final = 0.8
LYMPHOCYTES_G2_FLOOR_10E9_PER_L: Final = 0.5
LYMPHOCYTES_G3_FLOOR_10E9_PER_L: Final = 0.2

# --- CD4 lymphocytes decreased -------------------------------------------------------------------
# G1 <LLN-500/mm3; G2 <500-200; G3 <200-50; G4 <50.  Source: CTCAE [SEC: PharmaForest headers].
CD4_G1_FLOOR_10E9_PER_L: Final = 0.5
CD4_G2_FLOOR_10E9_PER_L: Final = 0.2
CD4_G3_FLOOR_10E9_PER_L: Final = 0.05

# --- Anemia (Blood and lymphatic system disorders) -----------------------------------------------
# G1 Hb <LLN-10.0 g/dL; G2 <10.0-8.0; G3 <8.0 (transfusion indicated); G4 clinical only.
# Source: CTCAE (10.0 g/dL = 6.2 mmol/L = 100 g/L; 8.0 g/dL = 4.9 mmol/L = 80 g/L).
HB_G1_FLOOR_G_PER_DL: Final = 10.0
HB_G2_FLOOR_G_PER_DL: Final = 8.0
ANEMIA_MAX_LAB_GRADE: Final = 3  # grade 4 is clinical only (CTCAE)
# CTCAE v5 also writes the anemia bands in g/L and mmol/L; a value reported in one of those units
# is graded on that unit's bands, not converted first (docs/decisions.md, Grading: "CTCAE in
# the reported unit"). 6.2 mmol/L is not exactly 10.0 g/dL x 0.6206, so the bands differ.
HB_G1_FLOOR_G_PER_L: Final = 100.0  # CTCAE ("<LLN - 100 g/L")
HB_G2_FLOOR_G_PER_L: Final = 80.0  # CTCAE ("<100 - 80 g/L")
HB_G1_FLOOR_MMOL_PER_L: Final = 6.2  # CTCAE ("<LLN - 6.2 mmol/L")
HB_G2_FLOOR_MMOL_PER_L: Final = 4.9  # CTCAE ("<6.2 - 4.9 mmol/L")
# Anemia grade 3 also reads "transfusion indicated" (CTCAE): an RBC transfusion within this many
# calendar days of a value lifts its lab grade 2 to 3 (docs/decisions.md, Grading).
ANEMIA_TRANSFUSION_WITHIN_DAYS: Final = 2  # docs/decisions.md (Grading)
ANEMIA_TRANSFUSION_LIFT: Final = (2, 3)  # lab grade 2 -> grade 3 (CTCAE; docs/decisions.md)

# --- Fibrinogen decreased ------------------------------------------------------------------------
# G1 <1.0-0.75 x LLN; G2 <0.75-0.5 x LLN; G3 <0.5-0.25 x LLN; G4 <0.25 x LLN or <50 mg/dL.
# Source: CTCAE [SEC: PharmaForest headers].
FIBRINOGEN_G1_FLOOR_X_LLN: Final = 0.75
FIBRINOGEN_G2_FLOOR_X_LLN: Final = 0.5
FIBRINOGEN_G3_FLOOR_X_LLN: Final = 0.25
FIBRINOGEN_G4_ABSOLUTE_MG_PER_DL: Final = 50.0  # below this: grade 4 whatever the LLN

# --- Hypertriglyceridemia (Metabolism and nutrition disorders) -----------------------------------
# G1 150-300 mg/dL; G2 >300-500; G3 >500-1000; G4 >1000.  Source: CTCAE [SEC: PharmaForest].
TRIGLYCERIDES_G1_FROM_MG_PER_DL: Final = 150.0  # inclusive: 150 is grade 1
TRIGLYCERIDES_G1_CEILING_MG_PER_DL: Final = 300.0  # inclusive upper bound of grade 1
TRIGLYCERIDES_G2_CEILING_MG_PER_DL: Final = 500.0
TRIGLYCERIDES_G3_CEILING_MG_PER_DL: Final = 1000.0


@dataclass(frozen=True, slots=True)
class CtcaeCriterion:
    """The lab bands of one CTCAE v5.0 term.

    ``direction == DECREASED``: ``floors`` are the inclusive lower bounds of grades 1, 2, ... in
    descending order; a value below the last floor has grade ``len(floors) + 1``. Grade 1 also
    needs ``value < LLN``. With ``floors_x_lln`` the floors are multiples of the LLN (fibrinogen)
    and ``absolute_worst_below`` is an absolute bound under which the worst grade applies
    whatever the LLN.

    ``direction == INCREASED``: ``floors`` are the inclusive *start* of grade 1 followed by the
    inclusive upper bounds of grades 1, 2, 3 in ascending order (hypertriglyceridemia); no ULN is
    needed.

    ``unit_floors``: CTCAE's own floors in other units of ``analyte`` (unit as CTCAE writes it,
    floors in that unit), used for values reported in that unit. ``transfusion_lift``: (lab
    grade, grade) set by a transfusion near the value ("transfusion indicated").
    """

    term: str
    ctcae_name: str
    unit: str
    direction: Direction
    floors: tuple[float, ...]
    max_lab_grade: int
    floors_x_lln: bool = False
    absolute_worst_below: float | None = None
    citation: str = "CTCAE"
    note: str | None = None
    analyte: str | None = None
    unit_floors: tuple[tuple[str, tuple[float, ...]], ...] = ()
    transfusion_lift: tuple[int, int] | None = None


CTCAE_CRITERIA: Final[dict[str, CtcaeCriterion]] = {
    c.term: c
    for c in (
        CtcaeCriterion(
            "neutrophils",
            "Neutrophil count decreased",
            "10^9/L",
            Direction.DECREASED,
            (ANC_G1_FLOOR_10E9_PER_L, ANC_G2_FLOOR_10E9_PER_L, ANC_G3_FLOOR_10E9_PER_L),
            4,
        ),
        CtcaeCriterion(
            "platelets",
            "Platelet count decreased",
            "10^9/L",
            Direction.DECREASED,
            (
                PLATELETS_G1_FLOOR_10E9_PER_L,
                PLATELETS_G2_FLOOR_10E9_PER_L,
                PLATELETS_G3_FLOOR_10E9_PER_L,
            ),
            4,
        ),
        CtcaeCriterion(
            "wbc",
            "White blood cell decreased",
            "10^9/L",
            Direction.DECREASED,
            (WBC_G1_FLOOR_10E9_PER_L, WBC_G2_FLOOR_10E9_PER_L, WBC_G3_FLOOR_10E9_PER_L),
            4,
        ),
        CtcaeCriterion(
            "lymphocytes",
            "Lymphocyte count decreased",
            "10^9/L",
            Direction.DECREASED,
            (
                LYMPHOCYTES_G1_FLOOR_10E9_PER_L,
                LYMPHOCYTES_G2_FLOOR_10E9_PER_L,
                LYMPHOCYTES_G3_FLOOR_10E9_PER_L,
            ),
            4,
        ),
        CtcaeCriterion(
            "cd4",
            "CD4 lymphocytes decreased",
            "10^9/L",
            Direction.DECREASED,
            (CD4_G1_FLOOR_10E9_PER_L, CD4_G2_FLOOR_10E9_PER_L, CD4_G3_FLOOR_10E9_PER_L),
            4,
        ),
        CtcaeCriterion(
            "anemia",
            "Anemia",
            "g/dL",
            Direction.DECREASED,
            (HB_G1_FLOOR_G_PER_DL, HB_G2_FLOOR_G_PER_DL),
            ANEMIA_MAX_LAB_GRADE,
            note="Anemia grade 4 (life-threatening; urgent intervention indicated) is clinical "
            "only: a lab value never sets it. Grade 3 also covers 'transfusion indicated'.",
            analyte="hb",
            unit_floors=(
                ("g/L", (HB_G1_FLOOR_G_PER_L, HB_G2_FLOOR_G_PER_L)),
                ("mmol/L", (HB_G1_FLOOR_MMOL_PER_L, HB_G2_FLOOR_MMOL_PER_L)),
            ),
            transfusion_lift=ANEMIA_TRANSFUSION_LIFT,
        ),
        CtcaeCriterion(
            "fibrinogen",
            "Fibrinogen decreased",
            "mg/dL",
            Direction.DECREASED,
            (FIBRINOGEN_G1_FLOOR_X_LLN, FIBRINOGEN_G2_FLOOR_X_LLN, FIBRINOGEN_G3_FLOOR_X_LLN),
            4,
            floors_x_lln=True,
            absolute_worst_below=FIBRINOGEN_G4_ABSOLUTE_MG_PER_DL,
            note="Bands are multiples of the LLN; the v5 '% decrease from baseline' variant "
            "(baseline below LLN) is not encoded.",
        ),
        CtcaeCriterion(
            "triglycerides",
            "Hypertriglyceridemia",
            "mg/dL",
            Direction.INCREASED,
            (
                TRIGLYCERIDES_G1_FROM_MG_PER_DL,
                TRIGLYCERIDES_G1_CEILING_MG_PER_DL,
                TRIGLYCERIDES_G2_CEILING_MG_PER_DL,
                TRIGLYCERIDES_G3_CEILING_MG_PER_DL,
            ),
            4,
        ),
    )
}
