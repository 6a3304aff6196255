"""``importer plan``: read-only checks against Help Scout, and what the run will cost.

Every conversation is planned exactly as ``run`` would plan it (same stages, same splitting,
agents matched through the same users endpoint), but nothing is written: the only requests are
the token, the mailbox list, the mailbox's fields and the users, listed once before planning
(:func:`~importer.commands.agents.listed_users`). With ``--jobs`` above 1 the conversations are
planned in worker processes (as ``validate`` plans them), which send no request: they resolve
agents from that list and send back what counting needs (``RequestFigures``).

What blocks the run (no credentials, credentials refused, an unknown mailbox, an unusable
``--source-id-field``, the API unreachable) is a *blocker*: the report is still written, with
the offline counts, and the command exits 2. Invalid conversations do not block the others
(exit 1). The estimate assumes no 429 and no answer lost: ``units`` at the pace ``run`` keeps
(``--rate-limit``, lowered by the API's ``X-RateLimit-Limit-Minute`` when that is lower, times
the pacer's headroom).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from contextlib import AsyncExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.commands.agents import ListedAgents, listed_users, load_users_file
from importer.commands.links import LinkSample
from importer.commands.preflight import preflight
from importer.deadletter import DeadLetterFile
from importer.errors import ImporterError
from importer.events import EventLog
from importer.findings import Finding
from importer.helpscout.auth import Credentials
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.pacing import Pacer
from importer.outputs import staging_writes
from importer.planning.pool import planned_by_workers
from importer.planning.records import counted_reading, plan_context
from importer.planning.selection import parse_date_range
from importer.planning.stream import planned_conversations
from importer.planning.summary import PlanSummary, RequestFigures
from importer.readers import Export, open_export
from importer.readers.batches import BATCH_SIZE
from importer.report import Report, write_json_atomic
from importer.settings import RunSettings
from importer.spooled import SpooledEntries
from importer.tally import Tally
from importer.transform.fields import MailboxField
from importer.transform.plan import ConversationPlan, InvalidConversation
from importer.transform.times import load_zone

__all__ = ["PLAN_KEYS", "PlanReport", "plan_import", "render_plan", "write_plan"]

#: The contract's keys of ``plan --report``, in order (``errors`` is ours: the invalid ones).
PLAN_KEYS = (
    "conversations",
    "invalid",
    "parts",
    "threads",
    "attachments",
    "customers_to_create",
    "requests",
    "units",
    "rate_limit",
    "estimated_s",
    "unmatched_agents",
    "blockers",
    "warnings",
)

WRITE_UNITS = 2
READ_UNITS = 1


@dataclass
class PlanReport:
    """What ``plan`` found: the counts of the contract and the reasons behind them."""

    inputs: list[str]
    mailbox: int
    format: str | None = None
    parts: int = 0
    customers_to_create: int = 0
    writes: int = 0
    reads: int = 0
    rate_limit: int = 0
    pace_units_per_minute: float = 0.0
    unmatched_agents: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    #: attachment hosts that could not be reached at all: host, conversations, why
    unreachable_hosts: list[dict[str, Any]] = field(default_factory=list)
    #: errors (invalid conversations, what would be left out) and warnings, as ``validate``
    notes: Report = field(default_factory=lambda: Report("plan", None, []))
    elapsed_s: float = 0.0

    @property
    def conversations(self) -> int:
        """Conversations read (after ``--since``/``--until``/``--limit``), as ``validate``."""
        return self.notes.counts["source_conversations"]

    @property
    def invalid(self) -> int:
        return self.notes.counts["invalid"]

    @property
    def threads(self) -> int:
        return self.notes.counts["threads"]

    @property
    def attachments(self) -> int:
        return self.notes.counts["attachments"]

    @property
    def errors(self) -> SpooledEntries:
        """One entry per invalid conversation and per message or file that would be left out."""
        return self.notes.errors

    @property
    def warnings(self) -> SpooledEntries:
        """What would be changed to fit."""
        return self.notes.warnings

    @property
    def requests(self) -> int:
        """Requests the run will make when nothing is lost or throttled."""
        return self.writes + self.reads

    @property
    def units(self) -> int:
        """Rate-limit units of those requests (a write costs 2, a read 1)."""
        return self.writes * WRITE_UNITS + self.reads * READ_UNITS

    @property
    def estimated_s(self) -> float:
        """Seconds the run will take at the pace it keeps."""
        if self.pace_units_per_minute <= 0:
            return 0.0
        return round(self.units / self.pace_units_per_minute * 60.0, 1)

    def exit_code(self) -> int:
        """2 when something blocks the run, 1 when some conversations would be invalid, else 0."""
        if self.blockers:
            return 2
        return 1 if self.invalid else 0

    def to_dict(self) -> dict[str, Any]:
        """The report JSON: the contract's keys, then what else helps."""
        body: dict[str, Any] = {
            "conversations": self.conversations,
            "invalid": self.invalid,
            "parts": self.parts,
            "threads": self.threads,
            "attachments": self.attachments,
            "customers_to_create": self.customers_to_create,
            "requests": self.requests,
            "units": self.units,
            "rate_limit": self.rate_limit,
            "estimated_s": self.estimated_s,
            "unmatched_agents": sorted(self.unmatched_agents),
            "blockers": list(self.blockers),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
            "unreachable_hosts": list(self.unreachable_hosts),
            "command": "plan",
            "format": self.format,
            "inputs": self.inputs,
            "mailbox": self.mailbox,
            "elapsed_s": round(self.elapsed_s, 3),
        }
        return body


