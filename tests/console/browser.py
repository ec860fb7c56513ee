"""Chromium for the console's journeys: Debian's own browser (`/usr/bin/chromium`, which
`.ci/run` installs as root with the CJK fonts), driven by Playwright; never a downloaded
browser. One browser per session with a fresh profile directory; each test gets a new
page with no cookies. Where no Chromium is installed the tests are skipped with that
reason.

Desks reuse these fixtures: `page` (a blank page), `sign_in_page(page, console, name)`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NO_BROWSER = ("Chromium is not installed (/usr/bin/chromium, Debian's package 'chromium'; "
              ".ci/run installs it as root)")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def browser_context() -> Iterator[Any]:
    """One headless Chromium with a fresh profile for the whole session."""
    if not CHROMIUM.exists():
        pytest.skip(NO_BROWSER)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="hatchery-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A new page with no cookies; closed after the test."""
    browser_context.clear_cookies()
    opened = browser_context.new_page()
    opened.set_viewport_size(DESKTOP)
    try:
        yield opened
    finally:
        let_go(opened)


def let_go(page: Any) -> None:
    """Close a page without waiting for Chromium to confirm it.

    Chromium can acknowledge closing a page that is still committing a navigation and then
    never close it, and Playwright's `close()` waits for the close forever (playwright issue
    42366; a CI run hung 600 s in it after a form's submit). The page first finishes what it
    is loading; `run_before_unload=True` then does not wait for the close (the console has no
    beforeunload handlers, so nothing else changes).
    """
    page.wait_for_load_state()
    page.close(run_before_unload=True)


def sign_in_page(page: Any, url: str, name: str, password: str) -> None:
    """Sign in through the form, as a person does."""
    page.goto(url + "/signin")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    with page.expect_navigation():  # signed in (or refused) before the caller goes on
        page.get_by_role("button", name="登录").click()


def action(page: Any, trigger: str) -> Any:
    """The action `trigger` of a record's page, its form unfolded (as a person clicks it)."""
    found = page.locator(f"#action-{trigger}")
    folded = found.locator("details:not([open]) > summary")
    if folded.count():
        folded.click()
    return found
