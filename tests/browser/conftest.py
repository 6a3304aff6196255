"""Fixtures of the browser tests: one headless Chromium per test process, reused by every test
(an xdist worker starts its own), and a sandbox holding a small rehearsal to look at.

Without Chromium and ChromeDriver the tests are skipped with the reason in pytest's summary,
except under ``CI=true``, where they fail: CI installs the browser (``make browser``) and a
missing one must not pass unseen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import MISSING, browser_paths, console_errors, start_chromium
from selenium import webdriver

#: the zone the browser runs in: UTC+05:30, so a time shown in it cannot be mistaken for UTC
BROWSER_TIME_ZONE = "Asia/Kolkata"


def needs_browser() -> None:
    """Skip (fail under ``CI=true``) when the browser is missing."""
    if browser_paths() is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{MISSING}; under CI=true the browser tests must run", pytrace=False)
    pytest.skip(f"browser tests skipped: {MISSING}")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """The test process's Chromium (headless, in :data:`BROWSER_TIME_ZONE`)."""
    needs_browser()
    chrome = start_chromium(tmp_path_factory.mktemp("chromium"), time_zone=BROWSER_TIME_ZONE)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def page(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The browser, its console emptied before the test and checked after it: a test that
    leaves a console error fails."""
    console_errors(browser)
    yield browser
    assert [] == console_errors(browser)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here starts servers on loopback."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
