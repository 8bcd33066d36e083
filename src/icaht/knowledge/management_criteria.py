"""Fixed numbers of the baseline and early-phase management rules, as data (no logic).

Numbers a centre may vary are profile settings; these are fixed by their source. Every number
cites its source key (``icaht.knowledge.bibliography``) and where it was read;
``docs/evidence.md`` sections 1.1 (JAIN) and 1.2 (BK) are the project's record of them.
"""

from __future__ import annotations

from typing import Final

# Risk factor for prolonged cytopenia: grade 3-4 CRS or ICANS (JAIN L43; ASTCT grades, LEE).
SEVERE_CRS_ICANS_MIN_GRADE: Final = 3  # JAIN L43 ("grade 3 to 4 CRS or ICANS")

# BK screened all patients for cytopenia on days 21-28 after infusion (BK abstract, methods).
CYTOPENIA_SCREEN_FIRST_DAY: Final = 21  # BK abstract
CYTOPENIA_SCREEN_LAST_DAY: Final = 28  # BK abstract

# Months of antiviral prophylaxis (prophylaxis.antiviral_months) counted in days: the mean
# Gregorian month (365.25 / 12 days), a unit conversion, not a clinical number.
DAYS_PER_MONTH: Final = 365.25 / 12
