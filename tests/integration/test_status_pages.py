"""``importer status --html`` and ``importer run --status-port``, read over HTTP and from the
file (no browser: tests/browser/ looks at the same pages in Chromium)."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox
from importer.status_page.server import status_address

from .conftest import base_args, run_importer, start_importer, wait_for_exit, write_export


def test_status_html_writes_counts_errors_and_header_in_one_file(
    tmp_path: Path, export_dir: Path
) -> None:
    """The page holds the same counts as ``--json``, the invalid conversation's error and the
    run header; no script, nothing from outside, no secret."""
    export = write_export(export_dir / "c.jsonl", 3)
    with export.open("a", encoding="utf-8") as handle:
        handle.write('{"source_id": "S-<b>broken</b>", "subject": "no customer"}\n')
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        assert 1 == run_importer(base_args(export, sandbox.url, tmp_path)).returncode
    page = tmp_path / "status.html"
    checkpoint = str(tmp_path / "cp.sqlite")
    result = run_importer(["status", "--checkpoint", checkpoint, "--json", "--html", str(page)])
    assert 0 == result.returncode, result.stderr
    body = json.loads(result.stdout)
    html = page.read_text(encoding="utf-8")
    assert f'<td class="num" id="p-done">{body["parts"]["done"]}</td>' in html
    assert 3 == body["parts"]["done"]
    assert '<td class="num" id="complete">3</td>' in html
    assert "S-&lt;b&gt;broken&lt;/b&gt;" in html  # escaped, never markup
    assert f'<td class="text" id="h-api">{body["header"]["api_url"]}</td>' in html
    assert "default-src 'none'" in html
    assert not re.search(r"<script|https?://(?!127\.0\.0\.1)", html)
    assert "sandbox" not in html.replace(body["header"]["api_url"], "")  # the secret is "sandbox"
    assert 0o600 == page.stat().st_mode & 0o777


def test_status_html_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """A page whose folder does not exist is refused before anything is read (exit 2)."""
    result = run_importer(
        ["status", "--checkpoint", __file__, "--html", str(tmp_path / "nope" / "s.html")]
    )
    assert 2 == result.returncode
    assert "--html" in result.stderr
    assert "does not exist" in result.stderr


def _watch(url: str, until: float) -> list[dict[str, Any]]:
    """Every answer of ``/status.json`` until the server stops answering (or ``until``)."""
    seen = []
    while time.monotonic() < until:
        try:
            with urllib.request.urlopen(f"{url}status.json", timeout=5) as answer:
                seen.append(json.loads(answer.read()))
        except OSError:
            break
        time.sleep(0.2)
    return seen


def test_status_port_serves_the_runs_figures_until_its_end(
    tmp_path: Path, export_dir: Path
) -> None:
    """``--status-port 0`` prints the page's address; ``/status.json`` has the contract's keys,
    its figures grow as the run moves, and the last says ended with the exit code; the page
    answers only its own Host."""
    export = write_export(export_dir / "c.jsonl", 16)
    config = SandboxConfig(mailboxes=[85], latency_ms=(100, 150))
    with running_sandbox(config) as sandbox:
        args = base_args(export, sandbox.url, tmp_path, "--workers", "2", "--status-port", "0")
        process = start_importer(args)
        assert process.stderr is not None
        url = status_address(process.stderr)
        assert url is not None
        refused = urllib.request.Request(url, headers={"Host": "rebound.evil.test"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(refused, timeout=5)
        assert 421 == answer.value.code
        with urllib.request.urlopen(url, timeout=5) as page:
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
            assert not [h for h in page.headers if h.lower().startswith("access-control-")]
            assert b'<script src="/static/status.js" defer></script>' in page.read()
        seen = _watch(url, time.monotonic() + 120)
        code, _ = wait_for_exit(process, timeout=60)
    assert 0 == code
    assert {"phase", "done", "total", "imported", "failed", "in_doubt", "throttled",
            "retries", "eta_s", "units_per_minute", "last_errors",
            "downloads_waiting"} == set(seen[0])  # fmt: skip
    done = [s["done"] for s in seen]
    assert done == sorted(done)
    assert len({d for d in done if 0 < d < 16}) >= 2  # seen moving, not only its ends
    last = seen[-1]
    assert ("ended", 0, 16, 16) == (last["phase"], last["exit_code"], last["done"], last["total"])
    # one minute, units spent in it (those after the run's last pulse are not seen)
    assert 1 == len(last["units_per_minute"])
    assert last["units_per_minute"][0] > 0


def test_status_port_in_use_is_refused_before_anything_is_sent(
    tmp_path: Path, export_dir: Path
) -> None:
    """A port already taken: exit 2, the message names the option and the way out."""
    export = write_export(export_dir / "c.jsonl", 1)
    with socket.socket() as taken, running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_importer(base_args(export, sandbox.url, tmp_path, "--status-port", port))
        assert 0 == sandbox.store.count_conversations()
    assert 2 == result.returncode
    assert f"--status-port {port}" in result.stderr
    assert "0 for a free one" in result.stderr
