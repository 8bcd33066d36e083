"""The rule catalogue: every recommendation rule, validated when icaht starts.

Rules live in modules named for their decision (``decision=``: :mod:`~icaht.core.rules.risk`,
:mod:`~icaht.core.rules.medication`, :mod:`~icaht.core.rules.prophylaxis`,
:mod:`~icaht.core.rules.transfusion`, :mod:`~icaht.core.rules.workup`,
:mod:`~icaht.core.rules.gcsf`, :mod:`~icaht.core.rules.iec_hs`, :mod:`~icaht.core.rules.tpo_ra`,
:mod:`~icaht.core.rules.marrow`, :mod:`~icaht.core.rules.boost_hct`,
:mod:`~icaht.core.rules.alerts`); a big decision is a package with one module per sub-concept.
The catalogue below lists them in display order, the course from baseline to late follow-up: the
engine keeps the first fired rule of an exclusive decision, so the order is recorded in
``tests/core/rules/data/rule_order.txt``. :func:`icaht.core.rule.validate_catalogue` refuses an
unknown setting, citation or input.
"""

from __future__ import annotations

from icaht.core.rule import Rule, validate_catalogue
from icaht.core.rules import alerts, marrow, medication, risk, transfusion
from icaht.core.rules.boost_hct import boost, hct
from icaht.core.rules.gcsf import cards as gcsf
from icaht.core.rules.iec_hs import cards as iec_hs
from icaht.core.rules.prophylaxis import antibacterial_antifungal, antiviral, pjp
from icaht.core.rules.tpo_ra import candidate, liver_review, response, titration
from icaht.core.rules.workup import cytopenia_screen, neutropenic_fever, thrombocytopenia

CATALOGUE: tuple[Rule, ...] = validate_catalogue(
    [
        # baseline
        risk.car_hematotox_risk,
        medication.myelosuppressive_review,
        medication.label_count_limit,
        risk.cytopenia_risk_factors,
        # early phase
        antibacterial_antifungal.antibacterial_antifungal_start,
        antibacterial_antifungal.antibacterial_antifungal_stop,
        antiviral.antiviral_start,
        antiviral.antiviral_stop,
        transfusion.rbc_trigger,
        transfusion.platelet_trigger,
        transfusion.irradiated_products,
        cytopenia_screen.day21_28_screen,
        neutropenic_fever.neutropenic_fever,
        # G-CSF and IEC-HS, one card a day each
        gcsf.avoid_gm_csf,
        gcsf.prophylactic_gcsf,
        gcsf.consider_gcsf,
        gcsf.biphasic_drop,
        gcsf.defer_gcsf_during_crs,
        iec_hs.recorded_iec_hs,
        iec_hs.suspected_iec_hs,
        # prolonged phase
        pjp.pjp_start,
        pjp.pjp_switch_from_tmp_smx,
        pjp.pjp_stop,
        thrombocytopenia.ta_tma,
        thrombocytopenia.ipf_interpretation,
        antibacterial_antifungal.extended_antimicrobial,
        # TPO-RA, one card a day
        candidate.candidate,
        titration.romiplostim_titration,
        titration.eltrombopag_titration,
        liver_review.eltrombopag_alt_rise,
        response.responding,
        response.stop_on_response,
        response.stop_without_response,
        # marrow, then the late phase
        marrow.marrow_biopsy,
        cytopenia_screen.late_cytopenia,
        boost.stem_cell_boost_candidate,
        boost.prior_allo_donor_boost,
        hct.hct_complete_aplasia,
        hct.hct_therapy_related_neoplasm,
        hct.hct_child_bmt_naive,
        alerts.lineage_switch,
        alerts.secondary_malignancy,
        cytopenia_screen.follow_up_car_t_centre,
    ]
)
"""Every rule, in display order."""
