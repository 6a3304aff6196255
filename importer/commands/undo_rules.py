"""``importer undo``'s two decisions, pure: which recorded parts the options select, and what a
part's conversation, as Help Scout answers for it now, allows (delete, gone, or keep).

Why pure: these rules are what keeps ``undo`` from deleting anything it should not; they are
tested on hand-built answers without a server.

Changed since import (kept unless ``--include-changed``): ``userUpdatedAt`` later than the
part's last write by the importer (creation or last upload) plus :data:`ALLOWANCE_S` of clock
allowance; more threads than were sent; a status, assignee or mailbox other than sent; an answer
301 (merged into another conversation). A part the checkpoint recorded before version 4 has only
its ``userUpdatedAt`` compared (with the time it was recorded done). A part reconciliation
adopted is deleted only when its subject, customer and first thread time match what was sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.errors import UsageError
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.pipeline.checkpoint import UndoTarget
from importer.planning.selection import DateRange
from importer.transform.times import parse_timestamp

#: seconds of clock allowance between Help Scout's ``userUpdatedAt`` and the importer's write
ALLOWANCE_S = 300.0


@dataclass(frozen=True)
class Selection:
    """What ``--since/--until``, ``--source-id``/``--source-id-file``, ``--run`` and
    ``--tag`` select (each left out selects everything)."""

    dates: DateRange = field(default_factory=DateRange)
    source_ids: frozenset[str] | None = None
    #: a run number, or None for every run (``--run latest`` is resolved to a number)
    run: int | None = None
    tag: str | None = None

    def picks(self, conversation: list[UndoTarget]) -> bool:
        """Whether the conversation (its recorded parts, in order) is selected."""
        first = conversation[0]
        if self.source_ids is not None and first.source_id not in self.source_ids:
            return False
        if not (self.dates.since is None and self.dates.until is None):
            created = _moment(first.sent_created_at)
            if created is None or not self.dates.holds(created):
                return False
        if self.run is not None and not any(p.run_number == self.run for p in conversation):
            return False
        return self.tag is None or any(self.tag in p.run_tags for p in conversation)


def read_source_ids(given: Iterable[str], file: Path | None) -> frozenset[str] | None:
    """``--source-id`` values and the lines of ``--source-id-file`` (blank lines and lines
    starting with # passed over); None when neither was given."""
    ids = {value.strip() for value in given if value.strip()}
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"--source-id-file {file}: cannot be read ({exc.strerror or exc}); give a "
                "text file with one source id a line"
            ) from None
        ids |= {line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"}
    if not ids and file is None and not list(given):
        return None
    return frozenset(ids)


def parse_run(value: str | None, latest: int | None) -> int | None:
    """``--run latest|N``: the run's number (``latest``: the checkpoint's latest run)."""
    if value is None:
        return None
    if value.strip().lower() == "latest":
        if latest is None:
            raise UsageError(
                "--run latest: this checkpoint records no numbered run (written before runs "
                "were numbered); select with --source-id or dates instead"
            )
        return latest
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"--run {value!r}: give latest or a run number (1, 2, ...)") from None
    if number < 1:
        raise UsageError(f"--run {value!r}: run numbers start at 1")
    return number


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_timestamp(value, UTC)
    except ValueError:
        return None


def _stamp(value: Any) -> float | None:
    moment = _moment(value) if isinstance(value, str) else None
    return moment.timestamp() if moment is not None else None


@dataclass(frozen=True)
class Verdict:
    """What may be done with a part's conversation: ``delete``, ``gone`` (404 or deleted
    already) or ``changed`` (kept, ``why``)."""

    kind: str
    why: str = ""


def verdict(target: UndoTarget, outcome: Outcome, *, mailbox: int) -> Verdict:
    """The verdict on ``target`` from the answer to ``GET /v2/conversations/{id}``."""
    if outcome.kind is OutcomeKind.REJECTED and outcome.code == "not_found":
        return Verdict("gone")
    if outcome.kind is OutcomeKind.REJECTED and outcome.code == "redirect":
        return Verdict("changed", "merged into another conversation (301)")
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if outcome.kind is not OutcomeKind.OK:
        return Verdict("failed", f"could not be read: {outcome.describe()}")
    if body.get("state") == "deleted":
        return Verdict("gone")
    why = changes(target, body, mailbox=mailbox)
    return Verdict("changed", why) if why else Verdict("delete")


def changes(target: UndoTarget, body: dict[str, Any], *, mailbox: int) -> str:
    """Why the conversation counts as changed since its import ("" when it does not)."""
    updated = _stamp(body.get("userUpdatedAt"))
    if updated is not None and updated > target.last_write_at + ALLOWANCE_S:
        return f"updated in Help Scout at {body.get('userUpdatedAt')}, after its import"
    if not target.recorded_facts:
        return ""  # recorded before version 4: userUpdatedAt alone
    threads = body.get("threads")
    if isinstance(threads, int) and target.threads is not None and threads > target.threads:
        return f"{threads} threads, {target.threads} imported"
    if target.sent_status is not None and body.get("status") != target.sent_status:
        return f"status {body.get('status')}, imported {target.sent_status}"
    assignee = body.get("assignee")
    assignee_id = assignee.get("id") if isinstance(assignee, dict) else None
    if assignee_id != target.sent_assignee:
        return f"assignee {assignee_id}, imported {target.sent_assignee}"
    if body.get("mailboxId") not in (None, mailbox):
        return f"moved to mailbox {body.get('mailboxId')}"
    return ""


def adopted_mismatch(target: UndoTarget, body: dict[str, Any]) -> str:
    """For a part reconciliation adopted: why the conversation is not the one that was sent
    (subject, customer or first thread time differ); "" when it matches."""
    if target.subject is not None and body.get("subject") != target.subject:
        return "adopted by reconciliation, and its subject is not the one sent"
    customer = body.get("primaryCustomer")
    email = customer.get("email") if isinstance(customer, dict) else None
    wanted = (target.customer_email or "").strip().lower()
    if wanted and (email or "").strip().lower() != wanted:
        return "adopted by reconciliation, and its customer is not the one sent"
    threads = (body.get("_embedded") or {}).get("threads") or []
    times = [_stamp(t.get("createdAt")) for t in threads if isinstance(t, dict)]
    first = min((t for t in times if t is not None), default=None)
    sent = _stamp(target.first_thread_at)
    if sent is not None and first != sent:
        return "adopted by reconciliation, and its first thread's time is not the one sent"
    return ""
