"""``importer verify``: read back what the checkpoint says was created and compare it with the
source, allowing for what the importer changes on purpose.

The export is planned again exactly as ``run`` plans it (the inputs, format and options the
latest run recorded in the checkpoint, each overridable); the expected side of each part the
checkpoint records as done is that part as planned, never split again (a part whose messages
differ from the recorded span is reported, not compared). Help Scout's side is one
``GET /v2/conversations/{id}?embed=threads`` per part (plus the thread list when the embedded
threads are cut short), paced within the rate budget. Conversations the checkpoint holds no
created part of are counted ``not_imported``, never mismatches.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
import random
import time
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import replace
from pathlib import Path
from typing import Any

from importer.commands.agents import UserDirectory, load_users_file
from importer.commands.preflight import token_user
from importer.commands.recorded import merged_settings, recorded_inputs
from importer.commands.verify_compare import (
    Mismatch,
    compare_conversation,
    expected_threads,
    found_threads,
    normal_time,
    shown,
    thread_rows,
)
from importer.commands.verify_frames import Summary, compare_threads
from importer.commands.verify_report import VerifyReport
from importer.errors import RejectedApiError, UsageError
from importer.events import EventLog
from importer.helpscout.auth import Credentials
from importer.helpscout.client import HelpScoutClient
from importer.pipeline.checkpoint import Checkpoint, PartRecord, PartState
from importer.planning.records import plan_context
from importer.planning.selection import parse_date_range
from importer.planning.stream import planned_with_agents
from importer.readers import open_export
from importer.settings import RunSettings
from importer.transform.fields import fields_by_name
from importer.transform.plan import ConversationPlan, InvalidConversation
from importer.transform.split import Part
from importer.transform.times import load_zone

log = logging.getLogger("importer.verify")

CHUNK = 200  # conversations compared (and framed) at a time
READERS = 4  # GET requests in flight at once (the client paces them)
SET_UP_REQUESTS = 3  # token, the mailbox's fields, the token's own user


def sample_ids(checkpoint: Checkpoint, size: int, seed: int) -> set[str]:
    """``size`` source ids among those with a created part, drawn by ``seed``: the same seed
    draws the same ids from the same checkpoint (memory: ``size`` ids)."""

    def rank(source_id: str) -> int:
        digest = hashlib.blake2b(f"{seed}:{source_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    return set(heapq.nsmallest(size, checkpoint.created_source_ids(), key=rank))


def resolve_settings(
    given: RunSettings, header_options: Mapping[str, Any] | None, explicit: set[str], header: Any
) -> RunSettings:
    """The settings ``verify`` plans with: recorded options, then what was given explicitly;
    a checkpoint without options gives at least its header's API URL, mailbox and format."""
    settings = merged_settings(given, header_options, explicit)
    if header_options is None:
        fallback: dict[str, Any] = {}
        if "api_url" not in explicit:
            fallback["api_url"] = header.api_url
        if "mailbox" not in explicit:
            fallback["mailbox"] = header.mailbox
        settings = replace(settings, **fallback)
        if "format" not in explicit and header.format:
            settings = replace(
                settings, transform=replace(settings.transform, format=header.format)
            )
    return settings


def estimate(parts: int, rate_limit: int) -> tuple[int, float]:
    """Requests and seconds to read ``parts`` parts back at ``rate_limit`` units a minute."""
    requests = parts + SET_UP_REQUESTS
    return requests, requests * 60.0 / max(rate_limit, 1)


def _attachment_size(part: Part, index: int) -> int | None:
    source = part.deferred[index][1].source
    if source.size is not None:
        return source.size
    if source.data_base64:
        raw = "".join(source.data_base64.split())
        return len(raw) * 3 // 4 - raw[-2:].count("=")
    if source.path:
        try:
            return Path(source.path).stat().st_size
        except OSError:
            return None
    return None


