"""Label blood-count limits of myelosuppressive drugs used after CAR-T, as data (no logic).

Counts in 10^9/L, Hb in g/dL. Every number cites its source key (``icaht.knowledge.bibliography``)
and where it was read; ``docs/evidence.md`` section 7 (drug facts) is the project's
record of them. A value *below* a limit crosses it ("do not give if ANC < 500/uL").
"""

from __future__ import annotations

from typing import Final

# Ganciclovir / valganciclovir: do not give if ANC < 500/uL, PLT < 25,000/uL or Hb < 8 g/dL.
GANCICLOVIR_ANC_MIN_10E9_PER_L: Final = 0.5  # LABEL-GANCICLOVIR, docs/evidence.md 7
GANCICLOVIR_PLATELETS_MIN_10E9_PER_L: Final = 25.0  # LABEL-GANCICLOVIR, docs/evidence.md 7
GANCICLOVIR_HB_MIN_G_PER_DL: Final = 8.0  # LABEL-GANCICLOVIR, docs/evidence.md 7

# Mycophenolate mofetil: if ANC < 1.3 x10^3/uL, interrupt or reduce the dose.
MYCOPHENOLATE_ANC_MIN_10E9_PER_L: Final = 1.3  # LABEL-MYCOPHENOLATE, docs/evidence.md 7
