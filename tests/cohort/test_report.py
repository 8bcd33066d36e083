"""``icaht cohort report``: one self-contained HTML file plus every table as CSV."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import plotly.offline
import pytest
from typer.testing import CliRunner

from icaht import NOT_A_MEDICAL_DEVICE
from icaht.cli.cohort import cohort_app
from icaht.cohort import descriptive, recovery, results_contract, strata, tpo_ra_table
from icaht.cohort.report import read_results, write_report
from icaht.errors import IcahtError, InputError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MARKUP_PRODUCT = '<script>alert("x")</script><b>evil-cel</b>'
MARKUP_DIAGNOSIS = "DLBCL <img src=x onerror=alert(1)>"
SECTION_IDS = (
    "cohort",
    "cytopenia",
    "icaht",
    "phenotype",
    "recovery",
    "cumulative-incidence",
    "tpo-ra",
    "completeness",
    "methods",
)


def _row(i: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(results_contract.REQUIRED_COLUMNS)
    row.update(patient_id=f"P{i}", as_of_day=365, follow_up_end_day=180, anc_nadir=0.1)
    row.update(values)
    return row


def _write_results(path: Path) -> Path:
    rows = [
        _row(1, product="axi-cel", age_years=60.0, anc_recovery_day=12, early_icaht=2),
        _row(2, product="axi-cel", age_years=70.0, anc_recovery_day=25, early_icaht=3),
        _row(3, product=MARKUP_PRODUCT, diagnosis=MARKUP_DIAGNOSIS, death_day=20),
        _row(
            4,
            product="tisa-cel",
            car_hematotox_risk="high",
            crs_max_grade=3,
            platelet_nadir=8.0,
            platelet_recovery_day=70,
            tpo_ra_drugs="eltrombopag",
            tpo_ra_start_day=43,
            tpo_ra_response=True,
            tpo_ra_days_to_platelets=27,
            ctcae_platelets_early=4,
        ),
    ]
    frame = pd.DataFrame(rows)
    for column in (
        *results_contract.DAY_COLUMNS,
        *results_contract.DURATION_COLUMNS,
        *results_contract.GRADE_RANGES,
    ):
        frame[column] = frame[column].astype("Int64")
    for column in results_contract.BOOL_COLUMNS:
        frame[column] = frame[column].astype("boolean")
    frame.to_parquet(path)
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("report")
    results = _write_results(folder / "results.parquet")
    (folder / "errors.csv").write_text(
        "patient_id,source,row,field,value,message\nP9,patients.csv,9,age_years,-3,negative\n",
        encoding="utf-8",
    )
    report = write_report(results, folder / "report.html", generated="2024-01-01 00:00 UTC")
    assert report.n_patients == 4
    return folder, (folder / "report.html").read_text(encoding="utf-8")


def test_report_is_self_contained(written: tuple[Path, str]) -> None:
    _, html = written
    assert "<link" not in html  # no external stylesheet
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" not in tag, tag  # every script inline
    # the markup outside scripts loads nothing from a network (plotly.js's own code mentions
    # its web site in strings; the browser test below renders the page with the network cut)
    markup = re.sub(r"(?s)<script\b[^>]*>.*?</script>", "<script></script>", html)
    urls = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", markup)
    assert urls  # the CSV links are found
    for url in urls:
        assert not re.match(r"(?i)(https?:)?//", url), url
    assert "Plotly.newPlot" in html  # the figures, drawn by the plotly.js inlined above them
    assert html.count(plotly.offline.get_plotlyjs()[:2000]) == 1  # plotly.js inlined, once


def test_report_has_every_section(written: tuple[Path, str]) -> None:
    _, html = written
    for section in SECTION_IDS:
        assert f'<section id="{section}">' in html
    for heading in (
        "Incidence of cytopenia by lineage, phase and CTCAE grade",
        "ICAHT and T-ICAHT grades",
        "Neutrophil recovery phenotype",
        "Days to neutrophil and platelet recovery",
        "Cumulative incidence of recovery (competing risks)",
        "Thrombopoietin receptor agonists (TPO-RA)",
    ):
        assert heading in html
    assert "Decision support only" in html
    assert "Aalen" in html
    assert "Beyar-Katz" in html
    # one figure per lineage and stratification, plus the ICAHT bars
    assert html.count("Plotly.newPlot") == 2 * len(strata.STRATIFICATIONS) + 1


def test_report_escapes_text_from_the_data(written: tuple[Path, str]) -> None:
    _, html = written
    assert MARKUP_PRODUCT not in html
    assert "<b>evil-cel</b>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # shown as typed
    assert "DLBCL &lt;img src=x onerror=alert(1)&gt;" in html


def test_report_names_rejected_patients(written: tuple[Path, str]) -> None:
    _, html = written
    assert "1 patient(s) were rejected" in html
    assert "errors.csv" in html


def test_every_table_is_also_csv(written: tuple[Path, str]) -> None:
    folder, html = written
    tables = folder / "report_tables"
    expected = {
        "cohort",
        "cytopenia_incidence",
        "icaht_grades",
        "phenotypes",
        "recovery_days",
        "cumulative_incidence",
        "cumulative_incidence_curves",
        "tpo_ra",
        "data_completeness",
    }
    assert {p.stem for p in tables.glob("*.csv")} == expected
    for name in expected:
        assert f'href="report_tables/{name}.csv"' in html
    # the CSV holds the statistics the functions compute
    df = read_results(folder / "results.parquet")
    assert pd.read_csv(tables / "cohort.csv").equals(
        pd.read_csv(
            pd.io.common.StringIO(descriptive.cohort_characteristics(df).to_csv(index=False))
        )
    )
    tpo = pd.read_csv(tables / "tpo_ra.csv")
    treated = tpo[tpo["item"] == "Treated with a TPO-RA"].iloc[0]
    assert (treated["n"], treated["denominator"]) == (1, 4)
    ci = pd.read_csv(tables / "cumulative_incidence.csv")
    assert set(ci["day"]) == set(recovery.CUMULATIVE_INCIDENCE_DAYS)
    assert not list(folder.glob("*.partial"))


def test_bad_results_write_nothing(tmp_path: Path) -> None:
    frame = pd.DataFrame([_row(1, early_icaht=9)])
    frame.to_parquet(tmp_path / "results.parquet")
    with pytest.raises(InputError) as caught:
        write_report(tmp_path / "results.parquet", tmp_path / "report.html")
    problem = caught.value.problems[0]
    assert (problem.row, problem.field, problem.value) == (1, "early_icaht", 9)
    assert "results.parquet" in problem.source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.parquet"]


def test_rewrite_replaces_the_tables(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "results.parquet")
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "stale.csv").write_text("old\n", encoding="utf-8")
    write_report(results, tmp_path / "out" / "r.html", tables_dir=tables)
    assert not (tables / "stale.csv").exists()
    assert (tables / "tpo_ra.csv").is_file()
    html = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    assert 'href="../tables/tpo_ra.csv"' in html


def test_an_interrupted_write_leaves_no_half_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk error while the tables are written: no new report appears and a report written
    before is left whole (HTML and tables), with no ``.partial`` left behind."""
    results = _write_results(tmp_path / "results.parquet")
    to_csv = pd.DataFrame.to_csv
    written: list[object] = []

    def failing_to_csv(frame: pd.DataFrame, path: object, **kwargs: object) -> None:
        if len(written) == 2:
            raise OSError("No space left on device")
        written.append(path)
        to_csv(frame, path, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_to_csv)
    with pytest.raises(IcahtError, match="cannot write the report"):
        write_report(results, tmp_path / "new.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.parquet"]

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    write_report(results, tmp_path / "old.html", title="old")
    before = sorted(p.name for p in (tmp_path / "old_tables").iterdir())
    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_to_csv)
    written.clear()
    with pytest.raises(IcahtError):
        write_report(results, tmp_path / "old.html", title="new")
    assert "<title>old</title>" in (tmp_path / "old.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "old_tables").iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "old.html",
        "old_tables",
        "results.parquet",
    ]


