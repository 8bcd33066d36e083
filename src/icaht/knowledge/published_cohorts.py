"""Published results of reference cohorts, as data, shown beside a cohort's own statistics.

Each value is as printed in the source (key of ``icaht.knowledge.bibliography``), never computed.
"""

from __future__ import annotations

from typing import Final

#: Beyar-Katz, Ann Hematol 2022 (BK), abstract: the TPO-RA cohort, shown beside the cohort's
#: TPO-RA table (:mod:`icaht.cohort.tpo_ra_table`)
BK_PUBLISHED: Final = {
    "cohort": "93 eligible",
    "treated": "6/93 (6.5%)",
    "start_day": "43 (21-55)",
    "agent:eltrombopag": "4",
    "agent:romiplostim": "1",
    "agent:eltrombopag + romiplostim": "1",
    "gcsf": "6/6 (daily G-CSF before TPO-RA)",
    "transfusion_dependent": "6/6 before TPO-RA",
    "response": "6/6",
    "days_to_hemoglobin": "22 (8-124)",
    "days_to_platelets": "27 (6-38)",
    "days_to_neutrophils": "29 (7-61)",
    "complete_resolution": "5/6",
}
