"""The worker logic of ``importer run`` against a scripted client: exactly once, in order."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fake_clock import FakeClock

from importer.deadletter import DeadLetterFile
from importer.errors import FatalApiError, OutputWriteError
from importer.helpscout.client import ClientStats
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.pipeline.checkpoint import Checkpoint, PartState, RunHeader
from importer.pipeline.importer import ImportRun
from importer.pipeline.parts import MAX_SENDS_PER_PART, split_changed
from importer.pipeline.pool import work
from importer.pipeline.run_events import RunEvents
from importer.report import Report
from importer.transform.payload import PENDING_CUSTOMER_ID, PayloadContext
from importer.transform.plan import ConversationPlan, PlanContext, plan_conversation
from importer.transform.split import Part


async def walk_pages(fake: Any, mailbox: int, **kw: Any) -> AsyncIterator[dict[str, Any]]:
    """The client's paging over a fake's ``search_conversations`` pages (one page per call)."""
    page = 1
    while True:
        body = await fake.search_conversations(mailbox, page=page, **kw)
        for item in body["_embedded"]["conversations"]:
            yield item
        total = body["page"]["totalPages"]
        if not isinstance(total, int) or page >= total:
            return
        page += 1


class ScriptedClient:
    """Stores what it creates; ``script`` says how the next creates of a subject answer."""

    def __init__(
        self, script: dict[str, list[str]] | None = None, lose_customer: bool = False
    ) -> None:
        self.script = script or {}
        self.stats = ClientStats()
        self.lose_customer = lose_customer
        self.created: list[dict[str, Any]] = []
        self.sent: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.customers: list[dict[str, Any]] = []

    async def create_conversation(self, payload: dict[str, Any]) -> Outcome:
        subject = payload["subject"]
        who = str(payload["customer"])
        self.sent[subject] += 1
        self.in_flight[who] += 1
        self.max_in_flight[who] = max(self.max_in_flight[who], self.in_flight[who])
        for _ in range(3):
            await asyncio.sleep(0)  # let other workers run while this one is "in flight"
        self.in_flight[who] -= 1
        step = self.script.get(subject, []).pop(0) if self.script.get(subject) else "created"
        if step in ("created", "lost"):
            self.created.append(dict(payload, id=len(self.created) + 100))
        if step == "created":
            return Outcome(OutcomeKind.CREATED, 201, "created", resource_id=len(self.created) + 99)
        if step in ("lost", "refused-lost"):
            return Outcome(OutcomeKind.IN_DOUBT, None, "disconnected")
        return Outcome(
            OutcomeKind.REJECTED, 400, "validation", errors=[{"path": "subject", "message": "bad"}]
        )

    async def create_customer(self, body: dict[str, Any]) -> Outcome:
        self.customers.append(body)
        if self.lose_customer:  # stored, answer lost
            self.lose_customer = False
            return Outcome(OutcomeKind.IN_DOUBT, None, "disconnected")
        return Outcome(
            OutcomeKind.CREATED, 201, "created", resource_id=3_000_000 + len(self.customers)
        )

    async def find_customer_by_marker(self, marker: str, since: str) -> dict[str, Any] | None:
        for index, body in enumerate(self.customers, start=1):
            if body.get("background") == marker:
                return {"id": 3_000_000 + index, "background": marker}
        return None

    def iter_conversations(self, mailbox: int, **kw: Any) -> AsyncIterator[dict[str, Any]]:
        return walk_pages(self, mailbox, **kw)

    async def search_conversations(self, mailbox: int, **kwargs: Any) -> dict[str, Any]:
        items = [
            {
                "id": c["id"],
                "subject": c["subject"],
                "primaryCustomer": {"email": c["customer"].get("email")},
            }
            for c in self.created
        ]
        return {"_embedded": {"conversations": items}, "page": {"totalPages": 1}}

    async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]:
        (stored,) = [c for c in self.created if c["id"] == conversation_id]
        return [{"type": t["type"], "createdAt": t["createdAt"]} for t in stored["threads"]][::-1]


def plan(source_id: str, email: str | None, messages: int = 2, **extra: Any) -> ConversationPlan:
    ctx = PlanContext(
        payload=PayloadContext(mailbox_id=85),
        read_attachment=lambda r: b"",
        max_request_bytes=262_144,
    )
    customer = {"email": email} if email else {"id": f"c-{source_id}", "phone": "+1 555 0100"}
    data = {
        "source_id": source_id,
        "subject": f"Subject {source_id}",
        "customer": {**customer, **extra},
        "messages": [
            {
                "created_at": 1_704_103_200 + 60 * n,
                "author_role": "customer",
                "body_text": f"m{n}",
            }
            for n in range(messages)
        ],
    }
    result = plan_conversation(data, ctx, location=f"t.jsonl:{source_id}")
    assert isinstance(result, ConversationPlan)
    return result


@pytest.fixture
def checkpoint(tmp_path: Path) -> Checkpoint:
    return Checkpoint.open(tmp_path / "cp.sqlite", RunHeader("http://127.0.0.1:1", 85, "canonical"))


def make_run(client: ScriptedClient, checkpoint: Checkpoint, **options: Any) -> ImportRun:
    return ImportRun(
        client=client,  # type: ignore[arg-type]
        checkpoint=checkpoint,
        report=Report("run", "canonical", ["t.jsonl"], mailbox=85),
        dead=DeadLetterFile(None),
        mailbox=85,
        **{"reconcile_wait_s": 0, "events": RunEvents(), **options},
    )


def part_span(payload: dict[str, Any]) -> str:
    """Which messages a part of this body holds (see ``Part.span``)."""
    return Part(1, 1, payload).span


async def run_all(run: ImportRun, plans: list[ConversationPlan], workers: int = 4) -> None:
    queue: asyncio.Queue[ConversationPlan | None] = asyncio.Queue()
    for item in plans:
        queue.put_nowait(item)
    for _ in range(workers):
        queue.put_nowait(None)
    await asyncio.gather(*(work(queue, run.handle) for _ in range(workers)))


async def test_a_lost_answer_is_found_and_never_sent_again(checkpoint: Checkpoint) -> None:
    """In doubt, found by reconciliation: adopted, counted once, sent once."""
    client = ScriptedClient({"Subject a": ["lost"]})
    run = make_run(client, checkpoint)
    await run_all(run, [plan("a", "a@example.com")])
    assert 1 == client.sent["Subject a"]
    assert (1, 1, 1, 0) == (
        run.report.counts["imported"],
        run.report.counts["in_doubt_resolved"],
        run.report.counts["created_conversations"],  # its answer was lost, but it was created
        len(client.created) - 1,
    )
    assert PartState.DONE == checkpoint.parts.part("a", 1).state


async def test_a_lost_request_that_was_not_stored_is_sent_again(checkpoint: Checkpoint) -> None:
    """In doubt and absent after the wait: sent again, created once."""
    client = ScriptedClient({"Subject b": ["refused-lost"]})
    run = make_run(client, checkpoint)
    await run_all(run, [plan("b", "b@example.com")])
    assert 2 == client.sent["Subject b"]
    assert 1 == len(client.created)
    assert 1 == run.report.counts["imported"]


async def test_five_lost_sends_that_were_not_stored_still_end_imported(
    checkpoint: Checkpoint,
) -> None:
    """Five answers lost in a row, none stored, then created: one conversation, imported. With
    5% each of 5xx and reset, four in a row among 300 parts happened in ~3% of runs and failed a
    conversation whose every absence had been proven."""
    client = ScriptedClient({"Subject r": ["refused-lost"] * 5})
    run = make_run(client, checkpoint)
    await run_all(run, [plan("r", "r@example.com")])
    assert (6, 1) == (client.sent["Subject r"], len(client.created))
    assert (1, 0) == (run.report.counts["imported"], run.report.counts["failed"])


async def test_a_part_whose_answers_are_always_lost_fails_after_the_last_send(
    checkpoint: Checkpoint,
) -> None:
    """Lost answers without end: MAX_SENDS_PER_PART sends, then failed in doubt with the reason
    (nothing stored, so the rerun sends it)."""
    client = ScriptedClient({"Subject x": ["refused-lost"] * (MAX_SENDS_PER_PART + 3)})
    run = make_run(client, checkpoint)
    await run_all(run, [plan("x", "x@example.com")])
    assert (MAX_SENDS_PER_PART, 0) == (client.sent["Subject x"], len(client.created))
    assert (0, 1) == (run.report.counts["imported"], run.report.counts["failed"])
    (entry,) = run.report.errors
    assert ("x", 1, "in_doubt") == (entry["source_id"], entry["part"], entry["code"])
    assert f"lost {MAX_SENDS_PER_PART} times" in entry["message"]
    assert PartState.FAILED == checkpoint.parts.part("x", 1).state


async def test_a_rejected_part_fails_the_conversation_with_its_reason(
    checkpoint: Checkpoint,
) -> None:
    """A 400 is failed, reported with its part and written to the dead letters."""
    client = ScriptedClient({"Subject c": ["rejected"]})
    run = make_run(client, checkpoint)
    await run_all(run, [plan("c", "c@example.com")])
    assert (0, 1) == (run.report.counts["imported"], run.report.counts["failed"])
    (entry,) = run.report.errors
    assert ("c", 1, "send") == (entry["source_id"], entry["part"], entry["stage"])
    assert "subject: bad" in entry["message"]
    assert 1 == run.dead.count
    assert run.report.balanced()


async def test_resume_reconciles_a_part_left_sending_before_sending_it(
    checkpoint: Checkpoint,
) -> None:
    """A crash left part 1 'sending' and Help Scout has it: adopted, part 2 sent, none twice."""
    client = ScriptedClient()
    conversation = plan("d", "d@example.com", messages=150)
    first = conversation.parts[0].payload
    checkpoint.parts.record_intent(
        "d", 1, 2, subject=first["subject"], customer_email="d@example.com", payload_digest="x"
    )
    client.created.append(dict(first, id=555))
    run = make_run(client, checkpoint)
    await run_all(run, [conversation])
    assert Counter({"Subject d (part 2/2)": 1}) == client.sent
    assert (555, PartState.DONE) == (
        checkpoint.parts.part("d", 1).conversation_id,
        checkpoint.parts.part("d", 1).state,
    )
    assert 1 == run.report.counts["imported"]
    # part 1 was created by the run that crashed; only part 2 by this one
    assert 1 == run.report.counts["created_conversations"]


async def test_done_parts_are_skipped(checkpoint: Checkpoint) -> None:
    """Parts already done are never sent again."""
    client = ScriptedClient()
    conversation = plan("e", "e@example.com", messages=150)
    checkpoint.parts.record_intent("e", 1, 2, subject="x", customer_email=None, payload_digest="x")
    checkpoint.parts.record_done("e", 1, 777)
    run = make_run(client, checkpoint)
    await run_all(run, [conversation])
    assert ["Subject e (part 2/2)"] == list(client.sent)


async def test_conversations_of_one_new_customer_are_never_in_flight_together(
    checkpoint: Checkpoint,
) -> None:
    """Eight workers, six conversations of one new customer: one at a time; others run alongside."""
    client = ScriptedClient()
    plans = [plan(f"s{i}", "same@example.com") for i in range(6)] + [
        plan(f"o{i}", f"o{i}@example.com") for i in range(6)
    ]
    run = make_run(client, checkpoint)
    await run_all(run, plans, workers=8)
    assert 1 == client.max_in_flight[str({"email": "same@example.com"})]
    assert 12 == run.report.counts["imported"]


async def test_a_customer_without_email_is_created_once_and_referenced_by_id(
    checkpoint: Checkpoint,
) -> None:
    """--no-email-policy create: one POST /v2/customers, then every conversation uses its id."""
    client = ScriptedClient()
    plans = [plan("p1", None), plan("p1b", None, id="c-p1")]
    plans[1].customer_key = plans[0].customer_key  # the same source customer
    run = make_run(client, checkpoint)
    await run_all(run, plans, workers=4)
    assert 1 == len(client.customers)
    assert [{"id": 3_000_001}] * 2 == [c["customer"] for c in client.created]
    assert all(
        t["customer"] == {"id": 3_000_001}
        for c in client.created
        for t in c["threads"]
        if "customer" in t
    )
    assert 1 == run.report.counts["customers_created"]


async def test_a_conversation_whose_customer_is_refused_is_failed_in_the_checkpoint_too(
    checkpoint: Checkpoint,
) -> None:
    """``importer status`` counts it failed and names it; a rerun sends it again."""

    class RefusingClient(ScriptedClient):
        async def create_customer(self, body: dict[str, Any]) -> Outcome:
            return Outcome(OutcomeKind.REJECTED, 400, "validation", errors=[])

    run = make_run(RefusingClient(), checkpoint)
    await run_all(run, [plan("r1", None)])
    assert 1 == run.report.counts["failed"]
    assert PartState.FAILED == checkpoint.parts.part("r1", 1).state
    assert 1 == checkpoint.parts.counts().get("failed")
    (error,) = checkpoint.errors.last_errors(20)
    assert ("r1", "customer") == (error.source_id, error.stage)
    assert "customer not created" in error.message

    client = ScriptedClient()
    rerun = make_run(client, checkpoint)
    await run_all(rerun, [plan("r1", None)])
    assert (1, 1) == (rerun.report.counts["imported"], len(client.created))
    assert PartState.DONE == checkpoint.parts.part("r1", 1).state


async def test_a_customer_whose_answer_was_lost_is_found_not_created_twice(
    checkpoint: Checkpoint,
) -> None:
    """Customer create in doubt: found again by its marker; one customer, used by the import."""
    client = ScriptedClient(lose_customer=True)
    run = make_run(client, checkpoint)
    await run_all(run, [plan("q1", None)])
    assert 1 == len(client.customers)
    assert "source customer id:c-q1" in client.customers[0]["background"]
    assert {"id": 3_000_001} == client.created[0]["customer"]
    assert (1, 1) == (
        run.report.counts["customers_created"],  # created in this run, its answer lost
        run.report.counts["in_doubt_resolved"],
    )
    assert 3_000_001 == checkpoint.customers.customer_id("id:c-q1")


class SlowCustomerSearch(ScriptedClient):
    """The customer's creation answer is lost; it becomes searchable only after the first
    search began, and each search takes 3 seconds of the fake clock (many pages)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(lose_customer=True)
        self.clock = clock
        self.searches = 0

    async def find_customer_by_marker(self, marker: str, since: str) -> dict[str, Any] | None:
        self.searches += 1
        visible = self.searches > 1  # indexed while the first search walked its pages
        self.clock.now += 3
        return await super().find_customer_by_marker(marker, since) if visible else None


