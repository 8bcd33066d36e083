"""Thrombopoietin-receptor agonists (TPO-RA): the candidate, then one course as one state machine
(docs/decisions.md, "TPO-RA candidate", "A TPO-RA course is one state machine", "TPO-RA
response").

Candidate: after ``tpo_ra.earliest_day``, platelet-transfusion dependence or platelets < 20 x10^9/L
on consecutive values, held for ``tpo_ra.indication_persistence_days``; blocked by MDS, malignant
infiltration, fibrosis or dysplasia on the marrow, or by no marrow on file (the marrow card then
asks for one). Known CHIP and childhood are caveats (JAIN L65, L73); recorded bleeding raises the
priority (JAIN L57: for patients at high risk of bleeding); eltrombopag doses follow the label by
ancestry, liver function and age band.

A course on a TPO-RA shows exactly one card a day, its state, chosen in this order: the ALT review
(eltrombopag, ALT >= 3x ULN), a label dose reduction or hold for high platelets, taper (platelets
>= ``tpo_ra.taper_platelets_10e9_l`` on values spanning ``tpo_ra.taper_span_days`` without platelet
transfusion), responding (the platelet response of Beyar-Katz or a partial response), no response
(after ``tpo_ra.no_response_weeks``), else titrating (label dose steps). "Increase" and "stop or
taper" therefore never show together, and a response on another lineage is reported without
changing a drug given for platelets. Liver tests due, doses above the maximum and the eltrombopag
choline salt are facts, caveats and strength of the card of the day. The response is tracked in
:mod:`icaht.core.treatment`.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Beyar-Katz et al., Ann Hematol
2022 (seed 002, abstract); Scaldaferri et al., EJHP 2023 (seed 003; ``L<n>``); Baur et al., J
Immunother Cancer 2021 (seed 004; ``L<n>``); eltrombopag and romiplostim labels
(docs/evidence.md section 7).
"""
