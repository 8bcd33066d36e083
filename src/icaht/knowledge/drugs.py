"""Drug classes icaht recognises in medication events (ingredient names, lower case).

Class membership from clinical-reference.md section 7 (drug facts) and the seeds: G-CSF
(filgrastim and its long-acting and biosimilar forms), GM-CSF (to be avoided, JAIN), the
thrombopoietin-receptor agonists (eltrombopag, romiplostim; JAIN, BK, BAUR, SCAL) and
erythropoiesis-stimulating agents (SCAL: EPO).
"""

from __future__ import annotations

GCSF: frozenset[str] = frozenset(
    {"filgrastim", "pegfilgrastim", "lenograstim", "tbo-filgrastim", "eflapegrastim", "g-csf"}
)
GM_CSF: frozenset[str] = frozenset({"sargramostim", "molgramostim", "gm-csf"})
TPO_RA: frozenset[str] = frozenset({"eltrombopag", "romiplostim", "avatrombopag"})
ESA: frozenset[str] = frozenset(
    {"erythropoietin", "epoetin alfa", "epoetin beta", "epoetin zeta", "darbepoetin alfa", "epo"}
)
