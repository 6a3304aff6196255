"""``validate``/``convert`` with worker processes (``--jobs``) say exactly what one process says:
the same report, the same dead letters in the same order, the same converted lines; a worker
that dies loses nothing, and a killed main process leaves no worker behind."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from importer.commands.validate import run_offline
from importer.planning import pool as planning_pool
from importer.settings import TransformSettings
from importer.worker_process import PARENT_CHECK_S

from .conftest import ROOT, run_importer, start_importer, wait_for_exit

SAMPLES = sorted(p for p in (ROOT / "samples").glob("*/export"))


def _record(index: int, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "source_id": f"J{index}",
        "subject": f"Subject {index}",
        "customer": {"email": f"c{index % 7}@example.com"},
        "messages": [
            {
                "created_at": f"2022-03-{1 + index % 28:02d}T10:00:00Z",
                "author_role": "customer",
                "body_text": f"question {index}",
            },
            {
                "created_at": f"2022-03-{1 + index % 28:02d}T11:00:00Z",
                "author_role": "agent",
                "author_email": "agent@example.com",
                "body_text": f"answer {index}",
            },
        ],
    }
    record.update(changes)
    return record


def awkward_export(folder: Path) -> Path:
    """A JSONL export of 40 lines with everything that takes another path: broken lines, blank
    lines, repeated ids (in one batch and across batches), a line holding two records and one
    holding none, bad times, and a file of the export that no reader takes (a warning)."""
    folder.mkdir()
    lines: list[str] = []
    for index in range(40):
        if index % 9 == 4:
            lines.append('{"source_id": "broken' + str(index) + '", "messages": [')
        elif index % 11 == 5:
            lines.append("")
        elif index == 13:
            lines.append(json.dumps([_record(1000), _record(1001)]))
        elif index == 17:
            lines.append("[]")
        elif index in (20, 31):
            lines.append(json.dumps(_record(7)))  # J7 again: once near, once far from the first
        elif index == 22:
            bad = _record(index)
            bad["messages"][0]["created_at"] = "yesterday"
            lines.append(json.dumps(bad))
        else:
            lines.append(json.dumps(_record(index)))
    (folder / "conversations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "other.json").write_text(json.dumps({"widgets": [{"size": 1}]}), encoding="utf-8")
    return folder


def offline(
    command: str, export: Path, out: Path, jobs: int, **settings: Any
) -> tuple[dict[str, Any], list[Any], str]:
    """The report (without its time), the dead letters and the converted lines of one run."""
    out.mkdir()
    report = run_offline(
        command,
        [export],
        TransformSettings(**settings),
        output=out / "out.jsonl" if command == "convert" else None,
        report_path=out / "report.json",
        dead_letter_path=out / "dead.jsonl",
        jobs=jobs,
        batch_size=3,
    )
    assert report.balanced()
    body = json.loads((out / "report.json").read_text())
    body.pop("elapsed_s")
    dead = [json.loads(line) for line in (out / "dead.jsonl").read_text().splitlines()]
    converted = (out / "out.jsonl").read_text() if command == "convert" else ""
    return body, dead, converted


@pytest.mark.parametrize(
    "settings",
    [{}, {"limit": 17}, {"since": "2022-03-05", "until": "2022-03-20"}],
    ids=["all", "limit", "dates"],
)
def test_workers_say_what_one_process_says(tmp_path: Path, settings: dict[str, Any]) -> None:
    export = awkward_export(tmp_path / "export")
    one = offline("convert", export, tmp_path / "one", 1, **settings)
    two = offline("convert", export, tmp_path / "two", 2, **settings)
    assert one == two
    report, dead, converted = two
    assert report["invalid"] > 0  # both paths were taken
    assert report["valid"] > 0
    assert any("already seen" in json.dumps(entry) for entry in dead) or "limit" in settings
    assert converted.count("\n") == report["valid"]
    if not settings:
        assert report["warnings"], "the passed-over file's warning is kept"


def awkward_csv_export(folder: Path, messages_alone: bool) -> Path:
    """A generic CSV export with rows in shuffled order, a broken row, a repeated conversation
    row, message rows of no conversation and a row without an id."""
    folder.mkdir()
    rng = random.Random(5)
    head = (
        "conversation_id,message_id,created_at,author_role,author_email,body_text,customer_email\n"
    )
    rows = [
        f"C{n},{n}-{m},2023-0{1 + n % 9}-1{m} 10:00:00,{'customer' if m % 2 == 0 else 'agent'},"
        f"{'c' if m % 2 == 0 else 'a'}{n}@example.com,text {n}.{m},c{n}@example.com\n"
        for n in range(30)
        for m in range(1 + n % 4)
    ]
    rows += ["C3,3-9,2023-01-01 10:00:00,customer\n", ",x,2023-01-01 10:00:00,agent,a@x.io,x,\n"]
    if not messages_alone:
        rows += ["C99,99-1,2023-01-01 10:00:00,customer,c99@example.com,of nobody,\n"]
        conversations = "conversation_id,subject,customer_email\n" + "".join(
            f"C{n},Subject {n},c{n}@example.com\n" for n in [*range(30), 7]
        )
        (folder / "conversations.csv").write_text(conversations)
    rng.shuffle(rows)
    (folder / "messages.csv").write_text(head + "".join(rows))
    return folder


@pytest.mark.parametrize("messages_alone", [False, True], ids=["two-files", "messages-alone"])
def test_csv_conversations_built_in_workers_read_as_in_one_process(
    tmp_path: Path, messages_alone: bool
) -> None:
    export = awkward_csv_export(tmp_path / "export", messages_alone)
    one = offline("convert", export, tmp_path / "one", 1)
    two = offline("convert", export, tmp_path / "two", 2)
    assert one == two
    assert one[0]["invalid"] > 0
    assert one[0]["valid"] > 20


@pytest.mark.parametrize("export", SAMPLES, ids=lambda path: path.parent.name)
def test_every_sample_validates_alike_in_workers(tmp_path: Path, export: Path) -> None:
    one = offline("validate", export, tmp_path / "one", 1)
    two = offline("validate", export, tmp_path / "two", 2)
    assert one == two


def test_a_worker_that_dies_loses_no_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The forked workers inherit the patch: the one that plans J7 exits on the spot, so the
    pool breaks; the main process plans what the workers did not, and says so."""
    main = os.getpid()
    real_plan_record = planning_pool.plan_record

    def dying(record: Any, ctx: Any) -> Any:
        if os.getpid() != main and record.source_id == "J7":
            os._exit(9)
        return real_plan_record(record, ctx)

    export = awkward_export(tmp_path / "export")
    expected = offline("validate", export, tmp_path / "one", 1)
    monkeypatch.setattr(planning_pool, "plan_record", dying)
    assert offline("validate", export, tmp_path / "two", 2) == expected
    assert "planned in this process" in caplog.text


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _stopped_at(export: Path, how: str, delay: float) -> None:
    process = start_importer(["validate", str(export), "--jobs", "2", "--no-progress", "-q"])
    workers: list[int] = []
    deadline = time.monotonic() + 30
    while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
        workers = _children(process.pid)
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(delay)
    process.send_signal(getattr(signal, how.upper()))
    code, stderr = wait_for_exit(process, timeout=10)
    assert code == (-signal.SIGKILL if how == "sigkill" else 130), stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 3 * PARENT_CHECK_S + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "a worker outlived the main process"


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough conversations to keep two workers busy for seconds."""
    export = tmp_path_factory.mktemp("big") / "big.jsonl"
    with export.open("w") as out:
        for index in range(40_000):
            out.write(json.dumps(_record(index)) + "\n")
    return export


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("how", "delays"),
    [("sigkill", (0.2,)), ("sigint", (0.0, 0.15, 0.4, 0.9)), ("sigterm", (0.05, 0.5))],
)
def test_no_worker_outlives_its_main_process(
    big_export: Path, how: str, delays: tuple[float, ...]
) -> None:
    """Killed (SIGKILL) or stopped (SIGINT, SIGTERM: exit 130, within the 10 s allowed, at
    several moments: a stop raised inside the pool's own code once hung the exit), the main
    process leaves no worker running."""
    for delay in delays:
        _stopped_at(big_export, how, delay)


def test_workers_end_quietly_with_the_command(tmp_path: Path) -> None:
    """The real console script with its signal handlers: workers started and stopped, nothing
    but the report on the way."""
    export = tmp_path / "some.jsonl"
    export.write_text("".join(json.dumps(_record(i)) + "\n" for i in range(900)))
    done = run_importer(["validate", str(export), "--jobs", "2", "--no-progress"])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "valid" in done.stdout


def test_without_fork_the_command_plans_in_its_own_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where processes cannot be forked (Windows), --jobs falls back to planning in process."""
    export = awkward_export(tmp_path / "export")
    expected = offline("validate", export, tmp_path / "one", 1)

    def no_pool(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("no worker may be started without fork")

    monkeypatch.setattr(planning_pool, "can_fork", lambda: False)
    monkeypatch.setattr(planning_pool, "ProcessPoolExecutor", no_pool)
    assert planning_pool.default_jobs() == 1
    assert offline("validate", export, tmp_path / "two", 2) == expected


def test_heavy_batches_are_planned_here_and_say_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch heavier than HEAVY_BATCH_BYTES is not sent to a worker (its bytes would be held
    twice); the others are, and the report and output are those of one process."""
    export = tmp_path / "export"
    export.mkdir()
    lines = [
        json.dumps(_record(index, subject="x" * (3000 if index % 5 == 0 else 10)))
        for index in range(30)
    ]
    (export / "conversations.jsonl").write_text("\n".join(lines) + "\n")
    sent: list[int] = []
    real_submit = planning_pool.PlanningPool._submit

    def counted(pool: planning_pool.PlanningPool, batch: Any) -> Any:
        sent.append(batch.weight)
        return real_submit(pool, batch)

    monkeypatch.setattr(planning_pool, "HEAVY_BATCH_BYTES", 2000)
    monkeypatch.setattr(planning_pool.PlanningPool, "_submit", counted)
    one = offline("convert", export, tmp_path / "one", 1)
    two = offline("convert", export, tmp_path / "two", 2)
    assert one == two
    assert sent  # light batches went to the workers
    assert all(weight <= 2000 for weight in sent)  # heavy ones (a 3,000-byte subject) did not
