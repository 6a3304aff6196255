"""`importer run` when a download host is down (every connection refused): the conversations
that need its files wait while the others are imported, the host is named once as it happens,
and the waiting ones are sent with their files once it answers; after `--download-host-wait`
without an answer they fail (never imported without their files) and a rerun imports them. A
stop while they wait is prompt. The "host" is a loopback port nobody listens on, until a file
server is started on it."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import base_args, importer_env, run_importer
from .file_server import FileServer, content, serving_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ALLOW = ["--allow-host", "127.0.0.1"]
COUNT = 10  # even conversations need the down host, odd ones the file server that is up


@pytest.fixture(scope="module")
def files() -> Iterator[FileServer]:
    with serving_files() as server:
        yield server


def free_port() -> int:
    """A loopback port nobody listens on (connections to it are refused) until a server binds
    it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def file_name(index: int) -> str:
    return f"S{index}-{'down' if index % 2 == 0 else 'up'}.bin"


def export_of(path: Path, up: FileServer, down_port: int) -> Path:
    """COUNT conversations with one file each: even ones on the down host, odd ones on ``up``."""
    lines = []
    for index in range(COUNT):
        base = f"http://127.0.0.1:{down_port}" if index % 2 == 0 else up.base
        name = file_name(index)
        attachment = {"file_name": name, "url": f"{base}/good/{name}?size=2000&sig=s3cr3t"}
        lines.append(
            json.dumps(
                {
                    "source_id": f"S{index}",
                    "subject": f"Conversation {index}",
                    "customer": {"email": f"c{index}@example.com"},
                    "messages": [
                        {
                            "created_at": f"2023-04-{index + 1:02d}T10:00:00Z",
                            "author_role": "customer",
                            "body_text": f"conversation {index}",
                            "attachments": [attachment],
                        }
                    ],
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def stored_files(sandbox: Any) -> dict[str, bytes]:
    """Every file in the sandbox by name, and the subjects of its conversations."""
    stored: dict[str, bytes] = {}
    for conv in sandbox.store.conversations(mailbox=85):
        for thread in sandbox.store.threads(conv["id"]):
            for attachment in sandbox.store.attachments(thread["id"]):
                data = sandbox.store.attachment_data(attachment["id"])
                assert data is not None
                stored[attachment["file_name"]] = data
    return stored


def subjects(sandbox: Any) -> set[str]:
    return {conv["subject"] for conv in sandbox.store.conversations(mailbox=85)}


class Running:
    """``python -m importer ARGS`` in the background, its stderr read as it comes."""

    def __init__(self, args: list[str]) -> None:
        import subprocess
        import sys

        from .conftest import ROOT

        self.process = subprocess.Popen(
            [sys.executable, "-m", "importer", *args],
            env=importer_env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            assert self.process.poll() is None, self.stderr[-3000:]
            assert time.monotonic() < deadline, f"no {text!r} in: {self.stderr[-3000:]}"
            time.sleep(0.05)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


def run_args(export: Path, url: str, tmp_path: Path, *extra: str) -> list[str]:
    """``run`` against the sandbox at ``url``, report in ``tmp_path/r.json``, the loopback file
    servers allowed."""
    return base_args(export, url, tmp_path, "--report", str(tmp_path / "r.json"), *ALLOW, *extra)


@pytest.fixture
def down_host(export_dir: Path, files: FileServer) -> tuple[int, Path]:
    """A port nobody listens on, and the export whose even conversations need files there."""
    port = free_port()
    return port, export_of(export_dir / "c.jsonl", files, port)


def wait_until(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_host_that_comes_back_gets_its_conversations_imported_with_their_files(
    tmp_path: Path, down_host: tuple[int, Path]
) -> None:
    port, export = down_host
    report_path = tmp_path / "r.json"  # written by run_args' runs
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        # tried again every 3 s
        run = Running(run_args(export, sandbox.url, tmp_path, "--download-host-wait", "30"))
        host = f"127.0.0.1:{port}"
        run.wait_for(f"{host}: ")
        # the others go on while the host is down: every odd conversation, none of the even
        wait_until(lambda: len(subjects(sandbox)) >= COUNT // 2)
        time.sleep(0.5)
        assert subjects(sandbox) == {f"Conversation {i}" for i in range(1, COUNT, 2)}
        with serving_files(port):
            code = run.wait(timeout=60)
        stored = stored_files(sandbox)
        imported = subjects(sandbox)
    assert code == 0, run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["imported"] == COUNT == report["source_conversations"]
    assert report["failed"] == 0
    assert report["errors"] == []
    assert imported == {f"Conversation {i}" for i in range(COUNT)}
    for index in range(COUNT):  # every conversation with its file, intact
        assert stored[file_name(index)] == content(file_name(index), 2000)
    said = [line for line in run.lines if f"{host}: " in line and "in a row refused" in line]
    assert len(said) == 1, run.stderr  # named once, as it happened
    assert "conversations that need its files wait" in said[0]
    assert f"{host} answers again" in run.stderr
    assert "s3cr3t" not in run.stderr


def test_a_host_that_never_comes_back_fails_its_conversations_and_a_rerun_imports_them(
    tmp_path: Path, down_host: tuple[int, Path]
) -> None:
    port, export = down_host
    host = f"127.0.0.1:{port}"
    report_path = tmp_path / "r.json"  # written by run_args' runs
    dead_path = tmp_path / "dead.jsonl"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args = run_args(export, sandbox.url, tmp_path, "--dead-letter", str(dead_path))
        started = time.monotonic()
        first = run_importer([*args, "--download-host-wait", "2"], timeout=60)
        took = time.monotonic() - started
        after_first = subjects(sandbox)
        report = json.loads(report_path.read_text())
        dead = [json.loads(line) for line in dead_path.read_text().splitlines()]
        with serving_files(port):
            second = run_importer(args, timeout=60)
        stored = stored_files(sandbox)
        after_second = subjects(sandbox)
    assert first.returncode == 1, first.stderr[-3000:]
    assert took < 30
    waited = {f"S{i}" for i in range(0, COUNT, 2)}
    # not imported without their files: failed, named, in the report and the dead letters
    assert after_first == {f"Conversation {i}" for i in range(1, COUNT, 2)}
    assert report["imported"] == COUNT // 2
    assert report["failed"] == COUNT // 2
    assert report["source_conversations"] == (
        report["imported"] + report["already_imported"] + report["invalid"] + report["failed"]
    )
    failed = {entry["source_id"]: entry for entry in report["errors"]}
    assert set(failed) == waited
    for entry in failed.values():
        assert entry["code"] == "download_host"
        assert host in entry["message"]
        assert "--download-host-wait" in entry["message"]
        assert "rerun" in entry["message"]
    assert {line["source_id"] for line in dead} == waited
    assert first.stderr.count("in a row refused") == 1
    assert f"{host}: no answer for 2s" in first.stderr
    # the rerun, with the host up, imports them with their files
    assert second.returncode == 0, second.stderr[-3000:]
    rerun = json.loads(report_path.read_text())
    assert rerun["imported"] == COUNT // 2
    assert rerun["already_imported"] == COUNT // 2
    assert rerun["failed"] == 0
    assert after_second == {f"Conversation {i}" for i in range(COUNT)}
    for index in range(COUNT):
        assert stored[file_name(index)] == content(file_name(index), 2000)


def test_a_stop_while_conversations_wait_for_their_host_is_prompt(
    tmp_path: Path, down_host: tuple[int, Path]
) -> None:
    _, export = down_host
    report_path = tmp_path / "r.json"  # written by run_args' runs
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        run = Running(run_args(export, sandbox.url, tmp_path))
        run.wait_for("in a row refused")
        wait_until(lambda: len(stored_files(sandbox)) >= COUNT // 2)  # the others are done
        time.sleep(0.5)
        run.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = run.wait(timeout=30)
        took = time.monotonic() - started
        imported = subjects(sandbox)
    assert code == 130, run.stderr[-3000:]
    assert took < 5
    assert imported == {f"Conversation {i}" for i in range(1, COUNT, 2)}
    report = json.loads(report_path.read_text())
    assert report["failed"] == 0  # the waiting ones are left for the rerun, not failed
    assert report["source_conversations"] == (
        report["imported"] + report["already_imported"] + report["invalid"] + report["failed"]
    )
