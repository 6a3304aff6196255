"""``validate`` and ``convert``: read, normalise, map, validate and split every conversation;
send nothing. ``convert`` also writes each valid conversation as canonical JSONL.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path

from importer.commands.planned import canonical_output, plan_context, planned_conversations
from importer.deadletter import DeadLetterFile
from importer.events import EventLog
from importer.findings import Finding
from importer.progress import Progress
from importer.readers import open_export
from importer.report import Report, write_report
from importer.settings import TransformSettings
from importer.tally import Tally
from importer.transform.plan import ConversationPlan
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
) -> Report:
    """Run ``validate`` (or ``convert`` with ``output``) and return the report."""
    started = time.monotonic()
    with open_export(inputs, settings.format, settings.mapping_file) as export:
        report = Report(command, export.format, input_names or [str(path) for path in inputs])
        ctx = plan_context(settings, export, offline=True)
        zone = load_zone(settings.source_tz)
        with ExitStack() as stack:
            dead = stack.enter_context(DeadLetterFile(dead_letter_path, export.format, zone))
            progress = stack.enter_context(Progress(command, enabled=show_progress))
            out = stack.enter_context(output.open("w", encoding="utf-8")) if output else None
            events = EventLog(log_json)
            stack.callback(events.close)
            tally = Tally(report, dead)
            leftover: list[Finding] = []
            for planned in planned_conversations(export, ctx, settings, leftover=leftover):
                valid = isinstance(planned, ConversationPlan)
                if isinstance(planned, ConversationPlan):
                    tally.valid(planned)
                else:
                    tally.invalid(planned)
                progress.update("valid" if valid else "invalid")
                events.emit(
                    "conversation.valid" if valid else "conversation.invalid",
                    {"source_id": planned.source_id, "location": planned.location},
                )
                if valid and out is not None:
                    assert isinstance(planned, ConversationPlan)
                    converted = canonical_output(planned.record, zone, export.format)
                    line = json.dumps(converted, ensure_ascii=False)
                    out.write(line + "\n")
        report.warn(leftover)
    report.elapsed_s = time.monotonic() - started
    if report_path is not None:
        write_report(report, report_path)
    return report
