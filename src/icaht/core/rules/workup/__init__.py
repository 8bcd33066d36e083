"""The work-up decision (``workup``), one module per question: is there a cytopenia to work up
(the day 21-28 screen, the late work-up, follow-up at the CAR-T centre), the infection work-up of
neutropenic fever, and the causes of a thrombocytopenia (TA-TMA, IPF). The marrow is its own
decision (:mod:`icaht.core.rules.marrow`).
"""
