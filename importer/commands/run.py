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
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.commands.agents import load_users_file
from importer.commands.preflight import Ready, set_up
from importer.commands.recorded import recorded_options
from importer.commands.stopping import GRACE_MARGIN_S, StopController
from importer.deadletter import DeadLetterFile
from importer.errors import (
    FatalApiError,
    ImporterError,
    OutputWriteError,
    SetUpInterruptedError,
    StoppedError,
    WorkersLostError,
)
from importer.events import EventLog
from importer.helpscout.auth import Credentials
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.download_hosts import HostWatch
from importer.helpscout.downloads import AttachmentDownloader, source_auth_from_env
from importer.helpscout.transport import Timeouts
from importer.pipeline.checkpoint import Checkpoint, RunHeader
from importer.pipeline.feed import Feed
from importer.pipeline.importer import ImportRun
from importer.pipeline.pool import WorkerPool
from importer.pipeline.pulse import gauges, heartbeat, pulse
from importer.pipeline.run_events import (
    ClientRetries,
    PhaseChanged,
    ProgressListener,
    RunEvents,
    RunListener,
    RunStarted,
)
from importer.pipeline.waiting import HostWaits
from importer.planning.records import counted_reading
from importer.planning.selection import DateRange, parse_date_range
from importer.planning.stream import planned_for_run
from importer.progress import Progress
from importer.readers import Export, open_export
from importer.report import Report, write_report
from importer.settings import RunSettings
from importer.transform.plan import ConversationPlan
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


@dataclass(frozen=True)
class RunJob:
    """What one ``run`` is given besides its export, gathered before any request."""

    settings: RunSettings
    credentials: Credentials
    users: dict[str, int]
    events: EventLog
    date_range: DateRange
    controller: StopController
    timeouts: Timeouts
    #: the run's listeners (see :mod:`importer.pipeline.run_events`)
    hub: RunEvents
    dead_letter_path: Path | None = None
    show_progress: bool = False


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
    listeners: Sequence[RunListener] = (),
) -> RunOutcome:
    """Run the import and return its report and exit code. ``listeners`` hear the run's events
    (:mod:`importer.pipeline.run_events`), the last ``PhaseChanged("ended", exit_code)``."""
    started = time.monotonic()
    controller = StopController(asyncio.Event(), grace_s=timeouts.total + GRACE_MARGIN_S)
    controller.install()
    credentials = Credentials.from_env()  # missing credentials stop here, before any request
    source_auth_from_env()  # so does a malformed IMPORTER_SOURCE_AUTH
    users = load_users_file(settings.users_file) if settings.users_file else {}
    events = EventLog(log_json)
    transform = settings.transform
    job = RunJob(
        settings=settings,
        credentials=credentials,
        users=users,
        events=events,
        date_range=parse_date_range(
            transform.since, transform.until, load_zone(transform.source_tz)
        ),
        controller=controller,
        timeouts=timeouts,
        hub=RunEvents(listeners),
        dead_letter_path=dead_letter_path,
        show_progress=show_progress,
    )
    ended = EXIT_INTERRUPTED
    try:
        report, exit_code, fatal = await _run_export(job, inputs, input_names)
        ended = fatal.exit_code if fatal is not None else exit_code
    except (asyncio.CancelledError, StoppedError) as exc:
        if not _interrupted_in_set_up(controller, exc):
            raise
        raise SetUpInterruptedError(
            "interrupted during set-up, before anything was sent: rerun the same command"
        ) from None
    except ImporterError as exc:
        ended = exc.exit_code
        raise
    finally:
        controller.hand_over()
        events.close()
        job.hub.publish(PhaseChanged("ended", ended))
    report.elapsed_s = time.monotonic() - started
    _write(report, report_path, fatal)
    return RunOutcome(report, exit_code)


def _write(report: Report, report_path: Path | None, fatal: ImporterError | None) -> None:
    """Write the report, also after a stop; then raise what stopped the run, if anything."""
    if report_path is not None:
        try:
            write_report(report, report_path)
        except OutputWriteError as exc:
            if fatal is None:
                raise
            log.error("%s", exc)  # the stop's own error comes last, as the command's message
    if fatal is not None:
        raise fatal


def _interrupted_in_set_up(controller: StopController, exc: BaseException) -> bool:
    """Whether ``exc`` is a signal's stop during set-up (its cancellation then taken back)."""
    if not controller.interrupted or controller.phase != "setup":
        return False
    if isinstance(exc, asyncio.CancelledError):
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    return True


async def _run_export(
    job: RunJob, inputs: list[Path], input_names: list[str] | None
) -> tuple[Report, int, ImporterError | None]:
    """The run of the export: its report, its exit code, and the error that stopped it (a fatal
    answer, every worker lost, an output not written), after which the report is still written."""
    settings = job.settings
    transform = settings.transform
    with open_export(
        inputs, transform.format, transform.mapping_file, limits=transform.read_limits
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
                job, export, report, checkpoint_at=(checkpoint_path, header)
            )
        except (FatalApiError, WorkersLostError, OutputWriteError) as exc:
            return report, 0, exc  # the report still says how far the run went
    return report, exit_code, None


