"""Prolonged and late cytopenia criteria as data (no logic).

Thresholds the prolonged- and late-phase rules read besides their profile settings (``cytopenia``,
``gcsf``, ``prophylaxis``, ``workup``). Every number cites its source key
(``icaht.knowledge.bibliography``) and where it was read; ``docs/evidence.md`` section
1.1 and ``docs/decisions.md`` ("Management defaults") are the project's record of them.
Counts are in 10^9/L (ANC 0.75 x10^9/L = 750/mm3).
"""

from __future__ import annotations

from typing import Final

from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L, APLASTIC_MIN_DAYS

# Biphasic neutrophil course (JAIN L53; docs/decisions.md, Management defaults): after an
# initial recovery, a later drop to ANC < 750/mm3 ("<") -> daily G-CSF until ANC > 1500/mm3 (">").
BIPHASIC_DROP_BELOW_ANC_10E9_PER_L: Final = 0.75  # JAIN L53 ("< 750/mm3")
BIPHASIC_GCSF_UNTIL_ANC_ABOVE_10E9_PER_L: Final = 1.5  # JAIN L53 ("> 1500/mm3")

# Response to G-CSF = any ANC > 500/mm3 (JAIN L39, L53: recovery to > 500/mm3).
GCSF_RESPONSE_ABOVE_ANC_10E9_PER_L: Final = ANC_SEVERE_10E9_PER_L  # JAIN L39 ("> 500/mm3")

# Persistent severe neutropenia (docs/decisions.md, Stem cell boost candidate: "persistent
# severe neutropenia (ANC <= 0.5)"; ICAHT severe band "<=").
SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L: Final = ANC_SEVERE_10E9_PER_L  # ICAHT Table 1 ("<=")
# "Complete aplasia" (JAIN L63) needs neutropenia that has lasted: no ANC > 0.5 for at least as
# long as the aplastic recovery phenotype requires (HT: >= 14 days).
PERSISTENT_SEVERE_NEUTROPENIA_MIN_DAYS: Final = APLASTIC_MIN_DAYS  # HT (aplastic >= 14 days)

# Lineage switch after CAR-T in B-ALL (JAIN L73): diagnosis spellings that mean B-ALL (record.py
# PatientFacts.diagnosis names "B-ALL"; lower case, compared after strip()).
B_ALL_DIAGNOSES: Final = frozenset({"b-all", "all", "b-cell all"})  # JAIN L71, L73

# Follow-up years -> days (the setting workup.follow_up_years, JAIN L61): a Julian year.
DAYS_PER_YEAR: Final = 365.25  # calendar (Julian year)
