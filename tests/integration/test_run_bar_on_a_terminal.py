"""`importer run` on a terminal: the progress bar is drawn on a pseudo-terminal (120 columns),
and every line logged while it is drawn (agents without a Help Scout user, a download host
that is down) lands above it, whole, never through it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import ROOT, base_args, importer_env
from .test_run_download_host_down import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COLUMNS = 120
AGENTS = [f"agent{n}@old-desk.example" for n in range(4)]
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def export_with_agents_and_a_down_host(path: Path, down_port: int) -> Path:
    lines = []
    for index in range(12):
        messages = [
            {
                "created_at": f"2023-05-{index + 1:02d}T10:00:00Z",
                "author_role": "customer",
                "body_text": f"question {index}",
            },
            {
                "created_at": f"2023-05-{index + 1:02d}T11:00:00Z",
                "author_role": "agent",
                "author_email": AGENTS[index % len(AGENTS)],
                "body_text": "an answer",
            },
        ]
        if index % 3 == 0:
            messages[0]["attachments"] = [
                {"file_name": f"f{index}.txt", "url": f"http://127.0.0.1:{down_port}/f{index}.txt"}
            ]
        lines.append(
            json.dumps(
                {
                    "source_id": f"T{index}",
                    "subject": f"Terminal {index}",
                    "customer": {"email": f"t{index}@example.com"},
                    "messages": messages,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def run_on_a_terminal(args: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal of COLUMNS columns as its stderr; the exit code and
    every byte drawn on it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = importer_env()
    env.pop("COLUMNS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "importer", *args],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    drawn = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed its end
                    break
                if not chunk:
                    break
                drawn += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    return code, drawn.decode("utf-8", "replace")


def screen_lines(drawn: str) -> list[str]:
    """The lines a terminal shows after these bytes: a carriage return goes back to the start
    of the line (what follows overwrites it), a line feed starts the next line."""
    lines: list[str] = []
    line: list[str] = []
    column = 0
    for char in ESCAPE.sub("", drawn):
        if char == "\r":
            column = 0
        elif char == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        else:
            if column < len(line):
                line[column] = char
            else:
                line.append(char)
            column += 1
    lines.append("".join(line).rstrip())
    return [text for text in lines if text]


def is_bar(line: str) -> bool:
    return line.startswith("run:") and "conv" in line and "|" in line


def test_log_lines_go_above_the_bar_never_through_it(tmp_path: Path) -> None:
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    port = free_port()
    export = export_with_agents_and_a_down_host(export_dir / "c.jsonl", port)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args = base_args(
            export,
            sandbox.url,
            tmp_path,
            "--allow-host",
            "127.0.0.1",
            "--download-host-wait",
            "1",
            "--workers",
            "2",
        )
        args.remove("--no-progress")  # the bar, on the terminal
        code, drawn = run_on_a_terminal(args)
    lines = screen_lines(drawn)
    shown = "\n".join(lines)
    assert code == 1, shown[-3000:]  # the conversations of the down host failed
    assert any(is_bar(line) for line in lines), shown  # a bar was drawn
    logged = [line for line in lines if "importer: " in line]
    # what was logged while the bar was drawn: each agent, the host that is down
    for agent in AGENTS:
        whole = (
            f"importer: agent {agent} has no Help Scout user: their messages go to the default user"
        )
        assert whole in lines, shown
    assert any(f"127.0.0.1:{port}: " in line and "in a row refused" in line for line in lines)
    for line in logged:  # every log line starts its own line, and no bar is in it
        assert line.startswith("importer: "), f"a log line drawn through the bar: {line!r}"
        assert not is_bar(line), line
        assert "conv/s" not in line, line
    for line in lines:
        if is_bar(line):
            assert "importer:" not in line, f"the bar split by a log line: {line!r}"
    # the bar's postfix says what happens
    assert any(is_bar(line) and "imported=" in line and "failed=" in line for line in lines)
