"""Drug classes icaht recognises in medication events (ingredient names, lower case).

Class membership from docs/evidence.md section 7 (drug facts) and the seeds: G-CSF
(filgrastim and its long-acting and biosimilar forms), GM-CSF (to be avoided, JAIN), the
thrombopoietin-receptor agonists (eltrombopag, romiplostim; JAIN, BK, BAUR, SCAL) and
erythropoiesis-stimulating agents (SCAL: EPO).
"""

from __future__ import annotations

GCSF: frozenset[str] = frozenset(
    {"filgrastim", "pegfilgrastim", "lenograstim", "tbo-filgrastim", "eflapegrastim", "g-csf"}
)
#: Pegylated (long-acting) G-CSF, given once per cycle per the labels: a running segment counts
#: as G-CSF running whatever its recorded frequency.
LONG_ACTING_GCSF: frozenset[str] = frozenset({"pegfilgrastim", "eflapegrastim"})
GM_CSF: frozenset[str] = frozenset({"sargramostim", "molgramostim", "gm-csf"})
TPO_RA: frozenset[str] = frozenset({"eltrombopag", "romiplostim", "avatrombopag"})
ESA: frozenset[str] = frozenset(
    {"erythropoietin", "epoetin alfa", "epoetin beta", "epoetin zeta", "darbepoetin alfa", "epo"}
)

# Anti-infective prophylaxis (JAIN L37/L61; ICAHT Table 3; the institutional table of
# docs/evidence.md 3.3 for the agents named there).
ANTIBACTERIAL_PROPHYLAXIS: frozenset[str] = frozenset({"levofloxacin", "ciprofloxacin"})
ANTIFUNGAL_PROPHYLAXIS: frozenset[str] = frozenset(
    {"fluconazole", "micafungin", "posaconazole", "voriconazole", "isavuconazole"}
)
MOLD_ACTIVE_AZOLES: frozenset[str] = frozenset({"posaconazole", "voriconazole", "isavuconazole"})
ANTIVIRAL_PROPHYLAXIS: frozenset[str] = frozenset({"aciclovir", "acyclovir", "valaciclovir"})
TMP_SMX: frozenset[str] = frozenset(
    {"sulfamethoxazole-trimethoprim", "trimethoprim-sulfamethoxazole", "co-trimoxazole", "tmp-smx"}
)
PJP_ALTERNATIVES: frozenset[str] = frozenset({"pentamidine", "atovaquone", "dapsone"})
PJP_PROPHYLAXIS: frozenset[str] = TMP_SMX | PJP_ALTERNATIVES

# Myelosuppressive drugs to review after CAR-T (JAIN L35, L75; BAUR; labels, reference 7).
GANCICLOVIR: frozenset[str] = frozenset({"ganciclovir", "valganciclovir"})
LINEZOLID: frozenset[str] = frozenset({"linezolid"})
MYCOPHENOLATE: frozenset[str] = frozenset(
    {"mycophenolate", "mycophenolate mofetil", "mycophenolate sodium", "mycophenolic acid"}
)
LENALIDOMIDE: frozenset[str] = frozenset({"lenalidomide"})
MYELOSUPPRESSIVE: frozenset[str] = TMP_SMX | GANCICLOVIR | LINEZOLID | MYCOPHENOLATE | LENALIDOMIDE

# Lymphodepletion (JAIN; the product labels): the first dose before the infusion is the LD start.
LYMPHODEPLETION: frozenset[str] = frozenset({"fludarabine", "cyclophosphamide"})

# The CAR-T products (ingredient names, as their labels and RxNorm spell them): a record of their
# administration is the infusion (day 0), not a medication segment.
CAR_T_PRODUCTS: frozenset[str] = frozenset(
    {
        "tisagenlecleucel",
        "axicabtagene ciloleucel",
        "brexucabtagene autoleucel",
        "lisocabtagene maraleucel",
        "idecabtagene vicleucel",
        "ciltacabtagene autoleucel",
        "obecabtagene autoleucel",
    }
)
