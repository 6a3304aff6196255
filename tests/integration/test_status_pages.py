"""``importer status --html`` and ``importer run --status-port``, read over HTTP and from the
file (no browser: tests/browser/ looks at the same pages in Chromium)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import base_args, run_importer, write_export


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
    assert f'<td class="num" id="h-api">{body["header"]["api_url"]}</td>' in html
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