async def test_a_customer_search_begun_before_the_wait_ended_cannot_prove_absence(
    checkpoint: Checkpoint,
) -> None:
    """The first search starts inside the wait and ends after it without the customer: the run
    searches again instead of creating the customer a second time."""
    clock = FakeClock(1_800_000_000.0)
    client = SlowCustomerSearch(clock)
    run = make_run(client, checkpoint, reconcile_wait_s=2, clock=clock)
    await run_all(run, [plan("s1", None)])
    assert 1 == len(client.customers)
    assert 2 == client.searches
    assert {"id": 3_000_001} == client.created[0]["customer"]


async def test_a_fatal_answer_stops_every_worker(checkpoint: Checkpoint) -> None:
    """A 403 mid-run: the run stops, later conversations are not attempted, the part is in doubt."""

    class RevokedClient(ScriptedClient):
        async def create_conversation(self, payload: dict[str, Any]) -> Outcome:
            if len(self.created) == 2:
                raise FatalApiError("POST /v2/conversations: HTTP 403 forbidden", status=403)
            return await super().create_conversation(payload)

    client = RevokedClient()
    run = make_run(client, checkpoint)
    await run_all(run, [plan(f"f{i}", f"f{i}@example.com") for i in range(10)], workers=1)
    assert isinstance(run.fatal, FatalApiError)
    assert run.stop.is_set()
    assert 2 == len(client.created) == run.report.counts["imported"]
    assert PartState.SENDING == checkpoint.parts.part("f2", 1).state  # reconciled before any resend
    assert checkpoint.parts.part("f3", 1) is None


