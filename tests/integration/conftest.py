"""Helpers for tests that drive the real CLI against the real sandbox on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def write_export(
    path: Path, count: int, *, long_every: int = 0, long_size: int = 230, phone_every: int = 0
) -> Path:
    """``count`` canonical conversations; every ``long_every``-th has ``long_size`` messages."""
    start = datetime(2022, 1, 1, tzinfo=UTC)
    lines = []
    for index in range(count):
        size = long_size if long_every and index % long_every == long_every - 1 else 3
        moment = start + timedelta(hours=index)
        messages = []
        for n in range(size):
            messages.append(
                {
                    "created_at": (moment + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "author_role": "customer" if n % 2 == 0 else "agent",
                    "private": n % 7 == 5,
                    "body_text": f"conversation {index} message {n}",
                }
            )
        customer: dict[str, Any] = {
            "id": f"cu{index % 40}",
            "email": f"customer{index % 40}@example.com",
            "first_name": f"Customer {index % 40}",
        }
        if phone_every and index % phone_every == 0:
            customer = {"id": f"phone{index % 5}", "phone": f"+1 555 010{index % 5}"}
        lines.append(
            json.dumps(
                {
                    "source_id": f"S{index}",
                    "subject": f"Conversation {index}",
                    "customer": customer,
                    "messages": messages,
                    "status": "closed",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected_subjects(path: Path) -> Counter[str]:
    """The subject of every part the export must create (split at 100 threads)."""
    wanted: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        parts = -(-len(record["messages"]) // 100)
        if parts == 1:
            wanted[record["subject"]] += 1
        else:
            for part in range(1, parts + 1):
                wanted[f"{record['subject']} (part {part}/{parts})"] += 1
    return wanted


def importer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPSCOUT_")}
    env.update({"HELPSCOUT_APP_ID": "sandbox", "HELPSCOUT_APP_SECRET": "sandbox", **extra})
    return env


def run_importer(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``python -m importer ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "importer", *args],
        env=env or importer_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_importer(args: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m importer ARGS`` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "importer", *args],
        env=env or importer_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_exit(process: subprocess.Popen[str], timeout: float = 20) -> tuple[int, str]:
    """The exit code and everything written to stderr of a process from ``start_importer``."""
    code = process.wait(timeout=timeout)
    assert process.stderr is not None
    with process.stderr:
        return code, process.stderr.read()


def two_file_csv_export(tmp_path: Path, conversations: str, messages: str) -> Path:
    """``tmp_path/export`` with ``conversations.csv`` and ``messages.csv`` of these texts."""
    export = tmp_path / "export"
    export.mkdir(exist_ok=True)
    (export / "conversations.csv").write_text(conversations)
    (export / "messages.csv").write_text(messages)
    return export


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    return folder


def base_args(export: Path, url: str, tmp_path: Path, *extra: str) -> list[str]:
    """The arguments of `importer run` against a loopback sandbox, checkpoint in tmp_path."""
    return [
        "run",
        str(export),
        "--mailbox",
        "85",
        "--api-url",
        url,
        "--checkpoint",
        str(tmp_path / "cp.sqlite"),
        "--no-progress",
        "--rate-limit",
        "100000",
        *extra,
    ]
