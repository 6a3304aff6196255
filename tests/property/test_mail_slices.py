"""A mail archive built in slices of threads by planning workers reads as in one process.

With ``--jobs`` the mail reader stages and threads the archive in the main process and the
workers build slices of its threads (:mod:`importer.readers.mail.slices`). A thread whose every
mail is left out (a bounce, an automatic reply, a Message-ID seen twice, the team writing to
itself, the team known by the mails labelled Sent) makes no conversation and hands its warnings
to the next conversation, or to the last one: a slice must never end between such a thread and
the conversation that takes its warnings.
Hypothesis writes archives of small threads of those mails, joined by In-Reply-To and by
subject, with mails that cannot be read, and compares every record (place, id, data, error and
warnings in order) of the slices, pickled as a worker gets them, with the serial read; half
the time within ``staging_workers`` of two jobs, where the threads are summed up for the join by
subject in worker processes, two a run (:mod:`importer.readers.mail.join`).
"""

from __future__ import annotations

import pickle
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers import open_export
from importer.readers.mail import join
from importer.readers.mail.slices import slice_cuts
from importer.readers.ordered_work import staging_workers
from importer.readers.source import SourceRecord
from importer.readers.staged_batches import StagedSlice

CUSTOMERS = ["ann@x.example", "bo@y.example"]
TEAM = "sam@shop.example"
LEARNED = "lee@shop.example"  # the team's only by the mails Gmail labels Sent
SUBJECTS = ["Refund", "Re: Refund", "Order 7", "RE: Order 7", "Fwd: Refund"]

mail = st.fixed_dictionaries(
    {
        "id": st.integers(0, 12),
        "parent": st.none() | st.integers(0, 12),
        "subject": st.sampled_from(SUBJECTS),
        "sender": st.sampled_from(["customer", "team", "bounce", "auto", "internal", "sent"]),
        "customer": st.sampled_from(CUSTOMERS),
        "day": st.integers(1, 28),
        "dated": st.booleans() | st.just(True),
    }
)


def _mbox(mails: list[dict[str, Any]]) -> str:
    out = []
    for n, m in enumerate(mails):
        sender = {
            "customer": m["customer"],
            "team": TEAM,
            "internal": TEAM,
            "bounce": "mailer-daemon@x.example",
            "auto": m["customer"],
            "sent": LEARNED,
        }[m["sender"]]
        rcpt = TEAM if m["sender"] in ("customer", "auto", "internal") else m["customer"]
        lines = [f"From {sender} Mon Jan  1 00:00:00 2024"] if m["dated"] else ["From x"]
        lines += [
            f"From: {sender}",
            f"To: {rcpt}",
            f"Subject: {m['subject']}",
            f"Message-ID: <m{m['id']}@x.example>",
        ]
        if m["dated"]:
            lines.append(f"Date: Mon, {m['day']:02d} Jan 2024 10:{n % 60:02d}:00 +0000")
        if m["parent"] is not None:
            lines.append(f"In-Reply-To: <m{m['parent']}@x.example>")
        if m["sender"] == "auto":
            lines.append("Auto-Submitted: auto-replied")
        if m["sender"] == "sent":
            lines.append("X-Gmail-Labels: Sent,Inbox")
        lines += ["", f"mail {n}", ""]
        out.append("\n".join(lines))
    return "\n".join(out) + "\n"


def _seen(records: list[SourceRecord]) -> list[tuple[Any, ...]]:
    return [
        (r.location, r.source_id, r.data, r.error, [w.message for w in r.warnings]) for r in records
    ]


@settings(max_examples=60, deadline=None)
@given(
    mails=st.lists(mail, min_size=1, max_size=25),
    size=st.integers(1, 4),
    named_team=st.booleans(),
    window_days=st.sampled_from([30, 0]),
    in_workers=st.booleans(),
)
def test_slices_of_threads_read_as_the_archive_reads(
    tmp_path_factory: Any,
    mails: list[dict[str, Any]],
    size: int,
    named_team: bool,
    window_days: int,
    in_workers: bool,
) -> None:
    folder = tmp_path_factory.mktemp("mail")
    export = folder / "export"
    export.mkdir()
    (export / "inbox.mbox").write_text(_mbox(mails), encoding="utf-8")
    mapping = folder / "mail.toml"
    team = f'team_addresses = ["{TEAM}"]\n' if named_team else ""
    mapping.write_text(f"{team}subject_window_days = {window_days}\n", encoding="utf-8")
    with open_export([export], "mail", mapping) as opened, ExitStack() as workers:
        serial = _seen(list(opened.records()))
        if in_workers:
            workers.enter_context(staging_workers(2, threading.Event()))
            workers.enter_context(patch.object(join, "RUN_THREADS", 2))
        batches = [pickle.loads(pickle.dumps(b)) for b in opened.record_batches(size)]
        built = _seen([r for b in batches for r in b.records()])
        again = _seen([r for b in batches for r in b.records()])
    assert built == serial
    assert again == serial
    slices = [b for b in batches if isinstance(b, StagedSlice)]
    # built by the workers whenever a thread makes a conversation (else all here, as read())
    assert bool(slices) == any(data is not None for _, _, data, _, _ in serial)
    assert all(len(list(b.records())) == b.count <= size for b in slices[:-1])


