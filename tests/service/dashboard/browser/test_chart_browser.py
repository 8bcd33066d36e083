"""The patient timeline in a real browser (issue 16, chart): the all-lineage hover box, the
shaded ICAHT/T-ICAHT episodes with their legend entries and dose-step labels that do not
overlap. Screenshots go to ``tests/artifacts/``."""

from __future__ import annotations

from playwright.sync_api import Browser, Page
from tests.service.dashboard.browser.conftest import ARTIFACTS, Demo, open_patient

#: The content width of an A4 page in print.css (see test_worklist_browser.py beside this file).
A4_CONTENT_PX = (703, 1009)
KEY = "baur-2021"  # a seed case: romiplostim titrated weekly, early ICAHT 3, T-ICAHT 4
AS_OF = 180


def _shot_chart(page: Page, name: str) -> None:
    """A screenshot of the chart alone (the page is long)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#chart").screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _hover_day(page: Page, day: int, axis: str) -> str:
    """Move the pointer to ``day`` in the middle of ``axis``'s panel; the hover box's text."""
    point = page.evaluate(
        """([day, axis]) => {
            const gd = document.getElementById('chart');
            gd.scrollIntoView({block: 'start'});
            const box = gd.getBoundingClientRect();
            const x = gd._fullLayout.xaxis, y = gd._fullLayout[axis];
            return [box.left + x._offset + x.d2p(day), box.top + y._offset + y._length / 2];
        }""",
        [day, axis],
    )
    page.mouse.move(point[0], point[1])
    hover = page.locator("#chart .hoverlayer")
    hover.locator("text").first.wait_for(timeout=5_000)
    return hover.text_content() or ""


def test_hovering_a_day_lists_every_lineage(page: Page, demo_server: Demo) -> None:
    open_patient(page, demo_server, KEY, as_of=AS_OF)
    for axis in ("yaxis", "yaxis3", "yaxis5"):  # ANC, Hb and lane panels: the same box
        text = _hover_day(page, 15, axis)
        assert "Counts on day 15" in text
        for lineage in ("ANC 0.08 10^9/L · CTCAE G4", "Platelets", "Hemoglobin", "WBC"):
            assert lineage in text, text
        assert "early ICAHT grade 3" in text
        page.mouse.move(1, 1)
    _hover_day(page, 15, "yaxis")
    _shot_chart(page, "chart-hover")


def test_grade_episodes_are_shaded_and_named_in_the_legend(page: Page, demo_server: Demo) -> None:
    open_patient(page, demo_server, KEY, as_of=AS_OF)
    legend = page.locator("#chart .legend").text_content() or ""
    assert "early ICAHT grade 3: day 2-22, 5-17" in legend
    assert "early T-ICAHT grade 4" in legend
    shaded: int = page.evaluate(
        "document.getElementById('chart')._fullLayout.shapes"
        ".filter(s => s.legendgroup && s.visible).length"
    )
    assert shaded >= 4


def _label_overlaps(page: Page) -> tuple[int, list[tuple[list[float], list[float]]]]:
    """The dose labels drawn (count) and the pairs of them whose boxes overlap."""
    boxes: list[list[float]] = page.evaluate(
        """() => Array.from(document.querySelectorAll('#chart .textpoint text'))
            .filter(t => /ug\\/kg|mg/.test(t.textContent))
            .map(t => { const r = t.getBoundingClientRect();
                        return [r.left, r.top, r.right, r.bottom]; })"""
    )
    overlapping = [
        (a, b)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]
    return len(boxes), overlapping


def test_dose_labels_do_not_overlap(page: Page, demo_server: Demo) -> None:
    open_patient(page, demo_server, KEY, as_of=AS_OF)
    drawn, overlapping = _label_overlaps(page)
    assert drawn >= 9  # the nine romiplostim steps all carry a label
    assert overlapping == []
    _shot_chart(page, "chart-doses")


def test_a_narrower_window_shows_the_narrow_label_set(page: Page, demo_server: Demo) -> None:
    open_patient(page, demo_server, KEY, as_of=AS_OF)
    wide, _ = _label_overlaps(page)
    page.set_viewport_size({"width": 900, "height": 1000})
    for _ in range(50):  # plotly redraws on resize after a short debounce
        drawn, overlapping = _label_overlaps(page)
        if drawn < wide:
            break
        page.wait_for_timeout(100)
    assert 0 < drawn < wide
    assert overlapping == []
    _shot_chart(page, "chart-narrow")


def test_printed_dose_labels_do_not_overlap(browser: Browser, demo_server: Demo) -> None:
    ctx = browser.new_context(viewport={"width": A4_CONTENT_PX[0], "height": A4_CONTENT_PX[1]})
    page = ctx.new_page()
    try:
        page.emulate_media(media="print")
        page.goto(f"{demo_server.url}/patient/print?id={KEY}&as_of={AS_OF}")
        page.wait_for_selector("#chart[data-ready=true]", timeout=30_000)
        drawn, overlapping = _label_overlaps(page)
        assert drawn >= 3
        assert overlapping == []
        _shot_chart(page, "chart-print")
    finally:
        ctx.close()
