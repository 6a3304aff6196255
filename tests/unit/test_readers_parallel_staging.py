"""Staging in worker processes writes what one process writes (importer.readers.parallel_staging):
the same rows in the same order, the same read counts and warnings; a worker that fails loses
nothing, and a stop is taken between runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importer.readers import open_export, ordered_work
from importer.readers import parallel_staging as parallel
from importer.readers.read_counts import ReadCounts, counting_reads
from importer.readers.routing import RoutedItems
from importer.readers.staging import StagingStore

ROOT = Path(__file__).resolve().parents[2]
STAGED_SAMPLES = ["zendesk", "freshdesk", "intercom", "front", "gorgias", "helpscout"]


def _ndjson(path: Path, records: list[Any]) -> None:
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records))


def _zendesk_export(folder: Path) -> Path:
    """Tickets listed twice (the later copy with more comments wins, the other not), a broken
    line, comments of no ticket and of a ticket not in the export, users in a JSON document
    (parsed in the main process, between runs), over many runs of lines."""
    export = folder / "zendesk-export"
    export.mkdir()
    tickets: list[Any] = []
    for n in range(1, 25):
        tickets.append({"id": n, "subject": f"T{n}", "status": "solved", "requester_id": 900})
    tickets.insert(5, {"id": 3, "subject": "T3 again", "comments": [{"id": 1, "body": "x"}]})
    tickets.insert(9, {"id": 4, "subject": "T4 again"})
    tickets.insert(12, '{"id": 13, "subject": "broken\n')
    _ndjson(export / "tickets.json", tickets)
    comments: list[Any] = [
        {"id": 100 + n, "ticket_id": n % 30, "body": f"c{n}", "author_id": 900, "public": True}
        for n in range(60)
    ]
    comments.insert(7, {"id": 999, "body": "no ticket", "author_id": 900, "public": True})
    comments.insert(20, '{"id": 998, "ticket_id": 2, "body": \n')
    _ndjson(export / "ticket_comments.json", comments)
    users = {"users": [{"id": 900, "name": "Ann", "email": "ann@example.com", "role": "end-user"}]}
    (export / "users.json").write_text(json.dumps(users, indent=1))
    return export


def _staged(export_path: Path, fmt: str | None, *, jobs: int, folder: Path) -> dict[str, Any]:
    """Everything one staging leaves: the rows, the warnings, the read counts."""
    folder.mkdir()
    with open_export([export_path], fmt) as export:
        reader: Any = export.reader
        counts = ReadCounts(export.format, reader.roles[0])
        routed = RoutedItems(reader, export.files_by_role)
        with (
            StagingStore(folder) as store,
            counting_reads(counts),
            parallel.staging_workers(jobs, threading.Event()),
        ):
            warnings = reader.stage_all(routed, store)
            store.commit()
            rows = [
                (s.seq, s.kind, s.key, s.location, s.record)
                for kind in sorted({k for (k,) in store._db.execute("SELECT kind FROM staged")})
                for s in store.of_kind(kind)
            ]
        return {
            "rows": sorted(rows, key=lambda row: row[0]),
            "warnings": warnings + routed.take_warnings(),
            "tally": dict(counts.tally),
        }


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "RUN_LINES", 4)  # many runs, several in flight


@pytest.mark.usefixtures("small_runs")
def test_workers_stage_what_one_process_stages(tmp_path: Path) -> None:
    export = _zendesk_export(tmp_path)
    one = _staged(export, "zendesk", jobs=1, folder=tmp_path / "one")
    two = _staged(export, "zendesk", jobs=2, folder=tmp_path / "two")
    assert two == one
    kinds = {row[1] for row in one["rows"]}
    assert {"tickets", "comments", "users", "duplicates", "unparsed"} <= kinds
    assert [w.code for w in one["warnings"]].count("ticket_id") == 1  # the comment of no ticket


@pytest.mark.usefixtures("small_runs")
@pytest.mark.parametrize("fmt", STAGED_SAMPLES)
def test_every_staged_sample_stages_alike_in_workers(tmp_path: Path, fmt: str) -> None:
    export = ROOT / "samples" / fmt / "export"
    one = _staged(export, fmt, jobs=1, folder=tmp_path / "one")
    assert one["rows"], "nothing was staged"
    assert _staged(export, fmt, jobs=2, folder=tmp_path / "two") == one


@pytest.mark.usefixtures("small_runs")
def test_a_reader_whose_stage_reads_the_store_is_staged_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker cannot read the store: each run it fails is staged in the main process, and
    so is every run after it, with nothing lost or staged twice."""
    export = _zendesk_export(tmp_path)
    one = _staged(export, "zendesk", jobs=1, folder=tmp_path / "one")
    from importer.readers.zendesk.reader import ZendeskReader

    real_stage = ZendeskReader.stage

    def reading_stage(self: Any, store: StagingStore, role: str, item: Any, **kw: Any) -> int:
        store.count("users")  # a plug-in may look before it puts
        return real_stage(self, store, role, item, **kw)

    monkeypatch.setattr(ZendeskReader, "stage", reading_stage)
    assert _staged(export, "zendesk", jobs=2, folder=tmp_path / "two") == one


