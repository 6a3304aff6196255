"""Imports planned conversations exactly once: one conversation at a time per worker, each part
sent only after its intent is committed, each part in doubt looked up before it is sent again.

The rules, in the order they act:
- a part already ``done`` in the checkpoint is never sent again;
- a part found ``sending`` or ``in_doubt`` (a crash, a lost answer) is reconciled first: found,
  its id is adopted; absent after ``--reconcile-wait``, it is sent;
- the intent (with the time of the first attempt) is committed before every POST, the result after;
- conversations of the same new customer are never in flight together, so Help Scout cannot
  create that customer twice;
- a fatal answer stops every worker; the checkpoint stays consistent and a rerun resumes.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import html
import logging
import time
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.deadletter import DeadLetterFile
from importer.errors import (
    CredentialsError,
    DownloadError,
    FatalApiError,
    ImporterError,
    RetryableApiError,
    StoppedError,
)
from importer.findings import Finding
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.downloads import AttachmentDownloader, fetched_file
from importer.helpscout.outcome import Outcome, OutcomeKind
from importer.pipeline.checkpoint import UNSETTLED, Checkpoint, PartRecord, PartState
from importer.pipeline.reconcile import (
    DEFAULT_MARGIN_S,
    DEFAULT_POLL_S,
    PartRef,
    format_api_time,
    reconcile_part,
)
from importer.pipeline.uploads import (
    FOUND,
    ThreadFiles,
    UploadResult,
    UploadState,
    upload_once,
)
from importer.progress import Progress
from importer.readers import read_attachment_bytes
from importer.report import Report
from importer.transform.payload import PENDING_CUSTOMER_ID, AttachmentDraft
from importer.transform.plan import ConversationPlan, InvalidConversation
from importer.transform.split import Part, json_bytes

log = logging.getLogger("importer.run")

# Sends of one part whose answers were all lost (each absence proven by reconcile) before it
# is failed for the rerun: 4 failed a conversation in ~3% of runs at 5% each of 5xx and reset.
MAX_SENDS_PER_PART = 8
EventSink = Callable[[str, dict[str, Any]], None]


def bind_customer(payload: dict[str, Any], customer_id: int | None) -> dict[str, Any]:
    """The payload with the created customer's id in place of the placeholder."""
    if customer_id is None or payload.get("customer", {}).get("id") != PENDING_CUSTOMER_ID:
        return payload
    bound = copy.deepcopy(payload)
    bound["customer"] = {"id": customer_id}
    for thread in bound["threads"]:  # a message by someone else keeps its own author
        if thread.get("customer", {}).get("id") == PENDING_CUSTOMER_ID:
            thread["customer"] = {"id": customer_id}
    return bound


#: what a URL attachment became before its part was sent: a file on disk, or why not
Fetched = dict[int, Path | DownloadError]


def with_download_notes(payload: dict[str, Any], part: Part, fetched: Fetched) -> dict[str, Any]:
    """``payload`` with a line in each message whose URL attachment could not be fetched,
    naming the file and why: the conversation is imported without it, never silently."""
    failed = [
        (part.deferred[index], error)
        for index, error in sorted(fetched.items())
        if isinstance(error, DownloadError)
    ]
    if not failed:
        return payload
    threads = [dict(thread) for thread in payload["threads"]]
    for (thread_index, attachment), error in failed:
        note = (
            f'<p><em>Attachment "{html.escape(attachment.file_name)}" was not imported: '
            f"{html.escape(str(error))}</em></p>"
        )
        thread = threads[thread_index]
        thread["text"] = f"{thread.get('text') or ''}{note}"
    return {**payload, "threads": threads}


def _created_customer_id(payload: dict[str, Any]) -> int | None:
    """The id of the customer a part names by id (one the importer created), if any."""
    customer_id = payload.get("customer", {}).get("id")
    if isinstance(customer_id, int) and customer_id != PENDING_CUSTOMER_ID:
        return customer_id
    return None


def customer_keys(plan: ConversationPlan, parts: list[Part] | None = None) -> list[str]:
    """The customers creating ``parts`` (default: all) may make in Help Scout: the
    conversation's own, and every colleague a customer thread names by email (keys as
    ``customer_key`` spells them)."""
    keys = {plan.customer_key}
    for part in plan.parts if parts is None else parts:
        for thread in part.payload["threads"]:
            email = thread.get("customer", {}).get("email")
            if isinstance(email, str):
                keys.add("email:" + email.lower())
    return sorted(keys)


