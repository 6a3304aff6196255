"""``importer undo``'s decisions on hand-built answers: what counts as changed since import,
what an adopted part must match, what the options select, and a DELETE whose answer was lost
settled by a GET (never sent again once it landed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from importer.commands.undo import Undoer, UndoJob, selected
from importer.commands.undo_report import UndoReport
from importer.commands.undo_rules import (
    ALLOWANCE_S,
    Selection,
    adopted_mismatch,
    parse_run,
    read_source_ids,
    verdict,
)
from importer.errors import UsageError
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.pipeline.checkpoint import Checkpoint, RunHeader, SentFacts, UndoTarget
from importer.planning.selection import parse_date_range
from importer.progress import Progress
from importer.transform.times import load_zone

WRITTEN = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def target(**changes: Any) -> UndoTarget:
    base = UndoTarget(
        source_id="S1", part=1, part_count=1, conversation_id=2000001, subject="Hello",
        customer_email="c@example.com", last_write_at=WRITTEN, threads=3, sent_status="closed",
        sent_assignee=None, sent_created_at="2022-01-01T00:00:00Z",
        first_thread_at="2022-01-01T00:00:00Z", run_number=1, run_tags=("wave1",),
        adopted=False, deleting=False,
    )  # fmt: skip
    return replace(base, **changes)


def ok(**body: Any) -> Outcome:
    found = {"threads": 3, "status": "closed", "assignee": None, "mailboxId": 85,
             "userUpdatedAt": "2023-11-14T22:13:20Z", "state": "published", **body}  # fmt: skip
    return Outcome(OutcomeKind.OK, 200, "ok", body=found)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (ok(), "delete"),
        (ok(userUpdatedAt="2023-11-14T22:18:00Z"), "delete"),  # within the 5-minute allowance
        (ok(userUpdatedAt="2023-11-14T22:18:21Z"), "changed"),  # past it
        (ok(threads=4), "changed"),
        (ok(status="active"), "changed"),
        (ok(assignee={"id": 7}), "changed"),
        (ok(mailboxId=86), "changed"),
        (ok(state="deleted"), "gone"),
        (Outcome(OutcomeKind.REJECTED, 404, "not_found"), "gone"),
        (Outcome(OutcomeKind.REJECTED, 301, "redirect"), "changed"),
        (Outcome(OutcomeKind.REJECTED, 400, "validation"), "failed"),
    ],
)
def test_verdict_of_each_answer(answer: Outcome, kind: str) -> None:
    assert kind == verdict(target(), answer, mailbox=85).kind
    assert ALLOWANCE_S == 300.0


def test_an_older_checkpoint_compares_user_updated_at_alone() -> None:
    """Recorded before version 4 (no thread count): only userUpdatedAt decides."""
    older = target(threads=None, sent_status=None)
    assert "delete" == verdict(older, ok(threads=9, status="active"), mailbox=85).kind
    late = ok(userUpdatedAt="2023-11-15T00:00:00Z")
    assert "changed" == verdict(older, late, mailbox=85).kind


def test_an_adopted_part_must_match_what_was_sent() -> None:
    threads = [{"createdAt": "2022-01-01T00:05:00Z"}, {"createdAt": "2022-01-01T00:00:00Z"}]
    body = {"subject": "Hello", "primaryCustomer": {"email": "C@example.com"},
            "_embedded": {"threads": threads}}  # fmt: skip
    adopted = target(adopted=True)
    assert "" == adopted_mismatch(adopted, body)
    assert "subject" in adopted_mismatch(adopted, {**body, "subject": "Other"})
    assert "customer" in adopted_mismatch(adopted, {**body, "primaryCustomer": {"email": "x@y"}})
    later = {**body, "_embedded": {"threads": threads[:1]}}
    assert "first thread" in adopted_mismatch(adopted, later)


def test_selection_by_source_id_dates_run_and_tag(tmp_path: Path) -> None:
    b = {"source_id": "B", "run_number": 2, "run_tags": ()}
    parts = [
        target(source_id="A", run_number=1, run_tags=("wave1",)),
        target(**b, sent_created_at="2023-05-01T00:00:00Z"),
        target(**b, part=2, sent_created_at="2023-05-02T00:00:00Z"),
    ]
    picked = lambda s: [(t.source_id, t.part) for t in selected(parts, s)]  # noqa: E731
    assert [("A", 1), ("B", 1), ("B", 2)] == picked(Selection())
    assert [("B", 1), ("B", 2)] == picked(Selection(run=2))
    assert [("A", 1)] == picked(Selection(tag="wave1"))
    dates = parse_date_range("2023-01-01", "2023-12-31", load_zone("UTC"))
    assert [("B", 1), ("B", 2)] == picked(Selection(dates=dates))
    ids = tmp_path / "ids.txt"
    ids.write_text("# chosen\nA\n\n", encoding="utf-8")
    assert [("A", 1)] == picked(Selection(source_ids=read_source_ids([], ids)))
    assert None is read_source_ids([], None)
    assert 3 == parse_run("latest", 3)
    assert 2 == parse_run("2", 3)
    with pytest.raises(UsageError, match="--run 'x'"):
        parse_run("x", 3)
    with pytest.raises(UsageError, match="--source-id-file"):
        read_source_ids([], tmp_path / "missing.txt")


@contextmanager
def one_part(tmp_path: Path) -> Iterator[tuple[Checkpoint, UndoTarget]]:
    """A checkpoint holding one created part (conversation 2000001), and that part."""
    with Checkpoint.open(tmp_path / "cp.sqlite", RunHeader("http://127.0.0.1:1", 85)) as cp:
        cp.parts.record_intent(
            "S1", 1, 1, subject="Hello", customer_email="c@example.com", payload_digest="d",
            sent=SentFacts(3, "closed", None, "2022-01-01T00:00:00Z", "2022-01-01T00:00:00Z"),
        )  # fmt: skip
        cp.parts.record_done("S1", 1, 2000001)
        (part,) = cp.undo.targets()
        yield cp, part


def undoer_of(cp: Checkpoint, client: Any, report: UndoReport) -> Undoer:
    return Undoer(
        client=client,
        log=cp.undo,
        report=report,
        job=UndoJob(selection=Selection(), yes=True),
        mailbox=85,
        progress=Progress("undo", enabled=False),
        stop=asyncio.Event(),
    )


class LosingClient:
    """The first DELETE's answer is lost (it landed); GETs then answer 404."""

    def __init__(self) -> None:
        self.deleted: set[int] = set()
        self.deletes = 0

    async def look_up_conversation(self, cid: int, *, embed_threads: bool = False) -> Outcome:
        if cid in self.deleted:
            return Outcome(OutcomeKind.REJECTED, 404, "not_found")
        return ok()

    async def delete_conversation(self, cid: int) -> Outcome:
        self.deletes += 1
        self.deleted.add(cid)
        return Outcome(OutcomeKind.IN_DOUBT, None, "disconnected")


