"""Regimens named in recommendations, as the sources give them (docs/evidence.md)."""

from __future__ import annotations

# ICAHT Table 3 (therapeutic and prophylactic G-CSF); filgrastim label (docs/evidence.md 7)
FILGRASTIM_UG_PER_KG_DAY = 5.0
FILGRASTIM = f"filgrastim (G-CSF) {FILGRASTIM_UG_PER_KG_DAY:g} ug/kg once daily"

# ICAHT Table 3 antiviral row and the institutional table of docs/evidence.md 3.3
ACICLOVIR_MG_TWICE_DAILY = 800.0
VALACICLOVIR_MG_TWICE_DAILY = 500.0
ANTIVIRAL = (
    f"aciclovir {ACICLOVIR_MG_TWICE_DAILY:g} mg twice daily or valaciclovir "
    f"{VALACICLOVIR_MG_TWICE_DAILY:g} mg twice daily"
)
