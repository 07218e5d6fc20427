"""Real Chromium against a real `streamlit run` on a private demo database."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.server import Server

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_PASSWORD = "qinyuan2022"


@pytest.fixture(scope="session")
def playwright_instance():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian chromium is missing: run `make test` (it installs it)")
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@contextlib.contextmanager
def server_on_copy(demo_template: str, tmp_path_factory, name: str = "e2e"):
    """A fresh streamlit server on its own copy of the demo database."""
    path = str(tmp_path_factory.mktemp(name) / "qinyuan.duckdb")
    shutil.copy(demo_template, path)
    srv = Server(path)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server(demo_template, tmp_path_factory):
    """One server per test module."""
    with server_on_copy(demo_template, tmp_path_factory) as srv:
        yield srv


@pytest.fixture
def phone(browser, playwright_instance):
    context = browser.new_context(**playwright_instance.devices["iPhone 13"])
    yield context.new_page()
    context.close()


@pytest.fixture
def laptop(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


def wait_for_app(page: Page, timeout: float = 30_000) -> None:
    """Wait like Streamlit's own e2e helper (wait_for_app_run): a short initial wait so a rerun the last
    action triggered has begun, then connected, then the script run finished, then nothing loading."""
    page.wait_for_timeout(200)
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout, state="attached")
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    expect(page.locator("[data-testid='stSkeleton']")).to_have_count(0, timeout=timeout)


def watch_reruns(page: Page) -> None:
    """Start noting script runs the page starts on its own (a fragment's run_every): every change of the run
    state is seen by a MutationObserver, so a short run between two polls is not missed."""
    page.evaluate("""() => {
        window.__qyRuns = 0;
        const app = document.querySelector("[data-testid='stApp']");
        new MutationObserver(records => {
            for (const r of records) if (r.oldValue === 'running' || app.getAttribute('data-test-script-state') === 'running') window.__qyRuns++;
        }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true});
    }""")


def wait_for_own_rerun(page: Page, timeout: float = 30_000) -> None:
    """Wait until the page has run its script again on its own since watch_reruns(), then until it is idle."""
    page.wait_for_function("() => window.__qyRuns > 0", timeout=timeout)
    wait_for_app(page, timeout)


def metric(page: Page, label: str):
    """The value of the first metric card whose label contains `label`."""
    return page.locator("[data-testid='stMetric']").filter(has_text=label).first.locator("[data-testid='stMetricValue']")


def login(page: Page, base_url: str, username: str, password: str = DEMO_PASSWORD, path: str = "/", lang: str = "zh") -> None:
    page.goto(f"{base_url}{path}?lang={lang}")
    user_label, pass_label, button = ("用户名", "密码", "登录") if lang == "zh" else ("Username", "Password", "Login")
    page.get_by_label(user_label, exact=True).fill(username)
    page.get_by_label(pass_label, exact=True).fill(password)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_label(user_label)).to_have_count(0, timeout=20_000)
    wait_for_app(page)


def screenshot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