def test_the_recording_store_cannot_be_read() -> None:
    store = parallel.RecordingStore()
    store.put("users", "1", "u.json:1", record={"id": 1})
    assert [row[:3] for row in store.rows] == [("users", "1", "u.json:1")]
    with pytest.raises(TypeError, match="cannot be read"):
        store.first("users", "1")
    with pytest.raises(TypeError, match="cannot be read"):
        store.by_key("users", "1")


@pytest.mark.usefixtures("small_runs")
def test_a_stop_is_taken_between_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the stop is set (by SIGINT, in ``validate --jobs``), the next check raises
    KeyboardInterrupt: the runs after it are not written, the workers are shut down."""
    export = _zendesk_export(tmp_path)
    stop = threading.Event()
    written: list[int] = []
    real_write = parallel._write

    def write_then_stop(run: parallel.StagedRun, *args: Any, **kwargs: Any) -> None:
        real_write(run, *args, **kwargs)
        written.append(len(run.rows))
        stop.set()

    monkeypatch.setattr(parallel, "_write", write_then_stop)
    with open_export([export], "zendesk") as opened:
        reader: Any = opened.reader
        routed = RoutedItems(reader, opened.files_by_role)
        with StagingStore(tmp_path) as store, parallel.staging_workers(2, stop):
            with pytest.raises(KeyboardInterrupt):
                reader.stage_all(routed, store)
            assert store.count("tickets") < 24
    assert written == [written[0]]  # one run written, then the stop


def test_outside_staging_workers_nothing_is_forked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: Any, **kwargs: Any) -> Iterator[None]:
        raise AssertionError("a pool was started")

    monkeypatch.setattr(ordered_work, "ProcessPoolExecutor", no_pool)
    export = _zendesk_export(tmp_path)
    assert parallel.current_staging_workers() is None
    with open_export([export], "zendesk") as opened:
        assert sum(1 for _ in opened.records()) >= 24


def _mail_records(export_path: Path, *, jobs: int) -> list[Any]:
    with (
        open_export([export_path], "mail") as export,
        parallel.staging_workers(jobs, threading.Event()),
    ):
        records = list(export.records())
    return [(r.location, r.source_id, r.data, r.error, r.warnings) for r in records]


def _mixed_archive(folder: Path) -> Path:
    """The sample's mails twice (every Message-ID repeated), a hostile archive between, and a
    mail over the record bound."""
    sample = next((ROOT / "samples/mail/export").glob("*.mbox")).read_bytes()
    hostile = (ROOT / "tests/data/readers/mail-hostile/leading-whitespace.mbox").read_bytes()
    big = b"From x@y Mon Jan 03 08:06:20 +0000 2022\nSubject: big\n\n" + b"a" * 300_000 + b"\n"
    archive = folder / "mixed.mbox"
    archive.write_bytes(sample + b"\n" + hostile + b"\n" + big + sample)
    return archive


@pytest.mark.parametrize("archive", ["samples/mail/export", "mixed"])
def test_mails_read_in_workers_make_what_one_process_makes(
    archive: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importer.readers.mail import read as mail_read

    monkeypatch.setattr(mail_read, "RUN_MAILS", 2)  # many runs, several in flight
    path = _mixed_archive(tmp_path) if archive == "mixed" else ROOT / archive
    one = _mail_records(path, jobs=1)
    assert len(one) > 2
    assert _mail_records(path, jobs=2) == one