async def test_a_checkpoint_that_cannot_be_written_stops_the_run_not_one_conversation(
    checkpoint: Checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk when a part is recorded done: the run's stop (exit 4), as a fatal answer's;
    nothing counted failed, the part left sending for the rerun to look up, no more sent."""
    recorded = checkpoint.parts.record_done

    def record_done(source_id: str, part: int, conversation_id: int) -> None:
        if source_id == "d2":
            raise OutputWriteError(checkpoint.path, "database or disk is full")
        recorded(source_id, part, conversation_id)

    monkeypatch.setattr(checkpoint.parts, "record_done", record_done)
    client = ScriptedClient()
    run = make_run(client, checkpoint)
    await run_all(run, [plan(f"d{i}", f"d{i}@example.com") for i in range(10)], workers=1)
    assert isinstance(run.fatal, OutputWriteError)
    assert str(checkpoint.path) == run.fatal.path
    assert run.stop.is_set()
    assert (2, 0) == (run.report.counts["imported"], run.report.counts["failed"])
    assert 3 == len(client.created)
    assert PartState.SENDING == checkpoint.parts.part("d2", 1).state  # looked up before any resend
    assert checkpoint.parts.part("d3", 1) is None


async def test_resume_uploads_attachments_left_pending_by_a_stop(checkpoint: Checkpoint) -> None:
    """Part created, stopped before its uploads: the rerun uploads them; already imported."""

    class UploadClient(ScriptedClient):
        def __init__(self) -> None:
            super().__init__()
            self.uploads: list[tuple[int, int, str]] = []

        async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]:
            return [{"id": 50 + i, "createdAt": f"2024-01-01T10:0{i}:00Z"} for i in range(2)]

        async def upload_attachment(
            self,
            conversation_id: int,
            thread_id: int,
            file_name: str,
            *,
            mime_type: str,
            data_b64: str,
        ) -> Outcome:
            self.uploads.append((conversation_id, thread_id, file_name))
            return Outcome(OutcomeKind.CREATED, 201, "created", resource_id=9)

    ctx = PlanContext(
        payload=PayloadContext(mailbox_id=85, attachment_policy="upload"),
        read_attachment=lambda ref: b"file",
        max_request_bytes=262_144,
    )
    data = {
        "source_id": "u1",
        "subject": "With a file",
        "customer": {"email": "u@example.com"},
        "messages": [
            {"created_at": 1_704_103_200, "author_role": "customer", "body_text": "a"},
            {"created_at": 1_704_103_260, "author_role": "agent", "body_text": "b",
             "attachments": [{"file_name": "r.txt", "data_base64": "aGk="}]},
        ],
    }  # fmt: skip
    conversation = plan_conversation(data, ctx, location="t:1")
    assert isinstance(conversation, ConversationPlan)
    checkpoint.uploads.record_uploads("u1", 1, 1)
    checkpoint.parts.record_intent(
        "u1", 1, 1, subject="With a file", customer_email=None, payload_digest="x"
    )
    checkpoint.parts.record_done("u1", 1, 4242)
    client = UploadClient()
    run = make_run(client, checkpoint)
    await run_all(run, [conversation])
    assert [(4242, 51, "r.txt")] == client.uploads
    assert (0, 1) == (run.report.counts["imported"], run.report.counts["already_imported"])
    assert not checkpoint.uploads.has_pending_uploads("u1")
    assert not client.sent


def test_default_checkpoint_of_the_current_folder_is_named_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`importer run .` puts `<folder>.checkpoint.sqlite` beside the folder, not a crash."""
    from importer.commands.run import default_checkpoint

    folder = tmp_path / "export"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert tmp_path / "export.checkpoint.sqlite" == default_checkpoint([Path(".")])
    assert (
        tmp_path / "export.checkpoint.sqlite" == default_checkpoint([Path("../export/")]).resolve()
    )
    assert folder / "a.jsonl.checkpoint.sqlite" == default_checkpoint([Path("a.jsonl")]).resolve()


async def test_an_upload_given_up_is_an_error_not_a_counted_attachment(
    checkpoint: Checkpoint,
) -> None:
    """An upload refused after creation: the conversation is imported, the file is an error
    entry (also in the checkpoint's log), and `attachments` counts only what is in Help Scout."""

    class RefusingUploads(ScriptedClient):
        async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]:
            return [{"id": 50 + i, "createdAt": f"2024-01-01T10:0{i}:00Z"} for i in range(2)]

        async def upload_attachment(
            self,
            conversation_id: int,
            thread_id: int,
            file_name: str,
            *,
            mime_type: str,
            data_b64: str,
        ) -> Outcome:
            if file_name == "bad.txt":
                return Outcome(OutcomeKind.REJECTED, 400, "validation", errors=[])
            return Outcome(OutcomeKind.CREATED, 201, "created", resource_id=9)

    ctx = PlanContext(
        payload=PayloadContext(mailbox_id=85, attachment_policy="upload"),
        read_attachment=lambda ref: b"file",
        max_request_bytes=262_144,
    )
    files = [{"file_name": n, "data_base64": "aGk="} for n in ("good.txt", "bad.txt")]
    data = {
        "source_id": "u2",
        "subject": "Two files",
        "customer": {"email": "u@example.com"},
        "messages": [
            {"created_at": 1_704_103_200, "author_role": "customer", "body_text": "a"},
            {"created_at": 1_704_103_260, "author_role": "agent", "body_text": "b",
             "attachments": files},
        ],
    }  # fmt: skip
    conversation = plan_conversation(data, ctx, location="t:1")
    assert isinstance(conversation, ConversationPlan)
    run = make_run(RefusingUploads(), checkpoint)
    await run_all(run, [conversation])
    counts = run.report.counts
    assert (1, 1) == (counts["imported"], counts["attachments"])
    assert ["attachment"] == [e["stage"] for e in run.report.errors]
    assert "bad.txt" in run.report.errors[0]["message"]
    assert ["u2"] == [e.source_id for e in checkpoint.errors.last_errors(20)]


