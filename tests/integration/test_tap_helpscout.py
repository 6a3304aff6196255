"""Help Scout into Help Scout through the standard extractor (issue 22): the real Singer tap
``tap-helpscout`` 1.2.2 reads a mailbox of the sandbox, and its output imports into another.

The canonical sample is imported into mailbox 85 with ``importer run`` (its conversation of more
than 100 messages arrives split in parts). The tap, in its own environment (``make tap-env``:
``.venv-tap``, its pins conflict with ours), runs through ``tap_wrapper.py``, which sends its
requests to the sandbox instead of ``https://api.helpscout.net`` and starts from the authorization
code the sandbox's listening line prints: discovery (``--discover``), then a sync with every stream
selected, its Singer stdout written to a file. The tap refreshes its token on each run and writes
the rotated refresh token back to its config. Then ``importer run <that file> --format helpscout
--mailbox 86``: every thread of mailbox 85 arrives once in 86 with its author, time and type, and
each part of the split conversation arrives as a conversation of its own.

No request leaves the machine: the tap's process has a dead proxy for everything but loopback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.server import listening_line
from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import ROOT, run_importer
from .test_helpscout_round_trip import dump_mailbox

SAMPLE = ROOT / "samples" / "canonical" / "export"
AGENTS = ("priya@northwind.example", "sam@northwind.example")
TAP_VENV = ROOT / ".venv-tap"
TAP_PYTHON = TAP_VENV / "bin" / "python"
TAP_STAMP = TAP_VENV / ".installed-tap-helpscout-1.2.2"
WRAPPER = Path(__file__).with_name("tap_wrapper.py")
PART = re.compile(r" \(part \d+/\d+\)$")

pytestmark = pytest.mark.skipif(
    not (TAP_PYTHON.exists() and TAP_STAMP.exists()),
    reason="tap-helpscout's environment .venv-tap is not built: `make tap-env` (make test does)",
)


def _tap(url: str, work: Path, *args: str, code: str | None = None) -> str:
    """Run the tap through the wrapper; its stdout (Singer messages or the catalog)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
                "NO_PROXY": "127.0.0.1,localhost"})  # fmt: skip
    own = [url, *(["--authorization-code", code] if code else [])]
    result = subprocess.run(
        [str(TAP_PYTHON), str(WRAPPER), *own, "--", "--config", str(work / "tap.json"), *args],
        env=env, cwd=work, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def _select_every_stream(catalog: dict[str, Any]) -> dict[str, Any]:
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    return catalog


def _records(singer_output: Path) -> dict[str, list[dict[str, Any]]]:
    streams: dict[str, list[dict[str, Any]]] = {}
    for line in singer_output.read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            streams.setdefault(message["stream"], []).append(message["record"])
    return streams


def _refresh_status(url: str, refresh_token: str) -> tuple[int, dict[str, Any]]:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": "sandbox", "client_secret": "sandbox"}  # fmt: skip
    data = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(f"{url}/v2/oauth2/token", data=data, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _threads(conversations: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Every thread: its conversation's subject, type, time, author and body."""
    return Counter(
        (c["subject"], t["type"], t["createdAt"], t["createdBy"].get("type"),
         t["createdBy"].get("email"), t["body"])
        for c in conversations
        for t in c["_embedded"]["threads"]
    )  # fmt: skip


def _conversations(pages: list[Path]) -> list[dict[str, Any]]:
    return [c for p in pages for c in json.loads(p.read_text()).get("_embedded", {}).get(
        "conversations", [])]  # fmt: skip


def _import_tap_output(output: Path, url: str, work: Path, source: list[dict[str, Any]]) -> None:
    """The reader's part: the tap's output into mailbox 86, every thread once."""
    report = work / "report-86.json"
    result = run_importer(
        ["run", str(output), "--format", "helpscout", "--mailbox", "86", "--api-url", url,
         "--checkpoint", str(work / "checkpoint-86.sqlite"), "--report", str(report),
         "--no-progress", "--rate-limit", "100000"]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    second = json.loads(report.read_text())
    assert (second["format"], second["imported"]) == ("helpscout", len(source))
    assert (second["split_conversations"], second["errors"]) == (0, [])
    copied = _conversations(dump_mailbox(url, 86, work / "copy"))
    assert {c["mailboxId"] for c in copied} == {86}
    assert _threads(copied) == _threads(source)
    parts = sorted(c["subject"] for c in source if PART.search(c["subject"]))
    assert parts
    assert sorted(c["subject"] for c in copied if PART.search(c["subject"])) == parts
    assert Counter((c["subject"], c["threads"]) for c in copied) == Counter(
        (c["subject"], c["threads"]) for c in source
    )


def test_tap_helpscout_reads_the_sandbox_and_its_output_imports_into_another_mailbox(
    tmp_path: Path,
) -> None:
    config = SandboxConfig(mailboxes=[85, 86], users=list(AGENTS))
    with running_sandbox(config) as sandbox:
        first = run_importer(
            ["run", str(SAMPLE), "--mailbox", "85", "--api-url", sandbox.url, "--checkpoint",
             str(tmp_path / "checkpoint-85.sqlite"), "--no-progress", "--rate-limit", "100000"]
        )  # fmt: skip
        assert first.returncode == 0, first.stderr
        source = _conversations(dump_mailbox(sandbox.url, 85, tmp_path / "source"))
        assert any(PART.search(c["subject"]) for c in source)  # the sample's split conversation

        code = re.search(r"authorization code (\S+)", listening_line(sandbox))
        assert code is not None
        tap_config = {"client_id": "sandbox", "client_secret": "sandbox", "user_agent": "importer",
                      "start_date": "2000-01-01T00:00:00Z"}  # fmt: skip
        (tmp_path / "tap.json").write_text(json.dumps(tap_config))
        catalog = json.loads(_tap(sandbox.url, tmp_path, "--discover", code=code.group(1)))
        after_discovery = json.loads((tmp_path / "tap.json").read_text())["refresh_token"]
        (tmp_path / "catalog.json").write_text(json.dumps(_select_every_stream(catalog)))
        output = tmp_path / "tap-output.jsonl"
        output.write_text(_tap(sandbox.url, tmp_path, "--catalog", str(tmp_path / "catalog.json")))

        assert all(status < 400 for status in sandbox.stats.by_status), sandbox.stats.by_status
        # the tap refreshed once per run and kept the rotated token; a used one is refused
        after_sync = json.loads((tmp_path / "tap.json").read_text())["refresh_token"]
        assert after_sync != after_discovery
        assert _refresh_status(sandbox.url, after_discovery) == (
            400, {"error": "invalid_request", "error_description": "Invalid refresh_token"},
        )  # fmt: skip

        streams = _records(output)
        assert sorted(c["id"] for c in streams["conversations"]) == sorted(c["id"] for c in source)
        assert Counter(t["conversation_id"] for t in streams["conversation_threads"]) == Counter(
            {c["id"]: c["threads"] for c in source}
        )
        assert {"customers", "users", "mailboxes", "mailbox_fields"} <= set(streams)

        _import_tap_output(output, sandbox.url, tmp_path, source)
