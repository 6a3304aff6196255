"""``importer run``: stream the export through the worker pool into Help Scout, resumably.

Set-up stops before sending anything when something is wrong (credentials, mailbox, source-id
field, checkpoint of another target: exit 2). Then a producer plans conversations one at a time
into a bounded queue (the reader never runs far ahead) and ``--workers`` workers import them.
SIGINT/SIGTERM stop taking work; requests in flight settle (or stay recorded as in doubt) and the
checkpoint is consistent for a rerun (exit 130). A fatal answer stops the run with exit 3; an
output that cannot be written (disk full, file size limit) the same way, with exit 4.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path

from importer.commands.agents import UserDirectory, load_users_file
from importer.commands.planned import (
    READ_COUNTS_EVENT,
    AlreadyImported,
    DateRange,
    parse_date_range,
    plan_context,
    planned_for_run,
    read_counts_of,
)
from importer.commands.recorded import recorded_options
from importer.commands.stopping import GRACE_MARGIN_S, StopController
from importer.deadletter import DeadLetterFile
from importer.errors import (
    FatalApiError,
    ImporterError,
    OutputWriteError,
    SetUpInterruptedError,
    StoppedError,
    UsageError,
    WorkersLostError,
)
from importer.events import EventLog
from importer.findings import Finding
from importer.helpscout.auth import Credentials
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.download_hosts import HostWatch
from importer.helpscout.downloads import AttachmentDownloader, source_auth_from_env
from importer.helpscout.transport import Timeouts
from importer.outputs import staging_writes
from importer.pipeline.checkpoint import Checkpoint, RunHeader
from importer.pipeline.importer import ImportRun
from importer.pipeline.parts import PartResult
from importer.pipeline.pool import WorkerPool
from importer.pipeline.waiting import HostWaits
from importer.progress import Progress
from importer.readers import Export, open_export
from importer.readers.base import counting_reads
from importer.report import Report, write_report
from importer.settings import RunSettings
from importer.transform.fields import MailboxField, field_kind, fields_by_name
from importer.transform.plan import ConversationPlan, InvalidConversation, PlanContext
from importer.transform.times import load_zone

log = logging.getLogger("importer.run")

EXIT_INTERRUPTED = 130


@dataclass
class RunOutcome:
    """What ``run`` ended with: the report, and the exit code it calls for."""

    report: Report
    exit_code: int


def default_checkpoint(inputs: list[Path]) -> Path:
    """``<first input>.checkpoint.sqlite`` beside the first input (``.`` is the folder's name)."""
    first = Path(inputs[0])
    if not first.name:  # ".", "..", "/": name it after the folder it stands for
        first = first.resolve()
    return first.with_name((first.name or "export") + ".checkpoint.sqlite")


async def preflight(client: HelpScoutClient, settings: RunSettings) -> dict[str, MailboxField]:
    """Check the mailbox and the source-id field; return the mailbox's custom fields by name."""
    mailbox = settings.mailbox
    mailboxes = await client.list_mailboxes()
    if not any(box.get("id") == mailbox for box in mailboxes):
        known = ", ".join(f"{box.get('id')} ({box.get('name')})" for box in mailboxes) or "none"
        raise UsageError(
            f"--mailbox {mailbox}: no such mailbox for these credentials; known: {known}"
        )
    fields = await client.mailbox_fields(int(mailbox or 0))
    by_name = fields_by_name(fields)
    wanted = settings.transform.source_id_field
    if wanted is not None:
        field = next((f for f in fields if f.get("id") == wanted), None)
        if field is None:
            raise UsageError(
                f"--source-id-field {wanted}: mailbox {mailbox} has no such custom field"
            )
        kind = field_kind(field.get("type"))
        if kind not in ("singleline", "text", ""):
            raise UsageError(
                f"--source-id-field {wanted}: field {field.get('name')!r} is {field.get('type')}; "
                "it must be a single-line text field"
            )
    return by_name


async def token_user(client: HelpScoutClient) -> int | None:
    """The id of the token's own user: the author of replies and notes of unmatched agents."""
    me = await client.me()
    user_id = me.get("id") if isinstance(me, dict) else None
    return user_id if isinstance(user_id, int) else None


class Producer:
    """Plans records into the pool, after the date range, the limit and the delta check."""

    def __init__(
        self,
        run: ImportRun,
        ctx: PlanContext,
        directory: UserDirectory,
        date_range: DateRange,
        limit: int | None,
    ) -> None:
        self.run = run
        self.ctx = ctx
        self.directory = directory
        self.date_range = date_range
        self.limit = limit

    async def feed(self, export: Export, pool: WorkerPool[ConversationPlan]) -> None:
        """Put every conversation to import in the pool; count the others at once. When the
        reading ends, the ``read_counts`` event says what it met.

        A reader that breaks down (raises instead of yielding a record) ends the reading: what
        was read is imported, the error names the last record read, and the run exits 1."""
        leftover: list[Finding] = []
        checkpoint = self.run.checkpoint

        def done(source_id: str) -> bool:
            return checkpoint.is_conversation_done(
                source_id
            ) and not checkpoint.has_pending_uploads(source_id)

        conversations = planned_for_run(
            export, self.ctx, self.date_range, self.limit, self.directory, leftover, done
        )
        last = "the start of the export"
        counts = read_counts_of(export)
        with counting_reads(counts):
            try:
                # a full disk met while reading stops the run (exit 4), as any output's
                with staging_writes():
                    async with aclosing(conversations):
                        async for planned in conversations:
                            if self.run.stop.is_set():
                                break
                            last = planned.location
                            if isinstance(planned, AlreadyImported):
                                self.run.report.warn(list(planned.warnings))
                                self.run.settle_already_imported(planned)
                            elif not isinstance(planned, ConversationPlan):
                                self._settle_invalid(planned)
                            elif self.run.checkpoint.is_conversation_done(
                                planned.source_id
                            ) and not self.run.checkpoint.has_pending_uploads(planned.source_id):
                                self.run.settle_already_imported(planned)
                            else:
                                await pool.put(planned)
                            await asyncio.sleep(0)
            except (ImporterError, asyncio.CancelledError):
                raise
            except Exception as exc:
                self.run.reading_failed(exc, last)
        self.run.emit(READ_COUNTS_EVENT, counts.event())

    def _settle_invalid(self, planned: InvalidConversation) -> None:
        if planned.internal is not None:  # the transform broke on it: failed, not invalid
            self.run.emit(
                "conversation.crashed",
                {
                    "source_id": planned.source_id,
                    "error": planned.internal,
                    "traceback": planned.trace,
                },
            )
            self.run.settle_failed(
                planned, None, PartResult(None, None, planned.internal, "internal"), "transform"
            )
            return
        self.run.settle_invalid(planned)


async def _count_for_progress(
    export: Export, settings: RunSettings, stop: asyncio.Event
) -> int | None:
    """How many conversations the bar counts to (a quick pass, only for the bar's ETA), in a
    thread so that a signal meanwhile is heard at once; it gives up when the run stops."""
    if settings.transform.since or settings.transform.until:
        return None  # the range needs every conversation planned: no cheap total

    def count() -> int | None:
        total = 0
        with staging_writes():
            for _ in export.records():
                if stop.is_set():
                    return None
                total += 1
        return total

    counted = await asyncio.to_thread(count)
    limit = settings.transform.limit
    if counted is None:
        return None
    return min(counted, limit) if limit is not None else counted


async def run_import(
    inputs: list[Path],
    settings: RunSettings,
    *,
    report_path: Path | None = None,
    dead_letter_path: Path | None = None,
    log_json: Path | None = None,
    show_progress: bool = False,
    input_names: list[str] | None = None,
    timeouts: Timeouts = Timeouts(),
) -> RunOutcome:
    """Run the import and return its report and exit code."""
    started = time.monotonic()
    stop = asyncio.Event()
    controller = StopController(stop, grace_s=timeouts.total + GRACE_MARGIN_S)
    controller.install()
    credentials = Credentials.from_env()  # missing credentials stop here, before any request
    source_auth_from_env()  # so does a malformed IMPORTER_SOURCE_AUTH
    users = load_users_file(settings.users_file) if settings.users_file else {}
    events = EventLog(log_json)
    transform = settings.transform
    date_range = parse_date_range(transform.since, transform.until, load_zone(transform.source_tz))
    fatal: ImporterError | None = None
    try:
        with open_export(
            inputs, transform.format, transform.mapping_file, transform.read_limits
        ) as export:
            report = Report(
                "run",
                export.format,
                input_names or [str(path) for path in inputs],
                mailbox=settings.mailbox,
            )
            checkpoint_path = settings.checkpoint or default_checkpoint(inputs)
            header = RunHeader(
                api_url=settings.api_url,
                mailbox=int(settings.mailbox or 0),
                format=export.format,
                options=recorded_options(inputs, settings, export.format),  # for ``verify``
            )
            try:
                exit_code = await _run_with(
                    credentials,
                    export,
                    (checkpoint_path, header),
                    settings,
                    report,
                    users,
                    events,
                    date_range,
                    dead_letter_path,
                    show_progress,
                    controller,
                    timeouts,
                )
            except (FatalApiError, WorkersLostError, OutputWriteError) as exc:
                fatal = exc  # the report still says how far the run went
    except (asyncio.CancelledError, StoppedError) as exc:
        if not controller.interrupted or controller.phase != "setup":
            raise
        if isinstance(exc, asyncio.CancelledError):
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        raise SetUpInterruptedError(
            "interrupted during set-up, before anything was sent: rerun the same command"
        ) from None
    finally:
        controller.hand_over()
        events.close()
    report.elapsed_s = time.monotonic() - started
    if report_path is not None:
        try:
            write_report(report, report_path)
        except OutputWriteError as exc:
            if fatal is None:
                raise
            log.error("%s", exc)  # the stop's own error comes last, as the command's message
    if fatal is not None:
        raise fatal
    return RunOutcome(report, exit_code)


async def _run_with(
    credentials: Credentials,
    export: Export,
    checkpoint_at: tuple[Path, RunHeader],
    settings: RunSettings,
    report: Report,
    users: dict[str, int],
    events: EventLog,
    date_range: DateRange,
    dead_letter_path: Path | None,
    show_progress: bool,
    controller: StopController,
    timeouts: Timeouts,
) -> int:
    stop = controller.stop
    async with HelpScoutClient(
        settings.api_url,
        credentials,
        rate_limit=settings.rate_limit,
        ca_bundle=settings.ca_bundle,
        timeouts=timeouts,
        on_event=events.emit,
        stop=stop,
    ) as client:
        # Checked before the checkpoint exists: a refused start leaves nothing behind.
        mailbox_fields = await preflight(client, settings)
        default_user = settings.default_user or await token_user(client)
        directory = UserDirectory(users, client.find_user_by_email)
        ctx = plan_context(
            settings.transform,
            export,
            offline=False,
            mailbox=settings.mailbox,
            resolve_user=directory.resolve,
            default_user=default_user,
            mailbox_fields=mailbox_fields,
        )
        total = await _count_for_progress(export, settings, stop) if show_progress else None
        if stop.is_set():  # a stop during set-up that a swallowed cancellation did not carry
            raise StoppedError("stopped during set-up")
        with (
            Checkpoint.open(*checkpoint_at) as checkpoint,
            DeadLetterFile(
                dead_letter_path, export.format, ctx.source_tz, settings.transform.read_limits
            ) as dead,
            Progress("run", enabled=show_progress, total=total) as progress,
            tempfile.TemporaryDirectory(prefix="importer-files-") as spool,
        ):
            async with AttachmentDownloader(
                settings.downloads,
                stop=stop,
                headers_for=source_auth_from_env(),
                hosts=HostWatch(settings.download_host_wait_s),
            ) as downloader:
                run = ImportRun(
                    client=client,
                    checkpoint=checkpoint,
                    report=report,
                    dead=dead,
                    progress=progress,
                    mailbox=int(settings.mailbox or 0),
                    reconcile_wait_s=settings.reconcile_wait_s,
                    source_id_field=settings.transform.source_id_field,
                    emit=events.emit,
                    stop=stop,
                    downloader=downloader,
                    spool_dir=Path(spool),
                    attachments_dir=settings.attachments_dir,
                )
                progress.gauges = lambda: _gauges(run, downloader)
                try:
                    await _pool(run, export, ctx, directory, date_range, settings, controller)
                finally:
                    controller.hand_over()
                    stats = client.stats
                    report.counts["requests"] = stats.requests
                    report.counts["throttled"] = stats.throttled
                    report.counts["retries"] = stats.retries
        if directory.unmatched:
            log.warning(
                "agents without a Help Scout user: %s", ", ".join(sorted(directory.unmatched))
            )
    if run.fatal is not None:
        if not isinstance(run.fatal, OutputWriteError):  # that one is the command's message
            log.error("stopped: %s", run.fatal)
        raise run.fatal
    if controller.interrupted:
        return EXIT_INTERRUPTED
    exit_code = report.exit_code()
    return max(exit_code, 1) if run.read_error is not None else exit_code


def _gauges(run: ImportRun, downloader: AttachmentDownloader) -> dict[str, int]:
    """What is happening now, for the progress bar."""
    return {
        "in doubt": run.parts.in_doubt_now,
        "rate-limited": run.client.waiting_on_rate,
        "downloads retrying": downloader.retrying,
        "waiting for files": run.waits.count if run.waits is not None else 0,
    }


async def _pool(
    run: ImportRun,
    export: Export,
    ctx: PlanContext,
    directory: UserDirectory,
    date_range: DateRange,
    settings: RunSettings,
    controller: StopController,
) -> None:
    """Run the producer and the workers until the export is done (and no conversation waits
    for a download host), the run stops, or every worker is gone (then the run stops with
    :class:`WorkersLostError`, exit 3)."""
    pool: WorkerPool[ConversationPlan] = WorkerPool(settings.workers, run.handle)
    workers = pool.start()
    downloader = run.downloader
    if downloader is not None and downloader.hosts is not None:
        run.waits = HostWaits(
            downloader.hosts, downloader.probe, pool.put, run.settle_host_down, run.stop
        )
    watching = asyncio.create_task(run.waits.watch() if run.waits is not None else _idle())
    ticking = asyncio.create_task(_tick(run.progress, run.stop))
    producer = Producer(run, ctx, directory, date_range, settings.transform.limit)
    feeding = asyncio.create_task(producer.feed(export, pool))
    controller.start_pool([feeding, *workers, watching])
    try:
        await asyncio.wait([feeding])  # returns when it ends, also when a signal cancels it
        error = None if feeding.cancelled() else feeding.exception()
        if error is None:
            error = await _settled(pool, run, watching)
        if isinstance(error, WorkersLostError) and controller.interrupted:
            error = None  # a second signal cancelled the workers: an interruption
        if error is not None:
            if isinstance(error, FatalApiError | WorkersLostError | OutputWriteError):
                if run.fatal is None:
                    run.fatal = error
                run.stop.set()
            elif not isinstance(error, StoppedError):
                raise error
    finally:
        for task in (watching, ticking):
            task.cancel()
        await asyncio.gather(watching, ticking, return_exceptions=True)
        await pool.finish()


async def _settled(
    pool: WorkerPool[ConversationPlan], run: ImportRun, watching: asyncio.Task[None]
) -> BaseException | None:
    """After the producer: until every conversation put in the pool is settled and none waits
    for a download host, or the run stops. What ends it early (every worker gone, the watcher
    broken) is returned."""
    stopping = asyncio.ensure_future(run.stop.wait())
    try:
        while not run.stop.is_set():
            waiting = run.waits.count if run.waits is not None else 0
            if pool.unsettled <= 0 and waiting == 0:
                return None
            if watching.done() and not watching.cancelled() and watching.exception():
                return watching.exception()  # a bug: it surfaces
            if pool.gone:
                return WorkersLostError(
                    f"every worker stopped ({pool.why_gone()}) with conversations left. The "
                    "checkpoint is consistent: rerun the same command to resume"
                )
            await asyncio.wait([stopping], timeout=0.1)
    finally:
        stopping.cancel()
    return None


async def _tick(progress: Progress, stop: asyncio.Event) -> None:
    """Draw the progress every second, also while nothing settles."""
    while not stop.is_set():
        await asyncio.sleep(1.0)
        progress.refresh()


async def _idle() -> None:
    """The watcher of a run without a downloader: nothing to watch."""
