"""Short CPU-bound requests take turns within a server process.

Python runs one thread at a time (the GIL). When several request threads each load and assess a
patient, they interleave: a thread that returns from a database call waits for the GIL, up to the
interpreter's switch interval (5 ms) at a time, behind threads that are computing, so every
request finishes late. Taking turns (one at a time per process, the others queued) finishes
each in its own few milliseconds. Only short work takes turns: one assessment through the API,
or one CDS Hooks call's prefetch mapped and assessed (its missing resources are fetched from the
FHIR server before its turn). Long work (a replay of a year, the patient list, a FHIR pull) would
make the others wait. CDS Hooks calls run on the event loop (``service.cds_hooks``), so they
already come one at a time; their turn keeps them apart from the API's assessments in threads.
"""

from __future__ import annotations

import threading

#: Held while a request loads or maps one patient, assesses it and records that it was shown.
assessment_turn = threading.Lock()