def part_span(payload: dict[str, Any]) -> str:
    """Which messages a part holds: a digest of its threads' texts in order. Not of their times
    (a future time is clamped to the moment of the run, another on each run), nor of user or
    customer ids, tags or fields, which may change between runs without moving a message."""
    texts = [
        hashlib.sha256(str(t.get("text")).encode()).hexdigest()[:16] for t in payload["threads"]
    ]
    return hashlib.sha256(json_bytes(texts)).hexdigest()[:32]


def split_changed(plan: ConversationPlan, rows: list[PartRecord]) -> str | None:
    """Why the rest of a partly imported conversation cannot be sent as planned now, if so: the
    parts in Help Scout were cut otherwise (the export or --max-request-bytes changed since)."""
    # done parts are in Help Scout; a part left sending or in doubt may be
    done = [row for row in rows if row.state in (PartState.DONE, *UNSETTLED)]
    count = len(plan.parts)
    moved = [
        row.part
        for row in done
        if row.part_count != count
        or row.part > count
        or (row.span is not None and row.span != part_span(plan.parts[row.part - 1].payload))
    ]
    if not moved:
        return None
    return (
        f"part(s) {', '.join(map(str, moved))} of {done[0].part_count} are (or may be) in Help "
        "Scout, cut "
        f"from other messages than the {count} part(s) planned now (the export or "
        "--max-request-bytes changed since): sending the rest would lose or repeat messages. "
        "Run with the export and --max-request-bytes of that run, or delete the conversation's "
        "parts in Help Scout and import it with a new --checkpoint"
    )


def payload_digest(payload: dict[str, Any]) -> str:
    """A short fingerprint of a request body, kept with its intent."""
    return hashlib.sha256(json_bytes(payload)).hexdigest()[:32]


@dataclass
class PartResult:
    """How one part ended in this run."""

    conversation_id: int | None
    outcome: Outcome | None = None
    reason: str = ""
    code: str = ""