async def _run_with(
    job: RunJob, export: Export, report: Report, *, checkpoint_at: tuple[Path, RunHeader]
) -> int:
    settings = job.settings
    async with HelpScoutClient(
        settings.api_url,
        job.credentials,
        rate_limit=settings.rate_limit,
        ca_bundle=settings.ca_bundle,
        timeouts=job.timeouts,
        on_event=ClientRetries(job.hub, job.events.emit),
        stop=job.controller.stop,
    ) as client:
        ready = await set_up(
            client,
            export,
            settings,
            users=job.users,
            count_total=job.show_progress or job.hub.listened,
            stop=job.controller.stop,
        )
        run = await _import(job, client, export, report=report, ready=ready, at=checkpoint_at)
        if ready.directory.unmatched:
            log.warning(
                "agents without a Help Scout user: %s", ", ".join(sorted(ready.directory.unmatched))
            )
    if run.fatal is not None:
        if not isinstance(run.fatal, OutputWriteError):  # that one is the command's message
            log.error("stopped: %s", run.fatal)
        raise run.fatal
    if job.controller.interrupted:
        return EXIT_INTERRUPTED
    exit_code = report.exit_code()
    return max(exit_code, 1) if run.read_error is not None else exit_code


async def _import(
    job: RunJob,
    client: HelpScoutClient,
    export: Export,
    *,
    report: Report,
    ready: Ready,
    at: tuple[Path, RunHeader],
) -> ImportRun:
    """The import itself, from the checkpoint's opening to the pool's end."""
    settings, stop = job.settings, job.controller.stop
    read_limits = settings.transform.read_limits
    with (
        Checkpoint.open(*at) as checkpoint,
        DeadLetterFile(
            job.dead_letter_path, export.format, ready.ctx.source_tz, limits=read_limits
        ) as dead,
        Progress("run", enabled=job.show_progress, total=ready.total) as progress,
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
                events=job.hub,
                mailbox=int(settings.mailbox or 0),
                reconcile_wait_s=settings.reconcile_wait_s,
                source_id_field=settings.transform.source_id_field,
                emit=job.events.emit,
                stop=stop,
                downloader=downloader,
                spool_dir=Path(spool),
                attachments_dir=settings.attachments_dir,
            )
            progress.gauges = lambda: gauges(run, downloader)
            unsubscribe = job.hub.subscribe(ProgressListener(progress))
            job.hub.publish(RunStarted(ready.total))
            job.hub.phase_now("sending")
            try:
                await _pool(run, job, export=export, ready=ready)
            finally:
                unsubscribe()
                job.controller.hand_over()
                stats = client.stats
                report.counts["requests"] = stats.requests
                report.counts["throttled"] = stats.throttled
                report.counts["retries"] = stats.retries
    return run


async def _pool(run: ImportRun, job: RunJob, *, export: Export, ready: Ready) -> None:
    """Run the feed and the workers until the export is done (and no conversation waits for a
    download host), the run stops, or every worker is gone (then the run stops with
    :class:`WorkersLostError`, exit 3)."""
    controller = job.controller
    pool: WorkerPool[ConversationPlan] = WorkerPool(job.settings.workers, run.handle)
    workers = pool.start()
    downloader = run.downloader
    if downloader is not None and downloader.hosts is not None:
        run.waits = HostWaits(
            downloader.hosts, downloader.probe, pool.put, run.settle_host_down, run.stop
        )
    # without a downloader there is nothing to watch: a watcher that ends at once
    watching = asyncio.create_task(run.waits.watch() if run.waits is not None else asyncio.sleep(0))
    ticking = asyncio.create_task(heartbeat(run))
    feeding = asyncio.create_task(_feed(run, pool, job, export=export, ready=ready))
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
        run.events.publish(pulse(run))  # the last figures: units spent since the last beat


def _feed(
    run: ImportRun,
    pool: WorkerPool[ConversationPlan],
    job: RunJob,
    *,
    export: Export,
    ready: Ready,
) -> Coroutine[Any, Any, None]:
    """The pool's feed: the export planned for this run, every conversation the checkpoint
    holds as done settled without planning it again when no date range needs its time."""
    parts, uploads = run.checkpoint.parts, run.checkpoint.uploads

    def done(source_id: str) -> bool:
        return parts.is_conversation_done(source_id) and not uploads.has_pending_uploads(source_id)

    conversations = planned_for_run(
        export,
        ready.ctx,
        job.date_range,
        limit=job.settings.transform.limit,
        directory=ready.directory,
        done=done,
    )
    feed = Feed(
        settle=run, put=pool.put, done=done, stop=run.stop, emit=run.emit, warn=run.report.warn
    )
    return feed.feed(conversations, counting=counted_reading(export, run.emit))


async def _settled(
    pool: WorkerPool[ConversationPlan], run: ImportRun, watching: asyncio.Task[None]
) -> BaseException | None:
    """After the feed: until every conversation put in the pool is settled and none waits
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
