"""`importer run` on an export whose attachment links misbehave: the run goes on, good files
arrive intact, every bad file is named (in its message and in the report), the books balance,
a stop while a download trickles is prompt, and links to this machine or a private network are
refused (the file server listens on 127.0.0.1: `--allow-host 127.0.0.1` lets the run reach it)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import base_args, run_importer, start_importer, wait_for_exit
from .file_server import FileServer, content, serving_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BAD = ["truncated", "reset", "missing", "broken", "hang", "big", "loop"]
# bounds of a download lowered so that a link that never answers costs seconds, not minutes
QUICK = ["--download-read-timeout", "1", "--download-time-limit", "4", "--download-tries", "3"]
ALLOW = ["--allow-host", "127.0.0.1"]


@pytest.fixture(scope="module")
def files() -> Iterator[FileServer]:
    with serving_files() as server:
        yield server


def url_export(path: Path, files: FileServer, count: int, kinds: list[str]) -> Path:
    """``count`` conversations; conversation i carries one file of ``kinds[i % len(kinds)]``
    (``good`` ones also a second good file) named ``S<i>-<kind>.bin``."""
    lines = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        attachments: list[dict[str, Any]] = [
            {
                "file_name": f"S{index}-{kind}.bin",
                "content_type": "application/octet-stream",
                "url": files.url(f"{kind}/S{index}-{kind}.bin?size=3000&sig=s3cr3t"),
            }
        ]
        if kind != "good":
            attachments.append(
                {
                    "file_name": f"S{index}-also.bin",
                    "url": files.url(f"good/S{index}-also.bin?size=500"),
                }
            )
        conversation = {
            "source_id": f"S{index}",
            "subject": f"Conversation {index}",
            "customer": {"email": f"c{index}@example.com"},
            "messages": [
                {
                    "created_at": f"2023-03-{index % 28 + 1:02d}T10:00:00Z",
                    "author_role": "customer",
                    "body_text": f"conversation {index} with a file",
                    "attachments": attachments,
                },
                {
                    "created_at": f"2023-03-{index % 28 + 1:02d}T11:00:00Z",
                    "author_role": "agent",
                    "body_text": "thanks",
                },
            ],
        }
        lines.append(json.dumps(conversation))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_links_leave_their_conversations_imported_without_them(
    tmp_path: Path, export_dir: Path, files: FileServer
) -> None:
    kinds = ["good", *BAD]
    export = url_export(export_dir / "c.jsonl", files, 24, kinds)
    report_path = tmp_path / "r.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(
            base_args(export, sandbox.url, tmp_path, "--report", str(report_path), *QUICK, *ALLOW),
            timeout=400,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        stored: dict[str, bytes] = {}
        texts: dict[str, str] = {}
        for conv in sandbox.store.conversations(mailbox=85):
            for thread in sandbox.store.threads(conv["id"]):
                texts[conv["subject"]] = texts.get(conv["subject"], "") + str(thread["text"])
                for attachment in sandbox.store.attachments(thread["id"]):
                    data = sandbox.store.attachment_data(attachment["id"])
                    assert data is not None
                    stored[attachment["file_name"]] = data
    report = json.loads(report_path.read_text())
    assert report["source_conversations"] == 24 == report["imported"]
    assert report["failed"] == 0
    named = {entry["message"].split(":")[0] for entry in report["errors"]}
    for index in range(24):
        kind = kinds[index % len(kinds)]
        name = f"S{index}-{kind}.bin"
        if kind == "good":
            assert stored[name] == content(name, 3000)
        else:
            assert name not in stored
            assert name in named  # an error entry names the file
            assert name in texts[f"Conversation {index}"]  # and so does its message
            also = f"S{index}-also.bin"
            assert stored[also] == content(also, 500)
    assert report["attachments"] == len(stored)
    assert "s3cr3t" not in report_path.read_text()
    assert "s3cr3t" not in result.stderr


def test_a_stop_while_a_download_trickles_is_prompt(
    tmp_path: Path, export_dir: Path, files: FileServer
) -> None:
    export = url_export(export_dir / "c.jsonl", files, 16, ["trickle"])
    report_path = tmp_path / "r.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        process = start_importer(
            base_args(export, sandbox.url, tmp_path, "--report", str(report_path), *ALLOW)
        )
        deadline = time.monotonic() + 30
        while files.hits["trickle/S0-trickle.bin"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code, stderr = wait_for_exit(process, timeout=30)
        took = time.monotonic() - started
        created = sandbox.store.count_conversations()
    assert code == 130, stderr[-2000:]
    assert took < 10
    assert created == 0  # every download was still trickling: nothing was sent
    report = json.loads(report_path.read_text())
    assert report["source_conversations"] == (
        report["imported"] + report["already_imported"] + report["invalid"] + report["failed"]
    )


def test_links_to_this_machine_or_a_private_network_are_refused(
    tmp_path: Path, export_dir: Path, files: FileServer
) -> None:
    """Without --allow-host: the loopback server's links (a name of it too) and the cloud
    metadata address are refused before any connection, each file named as one that could not
    be had, and the conversations imported without them."""
    port = files.base.rsplit(":", 1)[1]
    export = url_export(export_dir / "c.jsonl", files, 2, ["good"])  # one file each
    text = export.read_text().replace(files.base, "http://169.254.169.254", 1)
    export.write_text(text.replace(files.base, f"http://localhost:{port}", 1))
    before = sum(files.hits.values())
    report_path = tmp_path / "r.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        started = time.monotonic()
        result = run_importer(
            base_args(export, sandbox.url, tmp_path, "--report", str(report_path)), timeout=120
        )
        took = time.monotonic() - started
        texts = " ".join(
            str(thread["text"])
            for conv in sandbox.store.conversations(mailbox=85)
            for thread in sandbox.store.threads(conv["id"])
        )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["imported"] == 2
    assert report["attachments"] == 0
    refused = [e for e in report["errors"] if "refused by the address policy" in e["message"]]
    assert len(refused) == 2, report["errors"]
    assert any("169.254.169.254 is a link-local address" in e["message"] for e in refused)
    assert "refused by the address policy" in texts
    assert sum(files.hits.values()) == before  # nothing reached the server
    assert took < 60