def test_binding_the_created_customer_keeps_other_authors() -> None:
    """The new customer's id replaces the placeholder; a colleague's thread keeps its email."""
    payload = {
        "customer": {"id": PENDING_CUSTOMER_ID},
        "threads": [
            {"type": "customer", "customer": {"id": PENDING_CUSTOMER_ID}},
            {"type": "customer", "customer": {"email": "cc@example.com"}},
            {"type": "note"},
        ],
    }
    bound = Part(1, 1, payload).body(77)
    assert payload["customer"] == {"id": PENDING_CUSTOMER_ID}  # the plan is left as it was
    assert {"id": 77} == bound["customer"]
    assert [{"id": 77}, {"email": "cc@example.com"}, None] == [
        t.get("customer") for t in bound["threads"]
    ]


async def test_a_conversation_another_part_holds_is_never_adopted(checkpoint: Checkpoint) -> None:
    """Two source conversations alike in subject, customer and times: the first one's lost
    answer is found; the second one's send that was never stored is not mistaken for it."""
    first, second = plan("twin-1", "t@example.com"), plan("twin-2", "t@example.com")
    for twin in (first, second):
        twin.parts[0].payload["subject"] = "Same subject"
    client = ScriptedClient({"Same subject": ["lost", "refused-lost"]})
    run = make_run(client, checkpoint)
    await run_all(run, [first, second], workers=1)
    ids = {checkpoint.parts.part(s, 1).conversation_id for s in ("twin-1", "twin-2")}
    assert 2 == len(ids) == len(client.created)
    assert 2 == run.report.counts["imported"]


