"""``validate`` and ``convert``: read, normalise, map, validate and split every conversation;
send nothing. ``convert`` also writes each valid conversation as canonical JSONL.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from contextlib import ExitStack
from datetime import tzinfo
from pathlib import Path

from importer.deadletter import DeadLetterFile
from importer.events import EventLog
from importer.findings import Finding
from importer.outputs import OutputFile, staging_writes
from importer.planning.pool import planned_by_workers
from importer.planning.records import (
    canonical_output,
    canonical_text,
    counted_reading,
    plan_context,
    unwritten,
)
from importer.planning.stream import planned_conversations
from importer.planning.summary import PlanSummary
from importer.progress import Progress
from importer.readers import Export, open_export
from importer.readers.batches import BATCH_SIZE
from importer.report import Report, write_report
from importer.settings import TransformSettings
from importer.tally import Tally
from importer.transform.plan import ConversationPlan, InvalidConversation, PlanContext
from importer.transform.times import load_zone


def run_offline(
    command: str,
    inputs: list[Path],
    settings: TransformSettings,
    *,
    output: Path | None = None,
    report_path: Path | None = None,
    dead_letter_path: Path | None = None,
    show_progress: bool = False,
    log_json: Path | None = None,
    input_names: list[str] | None = None,
    jobs: int = 1,
    batch_size: int = BATCH_SIZE,
) -> Report:
    """Run ``validate`` (or ``convert`` with ``output``) and return the report; ``jobs`` above 1
    plans in that many worker processes (the same report and output). Once every conversation
    is read, the ``read_counts`` event says what the reading met."""
    started = time.monotonic()
    with open_export(
        inputs, settings.format, settings.mapping_file, limits=settings.read_limits
    ) as export:
        report = Report(command, export.format, input_names or [str(path) for path in inputs])
        ctx = plan_context(settings, export, offline=True)
        zone = load_zone(settings.source_tz)
        with ExitStack() as stack:
            dead = stack.enter_context(
                DeadLetterFile(dead_letter_path, export.format, zone, limits=settings.read_limits)
            )
            progress = stack.enter_context(Progress(command, enabled=show_progress))
            out = OutputFile(output, flush_each=False) if output else None
            if out is not None:
                stack.callback(out.close)
            events = EventLog(log_json)
            stack.callback(events.close)
            tally = Tally(report, dead)
            stack.enter_context(counted_reading(export, events.emit))  # ``read_counts`` at the end
            stack.enter_context(staging_writes())  # a full disk while reading: exit 4
            leftover: list[Finding] = []
            convert_zone = zone if out is not None else None
            # closed here, in this thread, however the loop ends (a full disk: exit 4), not by
            # the collector on whichever thread it runs (the workers' pool cannot be joined there)
            planned_all = _planned(
                export,
                ctx,
                settings,
                jobs=jobs,
                convert_zone=convert_zone,
                leftover=leftover,
                batch_size=batch_size,
            )
            stack.callback(planned_all.close)
            for planned in planned_all:
                if out is not None and not isinstance(planned, InvalidConversation):
                    planned = _written(out, planned, zone=zone, source=export.format)
                _count(planned, tally=tally, progress=progress, events=events)
        report.warn(leftover)
    report.elapsed_s = time.monotonic() - started
    if report_path is not None:
        write_report(report, report_path)
    return report


def _planned(
    export: Export,
    ctx: PlanContext,
    settings: TransformSettings,
    *,
    jobs: int,
    convert_zone: tzinfo | None,
    leftover: list[Finding],
    batch_size: int = BATCH_SIZE,
) -> Generator[ConversationPlan | PlanSummary | InvalidConversation, None, None]:
    """The export planned in this process, or by ``jobs`` worker processes above 1 (valid ones
    then as summaries, with their canonical line when ``convert_zone`` is set)."""
    if jobs <= 1:
        return planned_conversations(export, ctx, settings, leftover=leftover)
    return planned_by_workers(
        export,
        ctx,
        settings,
        jobs=jobs,
        convert_zone=convert_zone,
        leftover=leftover,
        batch_size=batch_size,
    )


def _count(
    planned: ConversationPlan | PlanSummary | InvalidConversation,
    *,
    tally: Tally,
    progress: Progress,
    events: EventLog,
) -> None:
    """Count one conversation valid or invalid: the report, the bar, the event log."""
    if isinstance(planned, InvalidConversation):
        tally.invalid(planned)
    else:
        tally.valid(planned)
    valid = not isinstance(planned, InvalidConversation)
    progress.update("valid" if valid else "invalid")
    events.emit(
        "conversation.valid" if valid else "conversation.invalid",
        {"source_id": planned.source_id, "location": planned.location},
    )


def _written(
    out: OutputFile, planned: ConversationPlan | PlanSummary, *, zone: tzinfo, source: str
) -> ConversationPlan | PlanSummary | InvalidConversation:
    """``planned`` once its canonical line is written to ``out``; made invalid instead when
    the line cannot be made (its failure alone, never the command's)."""
    if isinstance(planned, PlanSummary) and planned.converted is not None:
        line = planned.converted
    else:
        try:
            line = canonical_text(canonical_output(planned.record, zone, source))
        except Exception as exc:
            return unwritten(planned, exc)
    out.write(line + "\n")
    return planned
