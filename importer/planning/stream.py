"""Every conversation of an export, planned and selected, in source order.

:func:`planned_conversations` is the offline stream (``validate``, ``convert``);
:func:`planned_with_agents` also looks up each agent met for the first time in Help Scout and plans
its conversation again (``plan``, ``verify``); :func:`planned_for_run` is that stream for ``run``,
where a conversation the checkpoint holds as done is skipped at the reader's pace. All three count
what the reader gives and go through one :class:`~importer.planning.selection.Selection`, so every
command agrees on what is valid, on the limits and on the accounting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import aclosing, contextmanager
from typing import Protocol

from importer.findings import Finding
from importer.outputs import staging_writes
from importer.planning.records import Planned, count_record, plan_record
from importer.planning.selection import AlreadyImported, DateRange, Selection, parse_date_range
from importer.readers import Export, SourceRecord
from importer.readers.base import current_read_counts
from importer.settings import TransformSettings
from importer.transform.plan import PlanContext


class AgentLookup(Protocol):
    """The agents met while planning, looked up in Help Scout in one go when some are new."""

    @property
    def has_misses(self) -> bool: ...

    async def fill_misses(self) -> None: ...


def planned_conversations(
    export: Export,
    ctx: PlanContext,
    settings: TransformSettings,
    *,
    date_range: DateRange | None = None,
    leftover: list[Finding] | None = None,
) -> Generator[Planned, None, None]:
    """Every conversation of the export in order, planned, within the date range and limit.
    Warnings about the export that no conversation taken carried are added to ``leftover``."""
    date_range = date_range or parse_date_range(settings.since, settings.until, ctx.source_tz)
    selection = Selection(date_range, settings.limit)
    with _carried_into(leftover, selection):
        for record in _records_to_take(export, selection):
            taken = selection.take(plan_record(record, ctx))
            if taken is not None:
                yield taken


async def planned_with_agents(
    export: Export,
    ctx: PlanContext,
    date_range: DateRange,
    *,
    limit: int | None,
    directory: AgentLookup,
    leftover: list[Finding] | None = None,
) -> AsyncGenerator[Planned, None]:
    """``planned_conversations`` for ``plan`` and ``verify``: an agent met for the first time is
    looked up in Help Scout (users endpoint), then its conversation is planned again."""
    planned_all = planned_for_run(
        export, ctx, date_range, limit=limit, directory=directory, leftover=leftover
    )
    async with aclosing(planned_all):
        async for planned in planned_all:
            assert not isinstance(planned, AlreadyImported)  # no ``done``: every one planned
            yield planned


async def planned_for_run(
    export: Export,
    ctx: PlanContext,
    date_range: DateRange,
    *,
    limit: int | None,
    directory: AgentLookup,
    leftover: list[Finding] | None = None,
    done: Callable[[str], bool] | None = None,
) -> AsyncGenerator[Planned | AlreadyImported, None]:
    """:func:`planned_with_agents`, where a record ``done(source_id)`` says is imported already
    comes out as :class:`AlreadyImported`, not planned (only when no date range needs its
    planned time): a resumed run skips done work at the reader's pace."""
    selection = Selection(date_range, limit)
    with _carried_into(leftover, selection):
        for record in _records_to_take(export, selection):
            if (
                done is not None
                and selection.every_date
                and record.error is None
                and record.source_id is not None
                and done(record.source_id)
            ):
                already = selection.take_done(record)
                if already is not None:
                    yield already
                    continue
            planned = plan_record(record, ctx)
            if directory.has_misses:
                await directory.fill_misses()
                planned = plan_record(record, ctx)
            taken = selection.take(planned)
            if taken is not None:
                yield taken


def _records_to_take(export: Export, selection: Selection) -> Iterator[SourceRecord]:
    """The export's records, each counted as read, until ``selection`` is full."""
    counts = current_read_counts()
    for record in export.records():
        if selection.full:
            return
        count_record(counts, record)
        yield record


@contextmanager
def _carried_into(leftover: list[Finding] | None, selection: Selection) -> Iterator[None]:
    """On the way out, the export's warnings no conversation taken carried go to ``leftover``."""
    try:
        yield
    finally:
        if leftover is not None:
            leftover += selection.carried


async def count_for_progress(
    export: Export, settings: TransformSettings, stop: asyncio.Event
) -> int | None:
    """How many conversations a progress bar counts to (a quick pass, only for the bar's ETA),
    in a thread so that a signal meanwhile is heard at once; it gives up when ``stop`` is set.
    None when a date range needs every conversation planned: there is no cheap total."""
    if settings.since or settings.until:
        return None

    def count() -> int | None:
        total = 0
        with staging_writes():
            for _ in export.records():
                if stop.is_set():
                    return None
                total += 1
        return total

    counted = await asyncio.to_thread(count)
    if counted is None:
        return None
    return min(counted, settings.limit) if settings.limit is not None else counted
