"""Customer data at rest: what the importer writes is its owner's alone, whatever the umask.

Under umask 022 (files 0644, folders 0755 by default), the real CLI and the sandbox as child
processes: the checkpoint (and its -wal/-shm while they exist), the report, the dead letters, the
event log, convert's output, fetched attachments, the sandbox's --db are 0600; the folders
fetch-attachments creates are 0700; a folder the user gave keeps its mode.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from importer.sandbox.testing import sandbox_process

from .conftest import base_args, run_importer, write_export
from .file_server import serving_files
from .test_fetch_attachments import ALLOW, export_with_links

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("umask_022")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(paths: list[Path]) -> dict[str, str]:
    return {path.name: oct(mode(path)) for path in paths}


def user_folder(path: Path) -> Path:
    """A folder the user made, readable by others."""
    path.mkdir()
    path.chmod(0o755)
    return path


def test_run_writes_private_files_and_leaves_the_given_folder_alone(
    tmp_path: Path, export_dir: Path
) -> None:
    export = write_export(export_dir / "conversations.jsonl", 5)
    with export.open("a") as more:  # one invalid conversation: a dead letter
        more.write(json.dumps({"source_id": "bad", "messages": []}) + "\n")
    out = user_folder(tmp_path / "out")
    db = out / "sandbox.sqlite"
    outputs = {
        "--checkpoint": out / "cp.sqlite",
        "--report": out / "report.json",
        "--dead-letter": out / "dead.jsonl",
        "--log-json": out / "events.jsonl",
    }
    with sandbox_process(["--db", str(db), "--mailbox", "85"]) as (_, url):
        args = base_args(export, url, tmp_path)
        for flag, path in outputs.items():
            args += [flag, str(path)]
        result = run_importer(args)
        assert 1 == result.returncode, result.stderr[-2000:]
        written = [*outputs.values(), db]
        for suffix in ("-wal", "-shm", "-journal"):  # SQLite's, while present
            written += list(out.glob(f"*{suffix}"))
        assert {p.name: "0o600" for p in written} == modes(written)
    assert 0o755 == mode(out)
    assert 1 == len(outputs["--dead-letter"].read_text().splitlines())


def test_validate_and_convert_write_private_files(tmp_path: Path, export_dir: Path) -> None:
    export = write_export(export_dir / "conversations.jsonl", 3)
    out = user_folder(tmp_path / "out")
    report, dead, log, converted = (out / n for n in ("r.json", "d.jsonl", "e.jsonl", "c.jsonl"))
    result = run_importer(
        [
            *("convert", str(export), "-o", str(converted), "--report", str(report)),
            *("--dead-letter", str(dead), "--log-json", str(log), "--no-progress"),
        ]
    )
    assert 0 == result.returncode, result.stderr[-2000:]
    written = [report, dead, log, converted]
    assert {p.name: "0o600" for p in written} == modes(written)
    assert 0o755 == mode(out)


def test_fetch_attachments_creates_private_folders_and_files(
    tmp_path: Path, export_dir: Path
) -> None:
    given = user_folder(tmp_path / "given")
    folder = given / "files" / "kept"  # two folders the importer creates
    with serving_files() as files:
        export = export_with_links(
            export_dir / "links.jsonl", [("a.pdf", files.url("good/a.pdf?size=5000"))]
        )
        report = given / "fetch.json"
        result = run_importer(
            [
                *("fetch-attachments", str(export), "--to", str(folder)),
                *("--report", str(report), "--no-progress", *ALLOW),
            ]
        )
    assert 0 == result.returncode, result.stderr[-2000:]
    kept = [path for path in folder.rglob("*") if path.is_file()]
    assert 1 == len(kept)
    folders = [given / "files", folder, *[p for p in folder.rglob("*") if p.is_dir()]]
    assert {p.name: "0o700" for p in folders} == modes(folders)
    assert {p.name: "0o600" for p in [*kept, report]} == modes([*kept, report])
    assert 0o755 == mode(given)
