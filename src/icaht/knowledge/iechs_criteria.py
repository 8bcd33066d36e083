"""IEC-HS suspicion thresholds as data (no logic).

The ferritin level, rise and look-back windows are profile settings (``iechs.*``); the fixed
thresholds of the supporting findings and of "new severe cytopenia" live here. Every number cites
its source key (``icaht.knowledge.bibliography``); ``docs/evidence.md`` sections 1.1
(JAIN suspicion pattern), 5.5 (HLH-2004) and 6.3 (IEC-HS) are the project's record of them.
Units are in the names: counts 10^9/L, triglycerides and fibrinogen mg/dL.
"""

from __future__ import annotations

from typing import Final

from icaht.knowledge.icaht_criteria import (
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    PLT_PROFOUND_10E9_PER_L,
)

# New severe cytopenia (JAIN L47 "new onset of severe cytopenia"): ANC <= 0.5 (ICAHT severe, "<=")
# or platelets < 20 (T-ICAHT profound, "<"), entered from outside the band.
SEVERE_ANC_MAX_10E9_PER_L: Final = ANC_SEVERE_10E9_PER_L  # ICAHT Table 1 via LIANG-ICAHT ("<=")
SEVERE_PLATELETS_BELOW_10E9_PER_L: Final = PLT_PROFOUND_10E9_PER_L  # T-ICAHT Table 1 ("<")
# Worsening: ANC falling into the profound band (<= 0.1) from above it.
PROFOUND_ANC_MAX_10E9_PER_L: Final = ANC_PROFOUND_10E9_PER_L  # ICAHT Table 1 via LIANG-ICAHT

# Supporting findings (JAIN L47: hypertriglyceridemia, coagulation abnormalities).
TRIGLYCERIDES_HIGH_ABOVE_MG_PER_DL: Final = 265.0  # HLH-2004, TG > 265 mg/dL (reference 5.5)
FIBRINOGEN_LOW_BELOW_MG_PER_DL: Final = 150.0  # HLH-2004 (< 150 mg/dL, reference 5.5); HINES
