"""The dashboard in a real browser: Debian chromium driven by Playwright against ``icaht demo``
running as a process (fixtures in ``conftest.py``).

Screenshots of the key pages go to ``tests/artifacts/`` for review. The tests never skip: a
missing browser fails with the command that installs it (``scripts/browser-deps``, run by
``make test``)."""

from __future__ import annotations

import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from tests.service.dashboard.browser.conftest import Demo, open_patient, shot, sign_in


def rules(page: Page) -> set[str]:
    """The rules shown: cards, and the fired rules of the standing-care checklist items."""
    found: list[str] = page.eval_on_selector_all(
        "article.rec", "els => els.map(e => e.dataset.rule)"
    )
    items: list[str] = page.eval_on_selector_all(
        "li.item", "els => els.map(e => e.dataset.itemRules)"
    )
    return set(found) | {rule for rules in items for rule in rules.split()}


def test_sign_in_and_patient_list(page: Page, demo_server: Demo) -> None:
    sign_in(page, demo_server)
    expect(page.get_by_text("Demo mode").first).to_be_visible()
    expect(page.get_by_text("Decision support only, not a medical device").first).to_be_visible()
    rows = page.locator("#patient-table tbody tr")
    assert rows.count() >= 5
    expect(page.get_by_role("link", name="jain-2023-case2")).to_be_visible()
    shot(page, "patient-list")
    page.get_by_label("On a TPO-RA").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="scaldaferri-2023")).to_be_visible()
    expect(page.get_by_role("link", name="jain-2023-case2")).to_have_count(0)


def test_seed_case_chart_and_as_of_day_20(page: Page, demo_server: Demo) -> None:
    sign_in(page, demo_server)
    page.get_by_role("link", name="jain-2023-case1").click()
    page.wait_for_selector("#chart[data-ready=true]", timeout=30_000)
    names = page.evaluate("document.getElementById('chart').data.map(t => t.name)")
    assert {"ANC", "Platelets", "Hb", "CRS grade", "ICANS grade", "Platelet transfusion"} <= set(
        names
    )
    assert page.locator("#chart .scatterlayer .trace").count() >= 3  # drawn, not just data
    latest = rules(page)
    shot(page, "patient-latest")
    page.get_by_label("Assessment as of day").fill("20")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#chart[data-ready=true]", timeout=30_000)
    assert "as_of=20" in page.url
    early = rules(page)
    assert "risk.car-hematotox" in early  # an early (baseline risk) recommendation
    assert "risk.car-hematotox" not in latest
    expect(page.get_by_role("heading", name="Recommendations as of day 20")).to_be_visible()
    shot(page, "patient-day20")


def test_adding_a_lab_value_changes_a_recommendation(page: Page, demo_server: Demo) -> None:
    open_patient(page, demo_server, "jain-2023-case1")  # demo mode signs the demo user in
    before = rules(page)
    assert "transfusion.rbc-trigger" not in before
    form = page.locator("#lab-form")
    day = page.get_by_label("Assessment as of day").input_value()
    form.get_by_label("Day after infusion").fill(day)
    form.get_by_label("Analyte").select_option("hb")
    form.get_by_label("Value").fill("6.5")
    form.get_by_label("Unit").select_option("g/dL")
    form.get_by_role("button", name="Add value").click()
    expect(page.get_by_text("Laboratory value added")).to_be_visible()
    page.wait_for_selector("#chart[data-ready=true]", timeout=30_000)
    after = rules(page)
    assert "transfusion.rbc-trigger" in after
    expect(page.locator('article[data-rule="transfusion.rbc-trigger"]')).to_be_visible()
    shot(page, "patient-lab-added")


def test_upload_with_one_bad_row_saves_nothing(
    page: Page, demo_server: Demo, tmp_path: Path
) -> None:
    sign_in(page, demo_server)
    api = f"{demo_server.url}/api/v1/patients/baur-2021/observations"
    before = len(page.request.get(api).json())
    upload = tmp_path / "labs.csv"
    upload.write_text(
        "day,analyte,value,unit\n181,anc,1.1,10^9/L\n181,platelets,-4,10^9/L\n182,hb,9,g/dL\n",
        encoding="utf-8",
    )
    page.goto(f"{demo_server.url}/upload?id=baur-2021")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Preview").click()
    problems = page.locator("#upload-problems")
    expect(problems).to_contain_text("nothing was saved")
    expect(problems).to_contain_text("row 3")
    expect(problems).to_contain_text("negative value")
    expect(page.locator("#preview-table .row-error")).to_have_count(1)
    expect(page.locator("#confirm-import")).to_have_count(0)
    shot(page, "upload-error")
    assert len(page.request.get(api).json()) == before


def test_print_view(page: Page, demo_server: Demo) -> None:
    sign_in(page, demo_server)
    open_patient(page, demo_server, "scaldaferri-2023", as_of=200)
    page.get_by_role("link", name="Printable summary").click()
    page.wait_for_selector("#chart[data-ready=true]", timeout=30_000)
    expect(page.get_by_role("heading", name="Cytopenia summary: scaldaferri-2023")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".print-bar")).to_be_hidden()
    expect(page.get_by_text("Decision support only, not a medical device").first).to_be_visible()
    shot(page, "print-view")
    pdf = page.request.get(f"{demo_server.url}/patient/summary.pdf?id=scaldaferri-2023&as_of=200")
    assert pdf.status == 200
    assert pdf.body().startswith(b"%PDF")


def _accessibility_violations(page: Page) -> list[str]:
    """axe-core (WCAG 2 A/AA and best-practice rules) on the page as it is: each violation as
    'rule (impact): first element'."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}" for v in found]


def test_every_page_passes_an_accessibility_audit(page: Page, demo_server: Demo) -> None:
    """Landmarks, labels, names, contrast, nesting: no axe-core violation on any page, including
    a form shown again with its errors."""
    page.goto(f"{demo_server.url}/signin")
    pages: dict[str, list[str]] = {"/signin": _accessibility_violations(page)}
    sign_in(page, demo_server)
    key = "jain-2023-case1"
    for path in (
        "/patients",
        "/patients?phase=prolonged&severe=1",
        f"/patient?id={key}",
        f"/patient/labs?id={key}&history=true",
        f"/patient/flowsheet?id={key}",
        "/upload",
        "/rules",
        "/profile",
        f"/patient/print?id={key}",
    ):
        page.goto(demo_server.url + path)
        if "chart" in page.content():
            page.wait_for_selector("#chart[data-ready=true]", timeout=30_000)
        pages[path] = _accessibility_violations(page)
    page.goto(f"{demo_server.url}/patient/labs?id={key}")
    page.get_by_role("link", name=re.compile("^Correct")).first.click()
    page.get_by_label("Value").fill("not a number")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator("#fix-value-err")).to_be_visible()  # shown again with its errors
    pages["correction form with errors"] = _accessibility_violations(page)
    assert {path: found for path, found in pages.items() if found} == {}