async def test_a_conversation_split_otherwise_by_a_later_run_is_failed_not_patched(
    checkpoint: Checkpoint,
) -> None:
    """Run 1: 250 messages, part 2 of 3 refused. The export changes to 179 messages (2 parts):
    part 1/3 in Help Scout was cut from other messages, so sending "part 2/2" would lose or
    repeat some; the conversation is failed with the reason, nothing sent. The export of run 1
    back in place, the rest is sent and the conversation completes."""
    client = ScriptedClient({"Subject p (part 2/3)": ["rejected"]})
    await run_all(make_run(client, checkpoint), [plan("p", "p@example.com", messages=250)])
    assert PartState.FAILED == checkpoint.parts.part("p", 2).state

    second = make_run(client, checkpoint)
    await run_all(second, [plan("p", "p@example.com", messages=179)])
    assert (0, 1) == (second.report.counts["imported"], second.report.counts["failed"])
    (entry,) = second.report.errors
    assert "sending the rest would lose or repeat messages" in entry["message"]
    assert 1 == len(client.created)

    third = make_run(client, checkpoint)
    await run_all(third, [plan("p", "p@example.com", messages=250)])
    assert 1 == third.report.counts["imported"]
    assert checkpoint.parts.is_conversation_done("p")
    subjects = [c["subject"] for c in client.created]
    assert [f"Subject p (part {n}/3)" for n in (1, 2, 3)] == subjects