def test_a_lost_delete_answer_is_settled_by_a_get_never_sent_again(tmp_path: Path) -> None:
    with one_part(tmp_path) as (cp, part):
        client = LosingClient()
        report = UndoReport(dry_run=False, checkpoint="cp")
        undoer = undoer_of(cp, client, report)
        assert "deleted" == asyncio.run(undoer.undo(part))
        assert (1, 1) == (client.deletes, report.counts["deleted"])
        assert [] == cp.undo.targets()  # out of the parts log: a rerun imports it afresh
        assert {"deleting": 0, "deleted": 1, "gone": 0} == cp.undo.undone_counts()
        assert cp.parts.holds_conversation(2000001, other_than=("S2", 1))  # never adopted


class UnlandedClient(LosingClient):
    """The first DELETE is lost before it landed (the GET still finds the conversation); the
    second lands and is answered."""

    async def delete_conversation(self, cid: int) -> Outcome:
        self.deletes += 1
        if self.deletes == 1:
            return Outcome(OutcomeKind.IN_DOUBT, None, "reset")
        self.deleted.add(cid)
        return Outcome(OutcomeKind.CREATED, 204, "created")


def test_a_lost_delete_that_did_not_land_is_sent_again_after_the_get(tmp_path: Path) -> None:
    """Lost, and the GET finds the conversation still there: sent once more, deleted once."""
    with one_part(tmp_path) as (cp, part):
        client = UnlandedClient()
        report = UndoReport(dry_run=False, checkpoint="cp")
        undoer = undoer_of(cp, client, report)
        assert "deleted" == asyncio.run(undoer.undo(part))
        assert (2, 1, 0) == (client.deletes, report.counts["deleted"], report.counts["failed"])
