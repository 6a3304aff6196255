"""A ``--mapping`` that is not a plain UTF-8 TOML file stops the command with exit 2 and says
why, instead of being read as empty (a pipe, read again) or crashing (bytes that are not UTF-8).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "csv" / "export"


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importer", "validate", str(SAMPLE), "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=60,  # a named pipe opened with no writer would block: fail, not hang
        check=False,
        cwd=ROOT,
    )


def test_an_unknown_table_in_a_file_exits_2(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("nonsense_key = 1\n")
    result = validate("--mapping", str(mapping))
    assert result.returncode == 2, result.stderr
    assert "nonsense_key" in result.stderr


def test_a_named_pipe_is_refused_not_read_as_empty(tmp_path: Path) -> None:
    fifo = tmp_path / "mapping.toml"
    os.mkfifo(fifo)
    result = validate("--mapping", str(fifo))
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr
    assert str(fifo) in result.stderr


def test_a_pipe_from_process_substitution_is_refused(tmp_path: Path) -> None:
    """What ``--mapping <(printf ...)`` gives: /dev/fd/N, an open pipe with a writer."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"nonsense_key = 1\n")
    os.close(write_end)
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "importer",
                "validate",
                str(SAMPLE),
                "--no-progress",
                "--mapping",
                f"/dev/fd/{read_end}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
            pass_fds=(read_end,),
        )
    finally:
        os.close(read_end)
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr


@pytest.mark.parametrize(
    ("content", "named"),
    [(b'[conversation_columns]\nsubject = "\xff"\n', "not UTF-8"), (b"a = [\n", "not valid TOML")],
)
def test_a_file_that_is_not_toml_text_exits_2(tmp_path: Path, content: bytes, named: str) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_bytes(content)
    result = validate("--mapping", str(mapping))
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
