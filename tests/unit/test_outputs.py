"""Files written at explicit paths are private whatever the umask; full-disk errors are told
apart (see importer.outputs). The command line's own umask is tested through the real CLI in
tests/integration/test_private_at_rest.py."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from importer.errors import OutputWriteError
from importer.events import EventLog
from importer.outputs import OutputFile, is_disk_full, make_private_dirs
from importer.pipeline.checkpoint import Checkpoint, RunHeader
from importer.report import write_json_atomic
from importer.sandbox.store import Store

pytestmark = pytest.mark.usefixtures("umask_022")


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_a_checkpoint_and_its_wal_and_shm_are_private_while_open(tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"
    with Checkpoint.open(path, RunHeader("http://127.0.0.1:1", 85, "canonical")) as checkpoint:
        checkpoint.errors.log_error(stage="read", code="x", message="y")
        files = [path, tmp_path / "cp.sqlite-wal", tmp_path / "cp.sqlite-shm"]
        assert ["0o600"] * 3 == [mode(p) for p in files]


def test_the_sandbox_db_report_and_line_files_are_private(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "sandbox.sqlite"))
    store.close()
    write_json_atomic({"a": 1}, tmp_path / "report.json")
    lines = OutputFile(tmp_path / "dead.jsonl")
    lines.write("{}\n")
    lines.close()
    events = EventLog(tmp_path / "events.jsonl")
    events.emit("x")
    events.close()
    names = ["sandbox.sqlite", "report.json", "dead.jsonl", "events.jsonl"]
    assert ["0o600"] * 4 == [mode(tmp_path / name) for name in names]


def test_folders_made_are_private_and_a_given_one_keeps_its_mode(tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.mkdir(mode=0o755)
    make_private_dirs(given / "a" / "b")
    assert ("0o755", "0o700", "0o700") == (
        mode(given),
        mode(given / "a"),
        mode(given / "a" / "b"),
    )


def test_a_line_written_in_part_is_cut_off_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    lines = OutputFile(path)
    lines.write("whole\n")
    handle = lines._handle
    assert handle is not None

    def no_room(text: str) -> int:
        os.write(handle.fileno(), text[:3].encode())  # in part, as at the file size limit
        raise OSError(errno.EFBIG, "File too large")

    handle.write = no_room  # type: ignore[method-assign]
    with pytest.raises(OutputWriteError, match="File too large") as caught:
        lines.write("second line\n")
    assert str(path) == caught.value.path
    with pytest.raises(OutputWriteError):
        lines.write("third\n")
    lines.close()
    assert "whole\n" == path.read_text()


def test_full_disk_errors_are_told_apart() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # type: ignore[attr-defined]
    assert is_disk_full(full)
    assert not is_disk_full(locked)
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