class Verifier:
    """Compares chunks of conversations; keeps only counts and mismatches between chunks."""

    def __init__(
        self, client: HelpScoutClient, checkpoint: Checkpoint, report: VerifyReport
    ) -> None:
        self.client = client
        self.checkpoint = checkpoint
        self.report = report
        self.summary = Summary()
        self._readers = asyncio.Semaphore(READERS)

    async def _read(self, conversation_id: int) -> dict[str, Any] | str:
        """The conversation with every thread, or why it could not be read."""
        async with self._readers:
            try:
                body = await self.client.get_conversation(conversation_id, embed_threads=True)
            except RejectedApiError as exc:
                return "missing" if exc.status == 404 else f"not readable: {exc}"
            listed = body.get("threads")
            if isinstance(listed, int) and listed > len(found_threads(body)):
                threads = await self.client.list_threads(conversation_id)
                body["_embedded"] = {**(body.get("_embedded") or {}), "threads": threads}
            return body

    async def compare_chunk(self, chunk: list[tuple[ConversationPlan, list[PartRecord]]]) -> None:
        """Read every done part of ``chunk`` and compare it."""
        reads = [self._read(int(row.conversation_id or 0)) for _plan, rows in chunk for row in rows]
        bodies = iter(await asyncio.gather(*reads))
        expected_rows: list[dict[str, Any]] = []
        found_rows: list[dict[str, Any]] = []
        months: list[dict[str, Any]] = []
        for plan, rows in chunk:
            first_found: str | None = None
            for row in rows:
                body = next(bodies)
                self.report.parts_checked += 1
                got = self._compare_part(plan, row, body, expected_rows, found_rows)
                if got is not None and first_found is None:
                    first_found = got
            months.append({"source": plan.created_at.isoformat(), "found": first_found})
        mismatches, threads = compare_threads(expected_rows, found_rows)
        self.report.mismatches += mismatches
        self.report.threads_checked += threads
        self.summary.add_months(months)

    def _compare_part(
        self,
        plan: ConversationPlan,
        row: PartRecord,
        body: dict[str, Any] | str,
        expected_rows: list[dict[str, Any]],
        found_rows: list[dict[str, Any]],
    ) -> str | None:
        """Compare one part; returns the found conversation's createdAt (None when absent)."""
        sid, number = plan.source_id, row.part
        mismatches = self.report.mismatches
        if isinstance(body, str):
            expected = f"conversation {row.conversation_id}"
            mismatches.append(Mismatch(sid, number, None, "conversation", expected, body))
            return None
        moved = row.part_count != len(plan.parts) or row.part > len(plan.parts)
        part = None if moved else plan.parts[row.part - 1]
        if part is None or (row.span is not None and row.span != part.span):
            found = f"the export now makes {len(plan.parts)} part(s) of other messages"
            expected = f"part {row.part} of {row.part_count} as recorded"
            mismatches.append(Mismatch(sid, number, None, "span", expected, shown(found)))
            return normal_time(body.get("createdAt"))
        customer_id = (
            self.checkpoint.customer_id(plan.customer_key) if part.names_pending_customer else None
        )
        sent = part.body(customer_id)
        states = self.checkpoint.upload_states(sid, number)
        extra: dict[int, list[tuple[str, int | None]]] = {}
        for index, (thread_index, attachment) in enumerate(part.deferred):
            if states.get(index) == "failed":
                continue  # the run reported it left out
            size = _attachment_size(part, index)
            extra.setdefault(thread_index, []).append((attachment.file_name, size))
        mismatches += compare_conversation(sid, number, sent, body)
        wanted, got, order = thread_rows(
            sid, number, expected_threads(sent, extra), found_threads(body)
        )
        expected_rows += wanted
        found_rows += got
        mismatches += order
        return normal_time(body.get("createdAt"))

    def count_unread(self, plan_created: str | None) -> None:
        """A conversation of the source not read back (not imported): in the month chart."""
        self.summary.add_months([{"source": plan_created, "found": None}])


async def verify_import(
    checkpoint_path: Path,
    inputs: list[Path],
    given: RunSettings,
    explicit: set[str],
    *,
    sample: int | None = None,
    seed: int | None = None,
    log_json: Path | None = None,
) -> VerifyReport:
    """Verify what ``checkpoint_path`` records as created against the export."""
    started = time.monotonic()
    events = EventLog(log_json)
    try:
        with Checkpoint.open_existing(checkpoint_path) as checkpoint:
            header = checkpoint.header
            recorded = header.options
            if not inputs:
                inputs = recorded_inputs(recorded)
            if not inputs:
                raise UsageError(
                    "this checkpoint records no inputs (it was written by an importer before "
                    "verify): give INPUT... and the options of the run (--format, --mapping, "
                    "--status-policy, ...)"
                )
            settings = resolve_settings(given, recorded, explicit, header)
            report = await _verify(checkpoint, inputs, settings, sample, seed, events)
    finally:
        events.close()
    report.elapsed_s = time.monotonic() - started
    return report