@dataclass
class ImportRun:
    """Shared state of the workers of one ``importer run``."""

    client: HelpScoutClient
    checkpoint: Checkpoint
    report: Report
    dead: DeadLetterFile
    progress: Progress
    mailbox: int
    reconcile_wait_s: float
    source_id_field: int | None = None
    emit: EventSink = lambda name, fields: None
    #: wall-clock epoch seconds and the matching sleep (tests move a fake clock instead)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Coroutine[Any, Any, Any]] = asyncio.sleep
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: the producer and the workers, cancelled by a second SIGINT/SIGTERM
    pool_tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    #: uploads given up, by source id: not counted among the conversation's attachments
    _uploads_left_out: dict[str, int] = field(default_factory=dict)
    fatal: BaseException | None = None
    _known_customers: set[str] = field(default_factory=set)
    _customer_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    #: fetches the export's URL attachments (its own session, never the API token)
    downloader: AttachmentDownloader | None = None
    #: where URL attachments fetched before their part's POST wait for their upload
    spool_dir: Path | None = None
    #: ``--attachments-dir``: URL attachments ``importer fetch-attachments`` kept
    attachments_dir: Path | None = None
    #: why the export could not be read to its end, if so (the run then exits 1)
    read_error: str | None = None
    #: source ids of conversations in the workers' hands already counted in the report
    _settled: set[str] = field(default_factory=set)

    # --- the pool ----------------------------------------------------------------------------

    async def worker(self, queue: asyncio.Queue[ConversationPlan | None]) -> None:
        """Take conversations until the queue ends or the run stops."""
        while True:
            plan = await queue.get()
            try:
                if plan is None:
                    return
                if self.stop.is_set():
                    continue  # drain without working: the rerun picks it up
                await self.import_conversation(plan)
            except FatalApiError as exc:
                self.fatal = exc
                self.stop.set()
            except CredentialsError as exc:  # the token endpoint refuses us mid-run: stop (exit 3)
                self.fatal = FatalApiError(f"credentials refused mid-run: {exc}")
                self.stop.set()
            except StoppedError:
                pass  # stopping: what was in flight is in the checkpoint; the rerun resumes it
            except Exception as exc:
                assert plan is not None
                self.settle_crashed(plan, exc)
            finally:
                if plan is not None:
                    self._settled.discard(plan.source_id)
                queue.task_done()

    @asynccontextmanager
    async def customer_turn(self, keys: list[str]) -> AsyncIterator[None]:
        """Hold back other conversations of customers Help Scout may not know yet (the
        conversation's, and colleagues who wrote in it): two creates naming one new address at
        once could make two customers. Locks are taken in key order, so turns never deadlock."""
        unknown = sorted(set(keys) - self._known_customers)
        async with AsyncExitStack() as stack:
            for key in unknown:
                await stack.enter_async_context(
                    self._customer_locks.setdefault(key, asyncio.Lock())
                )
            yield
        for key in unknown:
            if key in self._known_customers:
                self._customer_locks.pop(key, None)

    # --- one conversation --------------------------------------------------------------------

    async def import_conversation(self, plan: ConversationPlan) -> None:
        """Create every missing part of ``plan``, in order, then settle it in the report."""
        keys = customer_keys(plan)
        async with self.customer_turn(keys):
            if self.stop.is_set():
                return  # stopped while waiting for its turn: the rerun picks it up
            customer_id = None
            if plan.customer_to_create is not None:
                customer_id, failure = await self.ensure_customer(plan)
                if failure is not None:
                    self.settle_failed(plan, None, failure)
                    return
            created_now = False
            changed = split_changed(plan, self.checkpoint.parts_of(plan.source_id))
            if changed is not None:  # sending the rest would lose or repeat messages
                self.settle_failed(plan, None, PartResult(None, None, changed, "split_changed"))
                return
            for part in plan.parts:
                if self.stop.is_set():
                    return  # stopped between parts: the rest resumes next run
                record = self.checkpoint.part(plan.source_id, part.index)
                done = record is not None and record.state == PartState.DONE
                conversation_id = record.conversation_id if record is not None and done else None
                fetched: Fetched = {}
                try:
                    if not done:
                        if part.deferred:  # noted before the POST, so a stop cannot lose them
                            self.checkpoint.record_uploads(
                                plan.source_id, part.index, len(part.deferred)
                            )
                            fetched = await self.fetch_urls(part)
                        body = with_download_notes(
                            bind_customer(part.payload, customer_id), part, fetched
                        )
                        result = await self.create_part(plan, part, body, record)
                        if result.conversation_id is None:
                            self.settle_failed(plan, part.index, result)
                            return
                        conversation_id, created_now = result.conversation_id, True
                        self._known_customers.update(customer_keys(plan, [part]))
                    if part.deferred and conversation_id is not None:
                        states = self.checkpoint.upload_states(plan.source_id, part.index)
                        if UploadState.PENDING in states.values():
                            await self.upload_deferred(plan, part, conversation_id, states, fetched)
                finally:
                    _remove_spooled(fetched)
            if created_now:
                self.settle_imported(plan)
            else:
                self.settle_already_imported(plan)

    async def ensure_customer(self, plan: ConversationPlan) -> tuple[int | None, PartResult | None]:
        """The Help Scout id of a customer without email: created once, found again if in doubt."""
        key = plan.customer_key
        known = self.checkpoint.customer_id(key)
        if known is not None:
            return known, None
        assert plan.customer_to_create is not None
        body = plan.customer_to_create
        marker = str(body.get("background", ""))
        if self.checkpoint.customer_intent(key) is not None:  # asked for before a stop: look first
            found = await self.find_customer(key, marker, lost_at=None)
            if found is not None:
                return found, None
        for _ in range(MAX_SENDS_PER_PART):
            first = self.checkpoint.record_customer_intent(key)
            outcome = await self.client.create_customer(body)
            if outcome.kind == OutcomeKind.CREATED and outcome.resource_id is not None:
                self.checkpoint.put_customer(key, outcome.resource_id)
                self.report.add("customers_created")
                self.emit(
                    "customer.created", {"customer_key": key, "customer_id": outcome.resource_id}
                )
                return outcome.resource_id, None
            if outcome.kind != OutcomeKind.IN_DOUBT:
                return None, PartResult(
                    None, outcome, f"customer not created: {outcome.describe()}", "customer"
                )
            found = await self.find_customer(key, marker, lost_at=self.clock(), first_sent_at=first)
            if found is not None:
                return found, None
        return None, PartResult(None, None, "customer creation stayed in doubt", "customer")

    async def find_customer(
        self, key: str, marker: str, *, lost_at: float | None, first_sent_at: float | None = None
    ) -> int | None:
        """Look for a customer this importer created (by its marker), giving the index time."""
        first = first_sent_at or self.checkpoint.customer_intent(key) or self.clock()
        since = format_api_time(first - DEFAULT_MARGIN_S)
        deadline = (lost_at if lost_at is not None else self.clock()) + self.reconcile_wait_s
        while True:
            started = self.clock()  # only a lookup begun after the deadline proves absence
            customer = await self.client.find_customer_by_marker(marker, since)
            if customer is not None and isinstance(customer.get("id"), int):
                self.checkpoint.put_customer(key, customer["id"])
                self.report.add("in_doubt_resolved")
                if lost_at is not None:  # its answer was lost in this run: created in this run
                    self.report.add("customers_created")
                self.emit("customer.found", {"customer_key": key, "customer_id": customer["id"]})
                return int(customer["id"])
            if started >= deadline:
                return None
            await self.sleep(min(DEFAULT_POLL_S, max(deadline - self.clock(), 0.05)))

    async def create_part(
        self, plan: ConversationPlan, part: Part, payload: dict[str, Any], record: PartRecord | None
    ) -> PartResult:
        """Create one part exactly once: reconcile a part in doubt, else send it."""
        ref_email = payload["customer"].get("email")
        if record is not None and record.state in (PartState.SENDING, PartState.IN_DOUBT):
            found = await self.reconcile(plan, part, payload, record.first_sent_at)
            if found is not None:
                return PartResult(found)
        for _ in range(MAX_SENDS_PER_PART):
            first_sent_at = self.checkpoint.record_intent(
                plan.source_id,
                part.index,
                part.count,
                subject=payload["subject"],
                customer_email=ref_email,
                payload_digest=payload_digest(payload),
                span=part_span(part.payload),
            )
            try:
                outcome = await self.client.create_conversation(payload)
            except RetryableApiError as exc:  # refused or throttled past every retry: not stored
                self.checkpoint.record_failed(
                    plan.source_id, part.index, code="retries", message=str(exc)
                )
                return PartResult(None, None, f"not sent after every retry: {exc}", "retries")
            self.emit(
                "part.sent",
                {
                    "source_id": plan.source_id,
                    "part": part.index,
                    "outcome": outcome.kind.value,
                    "status": outcome.status,
                },
            )
            if outcome.kind == OutcomeKind.CREATED and outcome.resource_id is not None:
                self.checkpoint.record_done(plan.source_id, part.index, outcome.resource_id)
                self.report.add("created_conversations")
                return PartResult(outcome.resource_id, outcome)
            if outcome.kind == OutcomeKind.IN_DOUBT:
                self.checkpoint.record_in_doubt(
                    plan.source_id, part.index, code=outcome.code, message=outcome.describe()
                )
                found = await self.reconcile(plan, part, payload, first_sent_at, self.clock())
                if found is not None:
                    return PartResult(found)
                continue  # absent after the wait: send again
            if any(error.get("path") == "mailboxId" for error in outcome.errors):
                raise FatalApiError(f"mailbox {self.mailbox} refused: {outcome.describe()}")
            code = outcome.code or outcome.kind.value
            self.checkpoint.record_failed(
                plan.source_id, part.index, code=code, message=outcome.describe()
            )
            return PartResult(None, outcome, outcome.describe(), code)
        message = f"the answer was lost {MAX_SENDS_PER_PART} times and the part was not found"
        self.checkpoint.record_failed(plan.source_id, part.index, code="in_doubt", message=message)
        return PartResult(None, None, message, "in_doubt")

    async def reconcile(
        self,
        plan: ConversationPlan,
        part: Part,
        payload: dict[str, Any],
        first_sent_at: float | None,
        lost_at: float | None = None,
    ) -> int | None:
        """Look a part up in Help Scout; adopt its id when found.

        ``lost_at`` is when its answer was lost; on resume (None) the wait runs from now.
        """
        if first_sent_at is None:
            return None  # never sent: nothing to look for
        ref = PartRef(
            source_id=plan.source_id,
            part=part.index,
            part_count=part.count,
            subject=payload["subject"],
            customer_email=payload["customer"].get("email"),
            first_sent_at=first_sent_at,
            thread_times=tuple(sorted(str(t.get("createdAt", "")) for t in payload["threads"])),
            customer_id=_created_customer_id(payload),
        )
        me = (plan.source_id, part.index)
        found = await reconcile_part(
            self.client,
            self.mailbox,
            ref,
            wait_s=self.reconcile_wait_s,
            source_id_field=self.source_id_field,
            on_event=self.emit,
            lost_at=lost_at,
            clock=self.clock,
            sleep=self.sleep,
            claimed=lambda cid: self.checkpoint.holds_conversation(cid, other_than=me),
        )
        if found is not None and self.checkpoint.holds_conversation(found, other_than=me):
            # another part adopted or created it while this lookup awaited: not this part's
            # (checked again here, with no await before the record, so two cannot both take it)
            self.emit("reconcile.claimed", {"source_id": plan.source_id, "conversation_id": found})
            found = None
        if found is not None:
            self.checkpoint.record_done(plan.source_id, part.index, found)
            self.report.add("in_doubt_resolved")
            if lost_at is not None:  # its answer was lost in this run: created in this run
                self.report.add("created_conversations")
        return found

    async def fetch_urls(self, part: Part) -> Fetched:
        """Fetch the part's URL attachments before its POST (spooled to disk): one that cannot
        be had is named in its message (see :func:`with_download_notes`)."""
        fetched: Fetched = {}
        for index, (_, attachment) in enumerate(part.deferred):
            url = attachment.source.url
            if not url or attachment.source.data_base64 or attachment.source.path:
                continue
            try:
                data = await self._download(url)
            except DownloadError as exc:
                fetched[index] = exc
                continue
            assert self.spool_dir is not None
            path = self.spool_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:24]}-{index}"
            await asyncio.to_thread(path.write_bytes, data)
            fetched[index] = path
        return fetched

    async def _download(self, url: str) -> bytes:
        """The file of ``url``: from ``--attachments-dir`` when fetched there, else fetched."""
        if self.attachments_dir is not None:
            kept = fetched_file(self.attachments_dir, url)
            if kept.is_file():
                return await asyncio.to_thread(kept.read_bytes)
        if self.downloader is None:
            raise DownloadError("no downloader for URL attachments in this run", code="internal")
        return await self.downloader.fetch(url)

    async def upload_deferred(
        self,
        plan: ConversationPlan,
        part: Part,
        conversation_id: int,
        states: dict[int, str],
        fetched: Fetched | None = None,
    ) -> None:
        """Upload the attachments of a created part still pending in ``states`` (by index),
        each to its thread, each once (see :mod:`importer.pipeline.uploads`); ``fetched`` holds
        the URL attachments fetched before the part was sent."""
        fetched = fetched or {}
        files = ThreadFiles.of(part, await self.client.list_threads(conversation_id))
        for index, (thread_index, attachment) in enumerate(part.deferred):
            if states.get(index) == UploadState.DONE:  # all of them before any lookup
                files.account(thread_index, attachment.file_name)
        for index, (thread_index, attachment) in enumerate(part.deferred):
            if states.get(index) != UploadState.PENDING:
                continue
            result = await self._upload_one(
                conversation_id, files, thread_index, attachment, fetched.get(index)
            )
            if result.state is not UploadState.DONE:
                self._attachment_left_out(plan, part, attachment, result.reason)
            if result.found:
                self.emit(
                    "upload.found",
                    {"source_id": plan.source_id, "part": part.index, "file": attachment.file_name},
                )
            if result.state is not UploadState.PENDING:
                self.checkpoint.record_upload(
                    plan.source_id, part.index, index, done=result.state is UploadState.DONE
                )

    async def _upload_one(
        self,
        conversation_id: int,
        files: ThreadFiles,
        thread_index: int,
        attachment: AttachmentDraft,
        fetched: Path | DownloadError | None,
    ) -> UploadResult:
        """Read one file and upload it unless it is on its thread already."""
        try:
            if isinstance(fetched, DownloadError):
                raise fetched
            data = await self._attachment_bytes(attachment, fetched)
        except (OSError, ValueError, DownloadError) as exc:
            if files.found(thread_index, attachment.file_name):  # uploaded by an earlier run
                return FOUND
            why = str(exc) if isinstance(exc, DownloadError) else f"cannot be read ({exc})"
            return UploadResult(UploadState.FAILED, why)
        return await upload_once(
            self.client.upload_attachment,
            self.client.list_threads,
            files,
            conversation_id,
            thread_index,
            attachment,
            base64.b64encode(data).decode("ascii"),
        )

    async def _attachment_bytes(self, attachment: AttachmentDraft, spooled: Path | None) -> bytes:
        source = attachment.source
        if spooled is not None:
            return await asyncio.to_thread(spooled.read_bytes)
        if source.data_base64:
            return base64.b64decode("".join(source.data_base64.split()), validate=True)
        if source.path:
            return await asyncio.to_thread(read_attachment_bytes, source.path)
        if not source.url:
            raise ValueError("the attachment has no data, path or URL")
        return await self._download(source.url)

    def _attachment_left_out(
        self, plan: ConversationPlan, part: Part, attachment: AttachmentDraft, why: str
    ) -> None:
        finding = Finding(
            "attachment",
            "attachment",
            f"{attachment.file_name}: {why}; left out",
            attachment.location or plan.location,
            plan.source_id,
            part.index,
        )
        self._uploads_left_out[plan.source_id] = self._uploads_left_out.get(plan.source_id, 0) + 1
        self.left_out([finding])

    def left_out(self, findings: list[Finding]) -> None:
        """Messages or files of an imported conversation that are not in Help Scout: in the
        report's errors and in the checkpoint's error log (``importer status``)."""
        self.report.left_out(findings)
        for finding in findings:
            self.checkpoint.log_error(
                stage=finding.stage,
                code=finding.code,
                message=f"{finding.location}: {finding.message}",
                source_id=finding.source_id,
                part=finding.part,
            )

    # --- settling ----------------------------------------------------------------------------

    def tick(self, outcome: str) -> None:
        """Move the progress on by one settled conversation, with the 429s seen so far."""
        self.progress.counts["throttled"] = self.client.stats.throttled
        self.progress.update(outcome)

    def settle_imported(self, plan: ConversationPlan) -> None:
        """The conversation's last missing part exists: count it imported."""
        self._settled.add(plan.source_id)
        self.report.add("source_conversations")
        self.report.add("imported")
        self.report.add("threads", plan.threads)
        given_up = self._uploads_left_out.pop(plan.source_id, 0)
        self.report.add("attachments", plan.attachments - given_up)
        if len(plan.parts) > 1:
            self.report.add("split_conversations")
        self.report.warn(plan.warnings)
        self.left_out(plan.left_out)
        self.tick("imported")
        self.emit("conversation.imported", {"source_id": plan.source_id, "parts": len(plan.parts)})

    def settle_already_imported(self, plan: ConversationPlan) -> None:
        """Every part existed before this run (it only finished uploading attachments)."""
        self._settled.add(plan.source_id)
        self.report.add("source_conversations")
        self.report.add("already_imported")
        self.tick("already imported")

    def _record_failed_before_sending(self, plan: ConversationPlan, result: PartResult) -> None:
        """Mark the conversation's next part failed (``importer status`` counts it, a rerun sends
        it again); a part that may exist (sending, in doubt) is left as it is, the error logged."""
        code = result.code or "send"
        unsent = self._first_part_not_done(plan) if code == "customer" else None
        if unsent is not None and unsent[1] in (None, PartState.PENDING, PartState.FAILED):
            part = unsent[0]
            self.checkpoint.record_failed(
                plan.source_id,
                part.index,
                code=code,
                message=result.reason,
                part_count=part.count,
                stage="customer",
            )
            return
        self.checkpoint.log_error(
            stage="send", code=code, message=result.reason, source_id=plan.source_id
        )

    def _first_part_not_done(self, plan: ConversationPlan) -> tuple[Part, PartState | None] | None:
        """The conversation's first part not done in the checkpoint, with its state (None: never
        recorded), or None when every part is done."""
        for part in plan.parts:
            row = self.checkpoint.part(plan.source_id, part.index)
            if row is None or row.state != PartState.DONE:
                return part, row.state if row is not None else None
        return None

    def settle_failed(
        self,
        plan: ConversationPlan | InvalidConversation,
        part: int | None,
        result: PartResult,
        stage: str = "send",
    ) -> None:
        """A part could not be created (or, ``stage`` "transform", the conversation could not
        be planned): the conversation is failed, with its reason."""
        if plan.source_id is not None:
            self._settled.add(plan.source_id)
        self.report.add("source_conversations")
        self.report.add("failed")
        self.report.warn(plan.warnings)
        finding = Finding(
            stage, result.code or stage, result.reason, plan.location, plan.source_id, part
        )
        entry = self.report.conversation_error(
            plan.source_id, part, stage, [finding], plan.location
        )
        self.tick("failed")
        self.emit(
            "conversation.failed", {"source_id": plan.source_id, "part": part, "code": result.code}
        )
        self.dead.write(plan.record, entry)
        if isinstance(plan, InvalidConversation):
            self.checkpoint.log_error(
                stage=stage, code=entry["code"], message=result.reason, source_id=plan.source_id
            )
        elif part is None:  # failed before any part was sent (its customer): in the checkpoint
            self._record_failed_before_sending(plan, result)

    def reading_failed(self, exc: Exception, last: str) -> None:
        """The reader raised instead of yielding a record: what was read goes on, the rest of
        the export is not read in this run (exit 1), and the error says where it stopped."""
        message = (
            f"reading stopped after {last}: unexpected {type(exc).__name__}: {exc}; the "
            "conversations after it were not read. Check the export there, then rerun the "
            "same command (what was imported is not sent again)"
        )
        self.read_error = message
        log.error("%s", message)
        self.report.left_out([Finding("read", "internal", message, last)])
        self.emit(
            "read.failed",
            {"error": message, "traceback": "".join(traceback.format_exception(exc))},
        )
        self._best_effort(
            lambda: self.checkpoint.log_error(stage="read", code="internal", message=message)
        )

    def settle_crashed(self, plan: ConversationPlan, exc: Exception) -> None:
        """``plan`` raised what no code expected: it is failed with the exception's type and
        message (in the report, the dead letters and the checkpoint, the traceback in
        ``--log-json``), and the worker goes on. A part whose request may have been sent is
        left in doubt, so the rerun looks it up before sending it again. Counted once: a
        conversation already settled when it raised keeps that count, the error is logged."""
        reason = (
            str(exc)
            if isinstance(exc, ImporterError)
            else f"unexpected {type(exc).__name__}: {exc}"
        )
        self.emit(
            "conversation.crashed",
            {
                "source_id": plan.source_id,
                "error": reason,
                "traceback": "".join(traceback.format_exception(exc)),
            },
        )
        log.error("%s: %s", plan.source_id, reason)
        if plan.source_id in self._settled:
            self._best_effort(
                lambda: self.checkpoint.log_error(
                    stage="send", code="internal", message=reason, source_id=plan.source_id
                )
            )
            return
        self._best_effort(lambda: self._leave_in_doubt(plan, reason))
        try:
            self.settle_failed(plan, None, PartResult(None, None, reason, "internal"))
        except Exception as again:
            log.error("%s: recording the failure failed too: %s", plan.source_id, again)
            self._settled.add(plan.source_id)

    def _leave_in_doubt(self, plan: ConversationPlan, reason: str) -> None:
        """A part left ``sending`` by an exception is in doubt for the rerun; a part not yet
        sent is failed (``importer status`` counts it, the rerun sends it)."""
        unsent = self._first_part_not_done(plan)
        if unsent is None:
            return
        part, state = unsent
        if state is PartState.SENDING:
            self.checkpoint.record_in_doubt(
                plan.source_id, part.index, code="internal", message=reason
            )
        elif state in (None, PartState.PENDING, PartState.FAILED):
            self.checkpoint.record_failed(
                plan.source_id,
                part.index,
                code="internal",
                message=reason,
                part_count=part.count,
                stage="send",
            )

    @staticmethod
    def _best_effort(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:
            log.error("could not record a failure in the checkpoint: %s", exc)


def _remove_spooled(fetched: Fetched) -> None:
    """Delete the files fetched for one part once its uploads are over."""
    for item in fetched.values():
        if isinstance(item, Path):
            item.unlink(missing_ok=True)
