"""icaht: grading, risk scores and decision support for cytopenias after CAR T-cell therapy.

Decision support only; not a medical device.
"""

__version__ = "0.1.0"

#: Shown by every presenter (console, CLI help, reports).
DISCLAIMER = "Decision support only - not a medical device. Clinical judgement decides."