def test_cli_report(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "results.parquet")
    runner = CliRunner()
    done = runner.invoke(
        cohort_app, ["report", str(results), "--out", str(tmp_path / "r.html"), "--title", "T1"]
    )
    assert done.exit_code == 0, done.output
    assert "4 patient(s)" in done.output
    assert "<title>T1</title>" in (tmp_path / "r.html").read_text(encoding="utf-8")
    missing = runner.invoke(cohort_app, ["report", str(tmp_path / "no.parquet"), "--out", "x.html"])
    assert missing.exit_code == 2
    assert "results file not found" in missing.output


@pytest.mark.parametrize("command", [[], ["assess"], ["report"]])
def test_cohort_help_says_not_a_medical_device(command: list[str]) -> None:
    shown = CliRunner().invoke(cohort_app, [*command, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert NOT_A_MEDICAL_DEVICE in shown.output


def test_end_to_end_from_assessed_examples(tmp_path: Path) -> None:
    """The published cases (examples/*.json) assessed by the cohort engine, then reported."""
    from icaht.cohort.local import run_local  # noqa: PLC0415 - only this test needs the engine

    records = tmp_path / "records"
    records.mkdir()
    for example in sorted(EXAMPLES.glob("*.json")):
        shutil.copy(example, records / example.name)
    summary = run_local(records, tmp_path / "results.parquet", workers=1)
    assert summary.complete
    written = write_report(tmp_path / "results.parquet", tmp_path / "report.html")
    n_examples = len(list(EXAMPLES.glob("*.json")))
    assert written.n_patients == n_examples
    cohort = pd.read_csv(tmp_path / "report_tables" / "cohort.csv")
    assert cohort.loc[cohort["characteristic"] == "Patients", "n"].item() == n_examples
    tpo = pd.read_csv(tmp_path / "report_tables" / "tpo_ra.csv")
    treated = tpo[tpo["item"] == "Treated with a TPO-RA"].iloc[0]
    # the TPO-RA case reports (BAUR romiplostim, SCAL eltrombopag) and Jain case 1 (eltrombopag)
    # are among the treated
    assert treated["n"] >= 3
    ci = pd.read_csv(tmp_path / "report_tables" / "cumulative_incidence.csv")
    everyone = ci[(ci["stratification"] == "All patients") & (ci["day"] == 365)]
    assert len(everyone) == 2  # neutrophils and platelets
    assert (everyone["n"] + everyone["n_excluded"] == n_examples).all()


def test_plots_render_offline_in_a_browser(written: tuple[Path, str], tmp_path: Path) -> None:
    folder, _ = written
    command = [
        "/usr/bin/chromium",  # installed by scripts/browser-deps (make test); never skipped
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--proxy-server=127.0.0.1:9",  # no network: everything must come from the file
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        (folder / "report.html").as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=180, check=True).stdout
    drawn = len(re.findall(r'<svg class="main-svg"', dom))
    # plotly draws each figure as layered SVGs: every figure must have been drawn
    assert drawn >= 2 * len(strata.STRATIFICATIONS) + 1


def test_csv_results_give_the_same_statistics(tmp_path: Path) -> None:
    parquet = _write_results(tmp_path / "results.parquet")
    csv = tmp_path / "results.csv"
    pd.read_parquet(parquet).to_csv(csv, index=False)
    from_parquet, from_csv = read_results(parquet), read_results(csv)
    for statistic in (
        descriptive.cohort_characteristics,
        tpo_ra_table.tpo_ra_table,
        recovery.recovery_times,
    ):
        pd.testing.assert_frame_equal(statistic(from_csv), statistic(from_parquet))
