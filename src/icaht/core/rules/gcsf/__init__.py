"""The G-CSF decision (decision ``gcsf``, docs/decisions.md "G-CSF"): one card a day.

The card's state is the first of these that applies; each rule below shows one state, so two
G-CSF cards never fire together (``guidance.contradictions`` finds none):

1. a GM-CSF running after infusion: alert, avoid GM-CSF (JAIN L39);
2. G-CSF already running at the daily schedule: no card;
3. prophylactic G-CSF from day +2 for CAR-HEMATOTOX-high patients in the early ICAHT window until
   ANC recovery (profiles with ``gcsf.prophylactic_for_high_hematotox``: icaht-2023; ICAHT
   Table 3);
4. a therapeutic indication, either a biphasic drop (ANC < 0.75 x10^9/L after an earlier
   recovery; daily G-CSF until ANC > 1.5, JAIN L53) or a current ANC <= 0.5 from
   ``gcsf.therapeutic_start_day`` in any phase (JAIN L39, L53; ICAHT Table 3); **deferred**
   while CRS or ICANS of grade >= ``gcsf.defer_min_grade`` (or of unrecorded grade) is active,
   unless a severe infection is (JAIN L39); otherwise the indication's own card.

Every card of a child carries the seed's caveat that prolonged growth factors are often deferred in
children (JAIN L73) instead of a card of its own. Absence is not a negative: when the G-CSF stream
is not declared complete and no G-CSF is recorded, the advice says so.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3.
"""
