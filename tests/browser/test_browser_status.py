"""The live page of ``importer run --status-port`` in a real browser: its figures move as the
run does and it shows the end with the exit code; and the static page of ``importer status
--html`` opens from the disk with nothing to complain about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from integration.conftest import base_args, importer_env, write_export
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from importer.sandbox.testing import SandboxConfig, running_sandbox
from importer.status_page.server import status_address

ROOT = Path(__file__).resolve().parents[2]


def _figure(page: webdriver.Chrome, cell: str) -> str:
    return str(page.find_element(By.ID, cell).text)


def test_live_page_moves_with_the_run_and_shows_its_end(
    page: webdriver.Chrome, tmp_path: Path
) -> None:
    """Done goes up while the run sends, the chart gets its bars and the minutes table its
    row, and the page ends on "Ended (exit 0)" with every conversation imported."""
    export = write_export(tmp_path / "c.jsonl", 40)
    config = SandboxConfig(mailboxes=[85], latency_ms=(150, 200))
    with running_sandbox(config) as sandbox:
        args = base_args(export, sandbox.url, tmp_path, "--workers", "2", "--status-port", "0")
        process = subprocess.Popen(
            [sys.executable, "-m", "importer", *args],
            env=importer_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert process.stderr is not None
            address = status_address(process.stderr)
            assert address is not None
            page.get(address)
            wait = WebDriverWait(page, 60, poll_frequency=0.1)
            moving = []
            wait.until(
                lambda p: moving.append(_figure(p, "done")) or "Ended" in _figure(p, "phase")
            )
            assert "Ended (exit 0)" == _figure(page, "phase")
        finally:
            code = process.wait(timeout=60)
    assert 0 == code
    during = [m for m in moving if not m.startswith(("0 of", "40 of"))]
    assert len(set(during)) >= 2, moving  # seen at two moments between its start and its end
    assert "40 of 40" == _figure(page, "done")
    assert "40" == _figure(page, "imported")
    assert page.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert ["1"] == [c.text for c in page.find_elements(By.CSS_SELECTOR, "#minutes th")]
    assert "No errors." == page.find_element(By.ID, "errors").text


def test_static_status_page_opens_from_the_disk(page: webdriver.Chrome, tmp_path: Path) -> None:
    """``status --html`` of a run with an invalid conversation: the counts and the error are
    on the page, which loads nothing and logs nothing."""
    export = write_export(tmp_path / "c.jsonl", 2)
    with export.open("a", encoding="utf-8") as handle:
        handle.write('{"source_id": "S-broken", "subject": "no customer"}\n')
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        command = [sys.executable, "-m", "importer"]
        subprocess.run([*command, *base_args(export, sandbox.url, tmp_path)], env=importer_env(),
                       cwd=ROOT, capture_output=True, check=False, timeout=120)  # fmt: skip
    html = tmp_path / "status.html"
    subprocess.run(
        [*command, "status", "--checkpoint", str(tmp_path / "cp.sqlite"), "--html", str(html)],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    page.get(html.as_uri())
    assert "2" == _figure(page, "p-done")
    assert "S-broken" in page.find_element(By.ID, "errors").text
