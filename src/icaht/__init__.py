"""icaht: grading, risk scores and decision support for cytopenias after CAR T-cell therapy.

Decision support only; not a medical device.
"""

__version__ = "0.1.0"

#: Shown by every presenter (dashboard pages and PDF, CDS Hooks cards and FHIR exports, console,
#: CLI help, reports).
NOT_A_MEDICAL_DEVICE = "Decision support only, not a medical device."
#: The same, with the reminder of who decides (console, CLI, reports, PDF).
DISCLAIMER = f"{NOT_A_MEDICAL_DEVICE} Clinical judgement decides."
