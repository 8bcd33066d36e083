"""The sources icaht implements, keyed for citation by rules, graders and scores.

Keys match the source keys of ``docs/evidence.md`` section 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reference:
    """One published source."""

    key: str
    authors: str
    title: str
    journal: str
    year: int
    doi: str | None = None
    note: str | None = None

    def short(self) -> str:
        """Author-year label for tables and cards."""
        first, _, more = self.authors.partition(",")
        return f"{first.strip()}{' et al.' if more else ''}, {self.journal} {self.year}"


BIBLIOGRAPHY: dict[str, Reference] = {
    ref.key: ref
    for ref in (
        Reference(
            "JAIN",
            "Jain T, Olson TS, Locke FL",
            "How I treat cytopenias after CAR T-cell therapy",
            "Blood",
            2023,
            "10.1182/blood.2022017415",
            "Blood 2023;141(20):2460-2469",
        ),
        Reference(
            "BK",
            "Beyar-Katz O, Perry C, Bar On Y, et al.",
            "Thrombopoietin receptor agonist for treating bone marrow aplasia following "
            "anti-CD19 CAR-T cells: single-center experience",
            "Ann Hematol",
            2022,
            "10.1007/s00277-022-04889-5",
            "Ann Hematol 2022;101(8):1769-1776",
        ),
        Reference(
            "BAUR",
            "Baur R, Jitschin R, Kharboutli S, et al.",
            "Thrombopoietin receptor agonists for acquired thrombocytopenia following "
            "anti-CD19 CAR-T-cell therapy: a case report",
            "J Immunother Cancer",
            2021,
            "10.1136/jitc-2021-002721",
            "J Immunother Cancer 2021;9(7):e002721",
        ),
        Reference(
            "SCAL",
            "Scaldaferri M, Traina S, Cavallo F, et al.",
            "4CPS-152 Persistent cytopenia after CAR-T cells: treatment with eltrombopag: "
            "a case report",
            "Eur J Hosp Pharm",
            2023,
            "10.1136/ejhpharm-2023-eahp.412",
            "Eur J Hosp Pharm 2023;30(Suppl 1):A196",
        ),
        Reference(
            "COR",
            "Corona M, Shouval R, Alarcon A, et al.",
            "Management of prolonged cytopenia following CAR T-cell therapy",
            "Bone Marrow Transplant",
            2022,
            "10.1038/s41409-022-01771-x",
            "Bone Marrow Transplant 2022;57(12):1839-1841",
        ),
        Reference(
            "ICAHT",
            "Rejeski K, Subklewe M, Aljurf M, et al.",
            "Immune effector cell-associated hematotoxicity: EHA/EBMT consensus grading and "
            "best practice recommendations",
            "Blood",
            2023,
            "10.1182/blood.2023020578",
            "Blood 2023;142(10):865-877",
        ),
        Reference(
            "LIANG-ICAHT",
            "Liang EC",
            "Automated approach to grade early and late ICAHT by EHA/EBMT criteria",
            "GitHub emilyliangmd/automatedicahtgrading",
            2023,
            None,
            "Published automated grading method (index.Rmd, Manual Code.R)",
        ),
        Reference(
            "T-ICAHT",
            "Rejeski K, et al.",
            "Thrombocytopenia ICAHT (T-ICAHT) grading in 744 patients with B-NHL",
            "Blood",
            2025,
            None,
            "Table 1 (T-ICAHT grading) and its footnotes",
        ),
        Reference(
            "HT",
            "Rejeski K, Perez A, Sesques P, et al.",
            "CAR-HEMATOTOX: a model for CAR T-cell-related hematologic toxicity in "
            "relapsed/refractory large B-cell lymphoma",
            "Blood",
            2021,
            "10.1182/blood.2020010543",
            "Blood 2021;138(24):2499-2513",
        ),
        Reference(
            "PENNISI",
            "Pennisi M, Sanchez-Escamilla M, Flynn JR, et al.",
            "Modified EASIX predicts severe cytokine release syndrome and neurotoxicity after "
            "chimeric antigen receptor T cells",
            "Blood Adv",
            2021,
            "10.1182/bloodadvances.2021004575",
            "Blood Adv 2021;5(17):3397-3406",
        ),
        Reference(
            "FARDET",
            "Fardet L, Galicier L, Lambotte O, et al.",
            "Development and validation of the HScore, a score for the diagnosis of reactive "
            "hemophagocytic syndrome",
            "Arthritis Rheumatol",
            2014,
            "10.1002/art.38690",
            "Arthritis Rheumatol 2014;66(9):2613-2620",
        ),
        Reference(
            "CTCAE",
            "National Cancer Institute",
            "Common Terminology Criteria for Adverse Events (CTCAE) v5.0",
            "NCI",
            2017,
            None,
            "Published 27 November 2017",
        ),
        Reference(
            "LEE",
            "Lee DW, Santomasso BD, Locke FL, et al.",
            "ASTCT consensus grading for cytokine release syndrome and neurologic toxicity "
            "associated with immune effector cells",
            "Biol Blood Marrow Transplant",
            2019,
            "10.1016/j.bbmt.2018.12.758",
            "Biol Blood Marrow Transplant 2019;25(4):625-638",
        ),
        Reference(
            "HINES",
            "Hines MR, Knight TE, McNerney KO, et al.",
            "Immune effector cell-associated hemophagocytic lymphohistiocytosis-like syndrome",
            "Transplant Cell Ther",
            2023,
            "10.1016/j.jtct.2023.03.006",
            "Transplant Cell Ther 2023;29(7):438.e1-438.e16",
        ),
        Reference(
            "HLH-2004",
            "Henter JI, Horne A, Arico M, et al.",
            "HLH-2004: diagnostic and therapeutic guidelines for hemophagocytic "
            "lymphohistiocytosis",
            "Pediatr Blood Cancer",
            2007,
            "10.1002/pbc.21039",
            "Pediatr Blood Cancer 2007;48(2):124-131",
        ),
        Reference(
            "LABEL-ELTROMBOPAG",
            "Novartis",
            "Eltrombopag (Promacta/Revolade) prescribing information; eltrombopag choline "
            "(Alvaiz) prescribing information",
            "Eltrombopag prescribing information",
            2023,
            None,
            "Read through label-derived monographs (docs/evidence.md section 7)",
        ),
        Reference(
            "LABEL-ROMIPLOSTIM",
            "Amgen",
            "Romiplostim (Nplate) US prescribing information and EU summary of product "
            "characteristics",
            "Romiplostim prescribing information",
            2022,
            None,
            "Read through label copies (docs/evidence.md section 7)",
        ),
        Reference(
            "LABEL-GANCICLOVIR",
            "Roche",
            "Ganciclovir (Cytovene) and valganciclovir (Valcyte) prescribing information",
            "Ganciclovir/valganciclovir prescribing information",
            2021,
            None,
            "Hematologic limits as summarised by Medscape (docs/evidence.md section 7)",
        ),
        Reference(
            "LABEL-MYCOPHENOLATE",
            "Roche",
            "Mycophenolate mofetil (CellCept) prescribing information",
            "Mycophenolate prescribing information",
            2022,
            None,
            "Neutropenia section (docs/evidence.md section 7)",
        ),
        Reference(
            "GERSON-LINEZOLID",
            "Gerson SL, Kaplan SL, Bruss JB, et al.",
            "Hematologic effects of linezolid: summary of clinical experience",
            "Antimicrob Agents Chemother",
            2002,
            "10.1128/AAC.46.8.2723-2726.2002",
            "Antimicrob Agents Chemother 2002;46(8):2723-2726",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Citation:
    """A reference and where in it: section, table, figure or seed line (e.g. ``"L39"``)."""

    key: str
    where: str

    def label(self) -> str:
        """Author-year label with the locator, for tables and cards."""
        return f"{cite(self.key).short()}, {self.where}"


def cite(key: str) -> Reference:
    """Return the reference for ``key``; an unknown key is a programming error."""
    try:
        return BIBLIOGRAPHY[key]
    except KeyError:
        raise KeyError(f"unknown citation key {key!r}; known: {sorted(BIBLIOGRAPHY)}") from None
