"""Shared fixtures of the browser tests: ``icaht demo`` running as a process on a free loopback
port with a temporary data folder (one per test session), Debian chromium driven by Playwright,
a fresh browser profile per test, screenshots under ``tests/artifacts/`` (gitignored)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from tests.utils.icaht_process import running

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"
STARTUP_SECONDS = 180


class Demo:
    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.username = username
        self.password = password


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("demo-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICAHT_")}
    env["PYTHONUNBUFFERED"] = "1"
    args = ["demo", "--data-dir", str(data)]
    with running(args, env, data / "demo.log", startup_seconds=STARTUP_SECONDS) as server:
        printed = server.output()
        assert f"{server.url}/" in printed, printed
        found = re.search(r"user (\S+)\s+password (\S+)", printed)
        assert found, printed
        yield Demo(server.url, found.group(1), found.group(2))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module: Playwright's sync API runs an event loop in this thread
    while it is open, which must not outlive the browser tests (later tests call asyncio.run)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser-deps (make test does)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, tmp_path: Path) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test."""
    del tmp_path
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    errors: list[str] = []
    opened = context.new_page()
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    opened.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield opened
    # a page refusing bad input answers 422 on purpose; anything else is a fault
    errors = [e for e in errors if "status of 422" not in e]
    assert errors == [], errors  # no script error, no CSP violation, no missing asset


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.url}/signin")
    page.get_by_label("User name").fill(demo.username)
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()


def open_patient(page: Page, demo: Demo, key: str, as_of: int | None = None) -> None:
    query = f"?id={key}" + ("" if as_of is None else f"&as_of={as_of}")
    page.goto(f"{demo.url}/patient{query}")
    page.wait_for_selector("#chart[data-ready=true]", timeout=30_000)