def _count(
    report: PlanReport,
    tally: Tally,
    planned: ConversationPlan | PlanSummary | InvalidConversation,
    *,
    customers: set[str],
) -> RequestFigures | None:
    """Count one planned conversation (as ``validate`` does) and the requests it will take;
    what it requests, when valid."""
    if isinstance(planned, InvalidConversation):
        tally.invalid(planned)
        return None
    tally.valid(planned)
    figures = planned.requests if isinstance(planned, PlanSummary) else RequestFigures.of(planned)
    assert figures is not None, "planned with requests=True"
    report.parts += len(figures.deferred)
    report.writes += len(figures.deferred)
    for uploads in figures.deferred:
        if uploads:
            report.reads += 1  # the part's threads are listed to find the upload targets
            report.writes += uploads
    if figures.customer_key is not None and figures.customer_key not in customers:
        customers.add(figures.customer_key)
        report.customers_to_create += 1
        report.writes += 1
    return figures


async def _connect(
    stack: AsyncExitStack, settings: RunSettings, events: EventLog, *, report: PlanReport
) -> tuple[HelpScoutClient | None, dict[str, MailboxField] | None]:
    """The client and the mailbox's field ids, or (None, None) with a blocker said."""
    try:
        credentials = Credentials.from_env()
    except ImporterError as exc:
        report.blockers.append(str(exc))
        return None, None
    client = await stack.enter_async_context(
        HelpScoutClient(
            settings.api_url,
            credentials,
            rate_limit=settings.rate_limit,
            ca_bundle=settings.ca_bundle,
            on_event=events.emit,
        )
    )
    try:
        mailbox_fields = await preflight(client, settings)
        if settings.default_user is None:
            await client.me()  # the author of unmatched agents' messages must exist
    except ImporterError as exc:
        report.blockers.append(str(exc))
        return None, None
    return client, mailbox_fields


async def plan_import(
    inputs: list[Path],
    settings: RunSettings,
    *,
    dead_letter_path: Path | None = None,
    log_json: Path | None = None,
    input_names: list[str] | None = None,
    jobs: int = 1,
    batch_size: int = BATCH_SIZE,
) -> PlanReport:
    """Plan the run of ``inputs`` into ``settings.mailbox`` without writing anything; ``jobs``
    above 1 plans in that many worker processes (the same report)."""
    started = time.monotonic()
    transform = settings.transform
    users = load_users_file(settings.users_file) if settings.users_file else {}
    parse_date_range(transform.since, transform.until, load_zone(transform.source_tz))  # usage
    report = PlanReport(input_names or [str(p) for p in inputs], int(settings.mailbox or 0))
    events = EventLog(log_json)
    try:
        with (
            open_export(
                inputs, transform.format, transform.mapping_file, limits=transform.read_limits
            ) as export,
            DeadLetterFile(
                dead_letter_path,
                export.format,
                load_zone(transform.source_tz),
                limits=transform.read_limits,
            ) as dead,
        ):
            report.format = export.format
            async with AsyncExitStack() as stack:
                client, mailbox_fields = await _connect(stack, settings, events, report=report)
                with counted_reading(export, events.emit), staging_writes():
                    await _plan_all(
                        export,
                        settings,
                        report,
                        dead=dead,
                        client=client,
                        mailbox_fields=mailbox_fields,
                        users=users,
                        jobs=(jobs, batch_size),
                    )
                pace = client.pacer.rate if client is not None else None
                server = client.pacer.server_limit if client is not None else None
                if client is not None:
                    report.reads += client.stats.requests  # preflight and users lookups
    finally:
        events.close()
    report.rate_limit = int(server) if server is not None else int(settings.rate_limit)
    # what ``run`` spends: the budget less the pacer's reserve (594 of 600, 394 of 400)
    report.pace_units_per_minute = pace if pace is not None else Pacer(settings.rate_limit).rate
    report.elapsed_s = time.monotonic() - started
    return report