@settings(max_examples=300, deadline=None)
@given(makes=st.lists(st.booleans(), max_size=30), size=st.integers(1, 5))
def test_slice_cuts_end_at_a_conversation_and_cover_every_thread(
    makes: list[bool], size: int
) -> None:
    finals = [(10 + 3 * n, one) for n, one in enumerate(makes)]
    cuts = list(slice_cuts(finals, size))
    if not any(makes):
        assert cuts == []
        return
    seqs = [seq for seq, _ in finals]
    covered = [seq for first, last, _ in cuts for seq in seqs if first <= seq <= last]
    assert covered == seqs  # every thread once, in order
    made = dict(finals)
    for first, last, count in cuts:
        inside = [seq for seq in seqs if first <= seq <= last]
        assert count == sum(made[seq] for seq in inside)
        assert 1 <= count <= size
    for _, last, _ in cuts[:-1]:
        assert made[last]  # the threads after it (left out) go with the next conversation
    assert sum(count for *_, count in cuts) == sum(makes)


def test_a_thread_left_out_that_a_later_thread_joins_by_subject_makes_a_conversation(
    tmp_path: Path,
) -> None:
    """The thread of a bounce and a copy of it (the copy a repeated Message-ID: left out too)
    makes no conversation of its own; a later reply of the same subject and customer, whose
    parent is not in the archive, joins it: together they make one, which its slice counts."""
    base = {"parent": None, "customer": "ann@x.example", "dated": True}
    mails = [
        {**base, "id": 5, "subject": "Order 7", "sender": "customer", "day": 1},
        {**base, "id": 1, "subject": "Refund", "sender": "bounce", "day": 2},
        {**base, "id": 1, "subject": "Refund", "sender": "customer", "day": 3},
        {**base, "id": 7, "parent": 11, "subject": "Re: Refund", "sender": "customer", "day": 4},
    ]
    export = tmp_path / "export"
    export.mkdir()
    (export / "inbox.mbox").write_text(_mbox(mails), encoding="utf-8")
    mapping = tmp_path / "mail.toml"
    mapping.write_text(f'team_addresses = ["{TEAM}"]\n', encoding="utf-8")
    with open_export([export], "mail", mapping) as opened:
        serial = _seen(list(opened.records()))
        batches = list(opened.record_batches(1))
        built = _seen([r for b in batches for r in b.records()])
    assert [source_id for _, source_id, *_ in serial] == ["m5@x.example", "m7@x.example"]
    assert [b.count for b in batches if isinstance(b, StagedSlice)] == [1, 1]
    assert built == serial


def _no_worker_can(run: join.RootRun) -> list[join.RootSummary]:
    raise OSError("this worker cannot read the store")


def test_threads_no_worker_could_sum_up_are_summed_up_here(tmp_path: Path) -> None:
    """A run of roots a worker failed on is summed up in the main process: same records."""
    export = tmp_path / "export"
    export.mkdir()
    mails = [
        {"id": n, "parent": None, "subject": "Re: Refund" if n % 2 else "Refund"}
        | {"sender": "customer", "customer": CUSTOMERS[n % 2], "day": n + 1, "dated": True}
        for n in range(9)
    ]
    (export / "inbox.mbox").write_text(_mbox(mails), encoding="utf-8")
    with open_export([export], "mail") as opened:
        serial = _seen(list(opened.records()))
        with (
            staging_workers(2, threading.Event()),
            patch.object(join, "RUN_THREADS", 2),
            patch.object(join, "summed_up_run", _no_worker_can),
        ):
            batches = list(opened.record_batches(2))
        built = _seen([r for b in batches for r in b.records()])
    assert built == serial
    assert sum(1 for _, _, data, _, _ in serial if data is not None) == 6  # 4 replies in one


def test_workers_sum_up_threads_with_the_team_learned_from_sent_mails(tmp_path: Path) -> None:
    """A reply from an address the team is known by only through its Sent mails joins its
    customer's thread by subject in the workers too (they read the team from the store)."""
    export = tmp_path / "export"
    export.mkdir()
    first = {"id": 0, "parent": None, "subject": "Refund", "sender": "customer", "day": 2}
    sent = {"id": 1, "parent": None, "subject": "Re: Refund", "sender": "sent", "day": 1}
    reply = {"id": 2, "parent": 9, "subject": "Re: Refund", "sender": "sent", "day": 3}
    mails = [m | {"customer": CUSTOMERS[0], "dated": True} for m in (sent, first, reply)]
    (export / "inbox.mbox").write_text(_mbox(mails), encoding="utf-8")
    with open_export([export], "mail") as opened:
        serial = _seen(list(opened.records()))
        with staging_workers(2, threading.Event()), patch.object(join, "RUN_THREADS", 1):
            batches = list(opened.record_batches(1))
        built = _seen([r for b in batches for r in b.records()])
    assert built == serial
    assert sum(1 for _, _, data, _, _ in serial if data is not None) == 2  # the reply joined
