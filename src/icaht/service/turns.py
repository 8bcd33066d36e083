"""Short CPU-bound requests take turns within a server process.

Python runs one thread at a time (the GIL). When several request threads each load and assess a
patient, they interleave: a thread that returns from a database call waits for the GIL, up to the
interpreter's switch interval (5 ms) at a time, behind threads that are computing, so every
request finishes late. Taking turns (one at a time per process, the others queued) finishes
each in its own few milliseconds. Only short work (one assessment, milliseconds) takes turns:
long work (a replay of a year, the patient list, a FHIR pull) would make the others wait.
"""

from __future__ import annotations

import threading

#: Held while a request loads and assesses one patient and records that it was shown.
assessment_turn = threading.Lock()
