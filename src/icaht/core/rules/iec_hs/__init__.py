"""IEC-HS (immune effector cell-associated HLH-like syndrome): suspicion, never diagnosis.

One decision (``iec-hs``), one card at a time (docs/decisions.md, IEC-HS):

* ``iec-hs.recorded``: a recorded IEC-HS/HLH/MAS diagnosis (event kind ``iec_hs``) shows as
  "IEC-HS recorded (day N)" with its status, never as a suspicion. An excluded, resolved or ended
  diagnosis shows only when new facts after it match a suspicion pattern again.
* ``iec-hs.suspected``, three patterns, each within the last ``iechs.lookback_days``:

  - **classic (JAIN L47)**: a CRS episode that has resolved (none active), then, after the CRS
    end, the ferritin criterion, new fever and new or worsening severe cytopenia;
  - **any CRS state (HINES)**: the ferritin criterion, new severe cytopenia and at least one
    supporting finding, whether or not CRS is active (an active CRS is named as a caveat);
  - **counts missing**: a ferritin at or above ``iechs.ferritin_ng_ml`` with new fever (outside
    active CRS) or a supporting finding, when ANC or platelets have no value in the window and no
    count shows new cytopenia (the missing counts are named); without fever or a supporting
    finding the rule cannot be evaluated.

The ferritin criterion: a value >= ``iechs.ferritin_ng_ml``, or a rapid rise (the latest value
>= ``iechs.rise_fold`` x the lowest of the last ``iechs.rise_window_days`` days) that reaches at
least ``iechs.rise_min_fraction`` of the ferritin setting (project default: 400 -> 900 never
counts). New severe cytopenia: an ANC <= 0.5 or platelets < 20 x10^9/L whose previous value was
outside that band, or an ANC falling to <= 0.1 from above it (worsening).

Supporting findings (JAIN L47, L53; HLH-2004): AST or ALT above the laboratory's ULN (without a
ULN: higher than an earlier value in the window), triglycerides > 265 mg/dL, fibrinogen < 150
mg/dL, splenomegaly recorded after infusion, hemophagocytosis on the marrow on file
(``marrow.valid_days``). The HScore (Fardet) is shown as supporting information.

A documented active infection is named first ("sepsis produces the same picture"): the card then
asks to evaluate IEC-HS once the infection is treated or excluded and offers no anakinra or
steroids. When a resolved CRS is followed by new fever and new severe cytopenia but no ferritin was
measured, the rule cannot be evaluated and names ferritin.
"""
