"""``make screenshots``: the README's pictures of the web pages, taken in headless Chromium.

Imports the Zendesk and Front samples into a sandbox (as ``make demo`` does), then writes to
docs/screenshots/: the sandbox's mailboxes, a mailbox's conversations and one conversation;
the live page of a run (a larger made-up export, paced, with some invalid conversations and a
sandbox that throttles), taken after a minute and a bit so that its chart has two minutes; and
the static page ``importer status --html`` writes from that run's checkpoint. Needs Chromium
and ChromeDriver (``make browser``). Takes about two minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests" / "browser"), str(ROOT / "tests")]

from chromium import start_chromium  # noqa: E402
from demo import AGENTS, serve_sample_files  # noqa: E402
from integration.conftest import importer_env, write_export  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from importer.sandbox.store import Store  # noqa: E402
from importer.sandbox.testing import SandboxConfig, running_sandbox  # noqa: E402
from importer.status_page.server import status_address  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
#: seconds into the watched run when its page is taken: past the first minute
LIVE_AT_S = 70


def shoot(browser: webdriver.Chrome, url: str, name: str) -> None:
    """Open ``url`` and save the page, as tall as its content, as NAME.png."""
    browser.set_window_size(1280, 600)  # the content's own height is measured from here
    browser.get(url)
    time.sleep(1.5)  # the live page's script has filled it by then
    tall = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(tall) + 160, 2000))
    time.sleep(0.3)
    browser.save_screenshot(str(OUT / f"{name}.png"))
    print(f"wrote docs/screenshots/{name}.png", flush=True)


def run_command(*args: str, url: str, work: Path, name: str) -> list[str]:
    """``importer run`` of one sample into mailbox 85 of the sandbox at ``url``."""
    return [
        sys.executable, "-m", "importer", "run", *args, "--mailbox", "85", "--api-url", url,
        "--checkpoint", str(work / f"{name}.sqlite"), "--allow-host", "127.0.0.1",
        "--no-progress", "--quiet",
    ]  # fmt: skip


def _worth(store: Store, conv: dict[str, Any]) -> tuple[bool, bool, int]:
    """How well a conversation shows the page: a subject the browser's fonts draw, an image
    among its files, notes and replies, and a length that fits the picture."""
    threads = store.threads(conv["id"])
    kinds = {t["type"] for t in threads}
    images = any(
        a["mime_type"].startswith("image/") for t in threads for a in store.attachments(t["id"])
    )
    return (conv["subject"] or "").isascii() and len(threads) <= 8, images, len(kinds)


def sandbox_pages(browser: webdriver.Chrome, work: Path) -> None:
    """The samples imported, then the sandbox's three pages."""
    users = list(AGENTS)
    files = serve_sample_files()
    with running_sandbox(SandboxConfig(mailboxes=[85], users=users)) as sandbox:
        for sample in ("zendesk", "front"):
            export = str(ROOT / "samples" / sample / "export")
            subprocess.run(run_command(export, url=sandbox.url, work=work, name=sample),
                           env=importer_env(), cwd=ROOT, check=False)  # fmt: skip
        if files is not None:
            files.shutdown()
        richest = max(sandbox.store.conversations(85), key=lambda c: _worth(sandbox.store, c))
        shoot(browser, f"{sandbox.url}/", "sandbox-mailboxes")
        shoot(browser, f"{sandbox.url}/mailboxes/85", "sandbox-conversations")
        shoot(browser, f"{sandbox.url}/conversations/{richest['id']}", "sandbox-conversation")


def status_pages(browser: webdriver.Chrome, work: Path) -> None:
    """A paced run watched on its live page, then the static page of its checkpoint."""
    export = write_export(work / "big.jsonl", 400)
    broken = "".join(f'{{"source_id": "broken-{n}", "subject": "no customer"}}\n' for n in range(3))
    export.write_text(broken + export.read_text(encoding="utf-8"), encoding="utf-8")
    config = SandboxConfig(mailboxes=[85], rate_limit=180, window_s=60, faults={"throttle": 0.04})
    with running_sandbox(config) as sandbox:
        command = run_command(str(export), url=sandbox.url, work=work, name="big")
        command += ["--status-port", "0", "--rate-limit", "240"]
        process = subprocess.Popen(command, env=importer_env(), cwd=ROOT,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert process.stderr is not None
        address = status_address(process.stderr)
        assert address is not None, "the run printed no status page address"
        time.sleep(LIVE_AT_S)
        shoot(browser, address, "status-live")
        browser.find_element(By.ID, "phase")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    page = work / "status.html"
    subprocess.run([sys.executable, "-m", "importer", "status", "--checkpoint",
                    str(work / "big.sqlite"), "--html", str(page)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    shoot(browser, page.as_uri(), "status-static")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="importer-screenshots-") as folder:
        work = Path(folder)
        browser = start_chromium(work / "profile", time_zone=os.environ.get("TZ", "UTC"))
        try:
            sandbox_pages(browser, work)
            status_pages(browser, work)
        finally:
            browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
