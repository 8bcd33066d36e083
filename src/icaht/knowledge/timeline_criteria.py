"""Time windows after CAR-T infusion (day 0 = infusion day).

Two taxonomies live side by side (docs/decisions.md, Timeline):
- Jain phase (Jain et al., Blood 2023, seed 001 L1/L3): early < day 30, prolonged day 30-90,
  late > day 90. The seed leaves day 30 and day 90 unassigned; the decisions page assigns both to
  "prolonged" ("day 30-90").
- ICAHT window (EHA/EBMT, Rejeski et al., Blood 2023): early = day 0-30, late = day >= 31.
"""

JAIN_PROLONGED_FIRST_DAY = 30  # JAIN: prolonged = day 30-90
JAIN_PROLONGED_LAST_DAY = 90  # JAIN: late = > day 90
ICAHT_EARLY_LAST_DAY = 30  # ICAHT: early = day 0-30
ICAHT_LATE_FIRST_DAY = 31  # ICAHT: late = after day +30