async def _plan_all(
    export: Export,
    settings: RunSettings,
    report: PlanReport,
    *,
    dead: DeadLetterFile,
    client: HelpScoutClient | None,
    mailbox_fields: dict[str, MailboxField] | None,
    users: dict[str, int],
    jobs: tuple[int, int],
) -> None:
    """Plan and count every conversation; ``jobs``: worker processes and their batch size."""
    transform = settings.transform
    directory = ListedAgents(users, await listed_users(client) if client is not None else None)
    ctx = plan_context(
        transform,
        export,
        offline=client is None,
        mailbox=settings.mailbox,
        resolve_user=directory.resolve,
        default_user=settings.default_user,
        mailbox_fields=mailbox_fields,
    )
    tally = Tally(report.notes, dead)
    customers: set[str] = set()
    links = LinkSample(settings.attachments_dir)
    leftover: list[Finding] = []
    planned_all: Generator[ConversationPlan | PlanSummary | InvalidConversation, None, None]
    workers, batch_size = jobs
    if workers > 1:
        planned_all = planned_by_workers(
            export,
            ctx,
            transform,
            jobs=workers,
            leftover=leftover,
            batch_size=batch_size,
            requests=True,
            agents=directory,
        )
    else:
        planned_all = planned_conversations(export, ctx, transform, leftover=leftover)
    with closing(planned_all):  # closed in this thread however the loop ends
        for planned in planned_all:
            figures = _count(report, tally, planned, customers=customers)
            if figures is not None:
                links.add(figures.links)
    report.unmatched_agents = sorted(directory.unmatched)
    report.notes.warn(leftover)
    report.notes.warn(await links.check(settings.downloads))
    report.unreachable_hosts = links.unreachable_hosts()


def write_plan(report: PlanReport, path: Path) -> None:
    """Write the plan report JSON, atomically."""
    write_json_atomic(report.to_dict(), path)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def render_plan(report: PlanReport, *, max_rows: int = 20) -> str:
    """The plan as a table for the terminal: the same keys as the report."""
    body = report.to_dict()
    rows = [(key, body[key]) for key in PLAN_KEYS if key not in ("warnings", "blockers")]
    rows = [
        (key, f"{value} ({_duration(value)})" if key == "estimated_s" else value)
        for key, value in rows
    ]
    rows = [
        (key, ", ".join(value) if isinstance(value, list) and value else (value or 0))
        for key, value in rows
    ]
    width = max(len(key) for key, _ in rows)
    lines = [f"plan: mailbox {report.mailbox}, format {report.format}"]
    lines += [f"  {key:<{width}}  {value}" for key, value in rows]
    lines.append(f"  {'warnings':<{width}}  {len(report.warnings)}")
    verdict = "blocked" if report.blockers else "ready"
    if not report.blockers and report.invalid:
        verdict = f"ready; {report.invalid} conversation(s) would be invalid"
    lines.append(f"  {'blockers':<{width}}  {len(report.blockers)} ({verdict})")
    for blocker in report.blockers:
        lines.append(f"blocker: {blocker}")
    for host in report.unreachable_hosts:
        lines.append(
            f"warning: attachment host {host['host']} cannot be reached ({host['why']}): "
            f"{host['conversations']} conversation(s) need its files"
        )
    for entry in report.errors[:max_rows]:
        lines.append(f"error: {entry.get('location')}: {entry.get('message')}")
    if len(report.errors) > max_rows:
        lines.append(f"... and {len(report.errors) - max_rows} more errors (see --report)")
    return "\n".join(lines)
