"""The clinician dashboard: server-rendered pages at ``/`` (patient list, patient page with the
timeline and the assessment as of any day, data entry and upload, rule catalogue, profile,
printable summary). Decision support only, not a medical device."""

from __future__ import annotations

from icaht.service.dashboard.routes import install

__all__ = ["install"]
