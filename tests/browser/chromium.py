"""Debian's headless Chromium driven by Selenium, for tests/browser and scripts/screenshots.py.

Chromium and ChromeDriver come from the distribution (``make browser``: packages ``chromium``
and ``chromium-driver``, the same version); nothing is downloaded (the driver's path is given,
so Selenium Manager stays idle). The flags keep Chromium off the network: no background
requests, no component updates, no sync, a fresh profile each start.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--window-size=1280,900",
)
#: what to do when the browser is missing
MISSING = (
    "Chromium and ChromeDriver are not installed: `make browser` (as root) installs Debian's"
    " chromium and chromium-driver"
)


def browser_paths() -> tuple[str, str] | None:
    """The Chromium and ChromeDriver executables (``CHROMIUM``, ``CHROMEDRIVER`` or the PATH),
    or None when either is missing."""
    chromium = shutil.which(os.environ.get("CHROMIUM") or "chromium")
    driver = shutil.which(os.environ.get("CHROMEDRIVER") or "chromedriver")
    if not chromium or not driver:
        return None
    return chromium, driver


def start_chromium(profile: Path, *, time_zone: str = "UTC", **size: Any) -> webdriver.Chrome:
    """A headless Chromium with a new profile in ``profile``, in ``time_zone``, its console
    kept for :func:`console_errors`."""
    paths = browser_paths()
    if paths is None:
        raise RuntimeError(MISSING)
    chromium, driver = paths
    options = Options()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = {**os.environ, "TZ": time_zone}
    service = Service(executable_path=driver, env=env)
    browser = webdriver.Chrome(service=service, options=options)
    if size:
        browser.set_window_size(size.get("width", 1280), size.get("height", 900))
    return browser


def console_errors(browser: webdriver.Chrome) -> list[str]:
    """The console's errors since the last call (a refused request, a failed script, a CSP
    violation are all errors)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