async def _verify(
    checkpoint: Checkpoint,
    inputs: list[Path],
    settings: RunSettings,
    sample: int | None,
    seed: int | None,
    events: EventLog,
) -> VerifyReport:
    credentials = Credentials.from_env()  # missing credentials stop here, before any request
    transform = settings.transform
    users = load_users_file(settings.users_file) if settings.users_file else {}
    chosen: set[str] | None = None
    if sample is not None:
        seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
        chosen = sample_ids(checkpoint, sample, seed)
        conversations = len(chosen)
        parts = sum(
            sum(1 for r in checkpoint.parts_of(sid) if r.state is PartState.DONE) for sid in chosen
        )
    else:
        conversations, parts = checkpoint.created_totals()
    requests, seconds = estimate(parts, settings.rate_limit)
    log.info(
        "reading back %d part(s) of %d conversation(s)%s with GET requests: about %d requests, "
        "%.0f s at %d units a minute",
        parts,
        conversations,
        f" (sample, seed {seed})" if chosen is not None else "",
        requests,
        seconds,
        settings.rate_limit,
    )
    date_range = parse_date_range(transform.since, transform.until, load_zone(transform.source_tz))
    with open_export(
        inputs, transform.format, transform.mapping_file, transform.read_limits
    ) as export:
        report = VerifyReport(
            checkpoint=str(checkpoint.path),
            inputs=[str(path) for path in inputs],
            format=export.format,
            mailbox=settings.mailbox,
            seed=seed,
            sample=sample,
            sampled=sorted(chosen) if chosen is not None else None,
            estimated_s=seconds,
        )
        async with HelpScoutClient(
            settings.api_url,
            credentials,
            rate_limit=settings.rate_limit,
            ca_bundle=settings.ca_bundle,
            on_event=events.emit,
        ) as client:
            fields = fields_by_name(await client.mailbox_fields(int(settings.mailbox or 0)))
            default_user = settings.default_user or await token_user(client)
            directory = UserDirectory(users, client.find_user_by_email)
            ctx = plan_context(
                transform,
                export,
                offline=False,
                mailbox=settings.mailbox,
                resolve_user=directory.resolve,
                default_user=default_user,
                mailbox_fields=fields,
            )
            verifier = Verifier(client, checkpoint, report)
            met = 0
            chunk: list[tuple[ConversationPlan, list[PartRecord]]] = []
            conversations_read = planned_with_agents(
                export, ctx, date_range, limit=transform.limit, directory=directory
            )
            async with aclosing(conversations_read):
                async for planned in conversations_read:
                    sid = planned.source_id
                    rows = [
                        r
                        for r in (checkpoint.parts_of(sid) if sid is not None else [])
                        if r.state is PartState.DONE and r.conversation_id is not None
                    ]
                    created = planned.created_at.isoformat() if planned.created_at else None
                    if not rows:
                        report.not_imported += 1
                        if chosen is None:
                            verifier.count_unread(created)
                        continue
                    if chosen is not None and sid not in chosen:
                        continue
                    met += 1
                    report.conversations_checked += 1
                    if isinstance(planned, InvalidConversation):
                        reason = planned.findings[0].message if planned.findings else "invalid"
                        report.mismatches.append(
                            Mismatch(
                                str(sid),
                                None,
                                None,
                                "conversation",
                                "valid, as imported",
                                shown(f"invalid now: {reason}"),
                            )
                        )
                        verifier.count_unread(created)
                        continue
                    chunk.append((planned, rows))
                    if len(chunk) >= CHUNK:
                        await verifier.compare_chunk(chunk)
                        chunk = []
            if chunk:
                await verifier.compare_chunk(chunk)
            report.requests = client.stats.requests
        report.created_not_in_inputs = conversations - met
        if report.created_not_in_inputs:
            log.warning(
                "%d conversation(s) the checkpoint records as created are not in these inputs: "
                "not compared",
                report.created_not_in_inputs,
            )
        report.per_month = verifier.summary.per_month()
    return report