def test_the_same_split_with_other_user_ids_is_not_a_changed_split() -> None:
    """Only the messages a part holds count: another author id or tag moves no message."""
    base = plan("s", "s@example.com", messages=3).parts[0].payload
    other = {**base, "tags": ["x"], "threads": [{**t, "user": 99} for t in base["threads"]]}
    assert part_span(base) == part_span(other)
    later = {
        **base,
        "threads": [{**t, "createdAt": "2030-01-01T00:00:00Z"} for t in base["threads"]],
    }
    assert part_span(base) == part_span(later)  # a future time clamped to another "now"
    moved = {**base, "threads": base["threads"][1:]}
    assert part_span(base) != part_span(moved)


def test_a_part_left_sending_under_another_split_is_a_changed_split(
    checkpoint: Checkpoint,
) -> None:
    """A part that may be in Help Scout counts like a done one: it was cut otherwise."""
    conversation = plan("w", "w@example.com", messages=3)
    checkpoint.parts.record_intent(
        "w", 1, 1, subject="x", customer_email=None, payload_digest="d", span="other"
    )
    assert "may be) in Help Scout" in (
        split_changed(conversation, checkpoint.parts.parts_of("w")) or ""
    )
    span = part_span(conversation.parts[0].payload)
    checkpoint.parts.record_intent("w", 1, 1, subject="x", customer_email=None, payload_digest="d",
                             span=span)  # fmt: skip
    assert split_changed(conversation, checkpoint.parts.parts_of("w")) is None


