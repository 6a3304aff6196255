"""``importer verify``: read back what the checkpoint says was created and compare it with the
source, allowing for what the importer changes on purpose.

The export is planned again exactly as ``run`` plans it (the inputs, format and options the
latest run recorded in the checkpoint, each overridable); the expected side of each part the
checkpoint records as done is that part as planned, never split again (a part whose messages
differ from the recorded span is reported, not compared). Help Scout's side is one
``GET /v2/conversations/{id}?embed=threads`` per part (plus the thread list when the embedded
threads are cut short), paced within the rate budget. Conversations the checkpoint holds no
created part of are counted ``not_imported``, never mismatches. Here: what is read back (the
settings, the sample, the estimate); the reading and comparing is
:mod:`importer.commands.verify_readback`'s.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import random
import time
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from importer.commands.agents import UserDirectory, load_users_file
from importer.commands.preflight import online_context
from importer.commands.recorded import merged_settings, recorded_inputs
from importer.commands.verify_readback import Verifier
from importer.commands.verify_report import VerifyReport
from importer.errors import UsageError
from importer.events import EventLog
from importer.helpscout.auth import Credentials
from importer.helpscout.client import HelpScoutClient
from importer.pipeline.checkpoint import Checkpoint, PartsLog, PartState
from importer.planning.selection import parse_date_range
from importer.planning.stream import planned_with_agents
from importer.readers import Export, open_export
from importer.settings import RunSettings
from importer.transform.fields import fields_by_name
from importer.transform.plan import PlanContext
from importer.transform.times import load_zone

log = logging.getLogger("importer.verify")

SET_UP_REQUESTS = 3  # token, the mailbox's fields, the token's own user


@dataclass(frozen=True)
class Scope:
    """What is read back: every created conversation, or a sample of them drawn by ``seed``."""

    conversations: int
    parts: int
    chosen: set[str] | None = None  # the sample's source ids (None: not sampled)
    seed: int | None = None  # the sample's, drawn when not given (not sampled: as given)


def sample_ids(parts: PartsLog, size: int, seed: int) -> set[str]:
    """``size`` source ids among those with a created part, drawn by ``seed``: the same seed
    draws the same ids from the same checkpoint (memory: ``size`` ids)."""

    def rank(source_id: str) -> int:
        digest = hashlib.blake2b(f"{seed}:{source_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    return set(heapq.nsmallest(size, parts.created_source_ids(), key=rank))


def resolve_settings(
    given: RunSettings, header_options: Mapping[str, Any] | None, explicit: set[str], *, header: Any
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


def read_back_scope(parts: PartsLog, sample: int | None, seed: int | None) -> Scope:
    """The conversations and parts to read back: all those created, or ``sample`` of them drawn
    by ``seed`` (one drawn at random when not given)."""
    if sample is None:
        conversations, part_count = parts.created_totals()
        return Scope(conversations, part_count, seed=seed)
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    chosen = sample_ids(parts, sample, seed)
    part_count = sum(
        sum(1 for r in parts.parts_of(sid) if r.state is PartState.DONE) for sid in chosen
    )
    return Scope(len(chosen), part_count, chosen, seed)


async def verify_import(
    checkpoint_path: Path,
    inputs: list[Path],
    given: RunSettings,
    *,
    explicit: set[str],
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
            settings = resolve_settings(given, recorded, explicit, header=header)
            report = await _verify(
                checkpoint, inputs, settings, sample=sample, seed=seed, events=events
            )
    finally:
        events.close()
    report.elapsed_s = time.monotonic() - started
    return report


async def _verify(
    checkpoint: Checkpoint,
    inputs: list[Path],
    settings: RunSettings,
    *,
    sample: int | None,
    seed: int | None,
    events: EventLog,
) -> VerifyReport:
    credentials = Credentials.from_env()  # missing credentials stop here, before any request
    transform = settings.transform
    users = load_users_file(settings.users_file) if settings.users_file else {}
    scope = read_back_scope(checkpoint.parts, sample, seed)
    seconds = _announce(scope, settings.rate_limit)
    date_range = parse_date_range(transform.since, transform.until, load_zone(transform.source_tz))
    with open_export(
        inputs, transform.format, transform.mapping_file, limits=transform.read_limits
    ) as export:
        report = VerifyReport(
            checkpoint=str(checkpoint.path),
            inputs=[str(path) for path in inputs],
            format=export.format,
            mailbox=settings.mailbox,
            seed=scope.seed,
            sample=sample,
            sampled=sorted(scope.chosen) if scope.chosen is not None else None,
            estimated_s=seconds,
        )
        async with HelpScoutClient(
            settings.api_url,
            credentials,
            rate_limit=settings.rate_limit,
            ca_bundle=settings.ca_bundle,
            on_event=events.emit,
        ) as client:
            ctx, directory = await _online_context(client, settings, export, users=users)
            verifier = Verifier(client, checkpoint, report)
            conversations_read = planned_with_agents(
                export, ctx, date_range, limit=transform.limit, directory=directory
            )
            async with aclosing(conversations_read):
                met = await verifier.compare_all(conversations_read, scope.chosen)
            report.requests = client.stats.requests
        report.created_not_in_inputs = scope.conversations - met
        if report.created_not_in_inputs:
            log.warning(
                "%d conversation(s) the checkpoint records as created are not in these inputs: "
                "not compared",
                report.created_not_in_inputs,
            )
        report.per_month = verifier.summary.per_month()
    return report


def _announce(scope: Scope, rate_limit: int) -> float:
    """Log what will be read back and how long it should take; the seconds estimated."""
    requests, seconds = estimate(scope.parts, rate_limit)
    log.info(
        "reading back %d part(s) of %d conversation(s)%s with GET requests: about %d requests, "
        "%.0f s at %d units a minute",
        scope.parts,
        scope.conversations,
        f" (sample, seed {scope.seed})" if scope.chosen is not None else "",
        requests,
        seconds,
        rate_limit,
    )
    return seconds


async def _online_context(
    client: HelpScoutClient, settings: RunSettings, export: Export, *, users: dict[str, int]
) -> tuple[PlanContext, UserDirectory]:
    """Planning as ``run`` plans, with the mailbox's fields as they are now."""
    fields = fields_by_name(await client.mailbox_fields(int(settings.mailbox or 0)))
    return await online_context(client, settings, export, users=users, mailbox_fields=fields)
