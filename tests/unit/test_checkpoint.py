"""The checkpoint: pure roll-up rules without SQLite, then the SQLite intent log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fake_clock import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from importer.errors import CheckpointError
from importer.pipeline.checkpoint import (
    SCHEMA_VERSION,
    Checkpoint,
    ConversationState,
    NextAction,
    PartState,
    RunHeader,
    next_action,
    normalise_api_url,
    rollup,
)

P = PartState
C = ConversationState
URL = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("states", "count", "expected"),
    [
        ([], 1, C.PENDING),
        ([P.PENDING], 1, C.PENDING),
        ([P.DONE], 1, C.DONE),
        ([P.DONE, P.DONE], 2, C.DONE),
        ([P.DONE], 2, C.IN_PROGRESS),  # part 2 not even recorded
        ([P.DONE, P.PENDING], 2, C.IN_PROGRESS),
        ([P.DONE, P.SENDING], 2, C.IN_DOUBT),
        ([P.IN_DOUBT, P.FAILED], 2, C.IN_DOUBT),  # unsettled wins: it may exist
        ([P.DONE, P.FAILED], 2, C.FAILED),
        ([P.FAILED], 1, C.FAILED),
    ],
)
def test_rollup(states, count, expected):
    """A conversation is done only when all its parts are; unsettled parts make it in doubt."""
    assert expected == rollup(states, count)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, NextAction.SEND),
        (P.PENDING, NextAction.SEND),
        (P.FAILED, NextAction.SEND),
        (P.SENDING, NextAction.RECONCILE),
        (P.IN_DOUBT, NextAction.RECONCILE),
        (P.DONE, NextAction.SKIP),
    ],
)
def test_next_action(state, expected):
    """Anything that may exist in Help Scout is looked up before it is sent again."""
    assert expected == next_action(state)


def test_normalise_api_url():
    """Trailing slashes and host case do not make another API."""
    assert normalise_api_url("HTTPS://API.HelpScout.net/") == "https://api.helpscout.net"


@pytest.fixture
def clock(fake_clock: FakeClock) -> FakeClock:
    return fake_clock


@pytest.fixture
def cp(tmp_path: Path, clock: FakeClock):
    with Checkpoint.open(tmp_path / "run.sqlite", RunHeader(URL, 1, "zendesk"), clock=clock) as c:
        yield c


def intent(cp: Checkpoint, source_id: str = "s1", part: int = 1, count: int = 1) -> float:
    return cp.parts.record_intent(
        source_id,
        part,
        count,
        subject=f"Subj {source_id}",
        customer_email="a@b.c",
        payload_digest="d1",
    )


def test_open_writes_header_and_pragmas(tmp_path: Path, clock: FakeClock):
    """The header holds API URL, mailbox, format, time, version; WAL and synchronous=FULL."""
    path = tmp_path / "run.sqlite"
    with Checkpoint.open(path, RunHeader(URL + "/", 7, "csv"), clock=clock) as cp:
        assert cp.header.api_url == URL
        assert cp.header.mailbox == 7
        assert cp.header.format == "csv"
        assert cp.header.created_at == clock.now
        mode = cp.store.conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = cp.store.conn.execute("PRAGMA synchronous").fetchone()[0]
        assert (mode, sync) == ("wal", 2)
    raw = sqlite3.connect(path)
    keys = dict(raw.execute("SELECT key, value FROM run").fetchall())
    raw.close()
    assert set(keys) == {
        "api_url",
        "mailbox",
        "format",
        "created_at",
        "importer_version",
        "schema_version",
    }


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (RunHeader("https://api.helpscout.net", 1), r"API URL http://127\.0\.0\.1:8765, not https"),
        (RunHeader(URL, 2), "mailbox 1, not 2"),
    ],
)
def test_open_refuses_another_api_or_mailbox(tmp_path: Path, clock: FakeClock, header, message):
    """Another API URL or mailbox is refused, naming both values and the fix."""
    path = tmp_path / "run.sqlite"
    Checkpoint.open(path, RunHeader(URL, 1), clock=clock).close()
    with pytest.raises(CheckpointError, match=message) as info:
        Checkpoint.open(path, header, clock=clock)
    assert "--checkpoint" in str(info.value)


def test_open_keeps_the_first_header(tmp_path: Path, clock: FakeClock):
    """Reopening (a delta run) keeps the original creation time and format."""
    path = tmp_path / "run.sqlite"
    Checkpoint.open(path, RunHeader(URL, 1, "zendesk"), clock=clock).close()
    clock.now += 100
    with Checkpoint.open(path, RunHeader(URL, 1, "csv"), clock=clock) as cp:
        assert (cp.header.format, cp.header.created_at) == ("zendesk", clock.now - 100)


def test_open_refuses_a_damaged_file(tmp_path: Path):
    """A file that is not SQLite is a CheckpointError naming the file."""
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CheckpointError, match="damaged") as info:
        Checkpoint.open(path, RunHeader(URL, 1))
    assert str(path) in str(info.value)


def test_intent_keeps_first_attempt_time(cp: Checkpoint, clock: FakeClock):
    """Re-sending a part keeps the first send time and counts attempts."""
    first = intent(cp)
    clock.now += 50
    assert intent(cp) == first
    part = cp.parts.part("s1", 1)
    assert part is not None
    assert (part.state, part.attempts, part.first_sent_at) == (P.SENDING, 2, first)
    assert (part.subject, part.customer_email, part.payload_digest) == ("Subj s1", "a@b.c", "d1")


def test_done_part_is_never_sent_again(cp: Checkpoint):
    """An intent on a done part is refused."""
    intent(cp)
    cp.parts.record_done("s1", 1, 555)
    with pytest.raises(CheckpointError, match="already done"):
        intent(cp)
    assert cp.parts.part("s1", 1).conversation_id == 555


def test_a_conversation_id_held_by_one_part_is_claimed_for_every_other(cp: Checkpoint):
    """Reconciliation asks this before adopting a found conversation."""
    intent(cp, "s1")
    cp.parts.record_done("s1", 1, 555)
    intent(cp, "s2")
    assert cp.parts.holds_conversation(555, other_than=("s2", 1))
    assert not cp.parts.holds_conversation(555, other_than=("s1", 1))
    assert not cp.parts.holds_conversation(556, other_than=("s2", 1))


def test_split_conversation_done_only_with_all_parts(cp: Checkpoint):
    """is_conversation_done needs every part; complete count follows."""
    cp.parts.register_parts("s2", 2)
    assert cp.parts.counts()["pending"] == 2
    intent(cp, "s2", 1, 2)
    cp.parts.record_done("s2", 1, 10)
    assert not cp.parts.is_conversation_done("s2")
    assert cp.parts.conversation_state("s2") is C.IN_PROGRESS
    assert cp.parts.source_conversations_complete() == 0
    intent(cp, "s2", 2, 2)
    cp.parts.record_done("s2", 2, 11)
    assert cp.parts.is_conversation_done("s2")
    assert cp.parts.source_conversations_complete() == 1
    assert [p.conversation_id for p in cp.parts.parts_of("s2")] == [10, 11]


def test_unrecorded_second_part_keeps_conversation_open(cp: Checkpoint):
    """Part 1 of 2 done without part 2 recorded is not complete."""
    intent(cp, "s3", 1, 2)
    cp.parts.record_done("s3", 1, 12)
    assert not cp.parts.is_conversation_done("s3")
    assert cp.parts.source_conversations_complete() == 0


def test_unsettled_parts_and_counts(cp: Checkpoint, clock: FakeClock):
    """Sending and in-doubt parts are listed for reconciliation, oldest first."""
    intent(cp, "a")
    clock.now += 1
    intent(cp, "b")
    cp.parts.record_in_doubt("b", 1, code="timeout", message="TimeoutError")
    intent(cp, "c")
    cp.parts.record_done("c", 1, 3)
    intent(cp, "d")
    cp.parts.record_failed("d", 1, code="validation", message="status: bad")
    assert [p.source_id for p in cp.parts.unsettled_parts()] == ["a", "b"]
    assert cp.parts.counts() == {"pending": 0, "sending": 1, "done": 1, "failed": 1, "in_doubt": 1}
    assert cp.parts.is_conversation_done("unknown") is False


def test_errors_log_newest_first(cp: Checkpoint, clock: FakeClock):
    """Failures, in-doubt answers and logged errors land in the errors log."""
    intent(cp, "x")
    cp.parts.record_failed("x", 1, code="validation", message="customer.email: malformed")
    clock.now += 1
    cp.errors.log_error(stage="validate", code="threads", message="no message", source_id="y")
    errors = cp.errors.last_errors()
    assert [(e.source_id, e.stage, e.code) for e in errors] == [
        ("y", "validate", "threads"),
        ("x", "send", "validation"),
    ]
    assert errors[0].at_iso.endswith("Z")
    assert len(cp.errors.last_errors(1)) == 1


def test_customers_map(cp: Checkpoint):
    """Customers created are remembered by source key."""
    assert cp.customers.customer_id("zendesk:42") is None
    cp.customers.put_customer("zendesk:42", 9001)
    assert cp.customers.customer_id("zendesk:42") == 9001


def test_every_write_is_durable_without_close(tmp_path: Path, clock: FakeClock):
    """A second connection sees each write at once (committed, not buffered)."""
    path = tmp_path / "run.sqlite"
    cp = Checkpoint.open(path, RunHeader(URL, 1), clock=clock)
    try:
        intent(cp, "z")
        other = Checkpoint.open_existing(path, clock=clock)  # as `importer status` reads it
        try:
            assert other.parts.part("z", 1).state is P.SENDING
            cp.parts.record_done("z", 1, 77)
            assert other.parts.is_conversation_done("z")
        finally:
            other.close()
    finally:
        cp.close()


def test_a_checkpoint_of_an_earlier_version_gains_the_span_column(tmp_path: Path, clock: FakeClock):
    """Checkpoints of schema version 1, written before parts recorded their span, are migrated
    (the version moves to 2), open and resume."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    cp = Checkpoint.open(path, RunHeader(URL, 1), clock=clock)
    intent(cp, "old")
    cp.parts.record_done("old", 1, 5)
    cp.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE parts DROP COLUMN span")
        conn.execute("UPDATE run SET value = '1' WHERE key = 'schema_version'")
    again = Checkpoint.open(path, RunHeader(URL, 1), clock=clock)
    try:
        assert again.parts.part("old", 1).span is None
        version = again.store.conn.execute("SELECT value FROM run WHERE key = 'schema_version'")
        assert version.fetchone()[0] == str(SCHEMA_VERSION)
        again.parts.record_intent(
            "new", 1, 1, subject="s", customer_email=None, payload_digest="d", span="abc"
        )
        assert "abc" == again.parts.part("new", 1).span
    finally:
        again.close()


def test_one_run_at_a_time_per_checkpoint(tmp_path: Path, clock: FakeClock):
    """A second run of the same checkpoint is refused while the first holds it; then let in."""
    path = tmp_path / "run.sqlite"
    first = Checkpoint.open(path, RunHeader(URL, 1), clock=clock)
    with pytest.raises(CheckpointError, match="another importer run is using this checkpoint"):
        Checkpoint.open(path, RunHeader(URL, 1), clock=clock)
    first.close()
    Checkpoint.open(path, RunHeader(URL, 1), clock=clock).close()


@given(st.lists(st.sampled_from(list(PartState)), min_size=1, max_size=6), st.integers(1, 6))
def test_rollup_done_iff_every_part_done(states, count):
    """Property: DONE exactly when all ``count`` parts are recorded and done."""
    every_done = len(states) >= count and all(s is P.DONE for s in states)
    assert every_done == (rollup(states, count) is C.DONE)
    if any(s in (P.SENDING, P.IN_DOUBT) for s in states):
        assert rollup(states, count) is C.IN_DOUBT