async def test_resume_counts_later_done_uploads_before_looking_for_a_pending_one(
    checkpoint: Checkpoint,
) -> None:
    """Three image.png on one thread; the first left pending, the others done: the two on the
    thread are the done ones, so the first is uploaded, not taken as found."""

    class ThreadWithTwoFiles(ScriptedClient):
        def __init__(self) -> None:
            super().__init__()
            self.uploads: list[str] = []

        async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]:
            files = [{"filename": "image.png"}] * 2
            return [{"id": 50, "createdAt": "2024-01-01T10:00:00Z",
                     "_embedded": {"attachments": files}}]  # fmt: skip

        async def upload_attachment(
            self,
            conversation_id: int,
            thread_id: int,
            file_name: str,
            *,
            mime_type: str,
            data_b64: str,
        ) -> Outcome:
            self.uploads.append(file_name)
            return Outcome(OutcomeKind.CREATED, 201, "created", resource_id=9)

    ctx = PlanContext(
        payload=PayloadContext(mailbox_id=85, attachment_policy="upload"),
        read_attachment=lambda ref: b"file",
        max_request_bytes=262_144,
    )
    image = {"file_name": "image.png", "data_base64": "aGk="}
    data = {
        "source_id": "u3",
        "subject": "Three images",
        "customer": {"email": "u@example.com"},
        "messages": [{"created_at": 1_704_103_200, "author_role": "customer",
                      "body_text": "a", "attachments": [image, image, image]}],
    }  # fmt: skip
    conversation = plan_conversation(data, ctx, location="t:1")
    assert isinstance(conversation, ConversationPlan)
    checkpoint.uploads.record_uploads("u3", 1, 3)
    checkpoint.parts.record_intent("u3", 1, 1, subject="x", customer_email=None, payload_digest="x")
    checkpoint.parts.record_done("u3", 1, 4243)
    checkpoint.uploads.record_upload("u3", 1, 1, done=True)
    checkpoint.uploads.record_upload("u3", 1, 2, done=True)
    client = ThreadWithTwoFiles()
    await run_all(make_run(client, checkpoint), [conversation])
    assert ["image.png"] == client.uploads


async def test_conversations_naming_one_new_colleague_are_never_in_flight_together(
    checkpoint: Checkpoint,
) -> None:
    """A colleague in copy who wrote in conversations of six different customers: Help Scout
    creates them from the first request, so those requests go one at a time."""

    class CountingClient(ScriptedClient):
        def __init__(self) -> None:
            super().__init__()
            self.with_cc = 0
            self.max_with_cc = 0

        async def create_conversation(self, payload: dict[str, Any]) -> Outcome:
            cc = {"email": "cc@example.com"}
            named = any(t.get("customer") == cc for t in payload["threads"])
            self.with_cc += named
            self.max_with_cc = max(self.max_with_cc, self.with_cc)
            try:
                return await super().create_conversation(payload)
            finally:
                self.with_cc -= named

    ctx = PlanContext(payload=PayloadContext(mailbox_id=85), read_attachment=lambda r: b"",
                      max_request_bytes=262_144)  # fmt: skip
    plans = []
    for i in range(6):
        data = {
            "source_id": f"cc{i}",
            "subject": f"Copy {i}",
            "customer": {"email": f"main{i}@example.com"},
            "messages": [{"created_at": 1_704_103_200, "author_role": "customer",
                          "body_text": "hi", "author_email": "cc@example.com"}],
        }  # fmt: skip
        planned = plan_conversation(data, ctx, location=f"t:{i}")
        assert isinstance(planned, ConversationPlan)
        plans.append(planned)
    client = CountingClient()
    run = make_run(client, checkpoint)
    await run_all(run, plans, workers=6)
    assert (1, 6) == (client.max_with_cc, run.report.counts["imported"])
