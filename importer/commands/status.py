"""``importer status``: what a checkpoint holds, as JSON or as a table.

:func:`read_status` gathers (the JSON, also what other renderings such as ``--html`` start
from); :func:`render_status` is the table for a person.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from importer.pipeline.checkpoint import Checkpoint


def read_status(path: Path) -> dict[str, Any]:
    """Counts per state, source conversations complete, uploads after creation per state (a
    failed one is also among the errors), parts ``importer undo`` deleted (``undone``: deleted,
    gone before, deleting: sent, answer not yet settled), the last 20 errors and the header."""
    with Checkpoint.open_existing(path) as checkpoint:
        raw = checkpoint.parts.counts()
        counts = {"done": 0, "failed": 0, "in_doubt": 0, "pending": 0}
        for state, number in raw.items():
            key = "in_doubt" if state in ("in_doubt", "sending") else state
            counts[key] = counts.get(key, 0) + number
        return {
            "checkpoint": str(path),
            "header": asdict(checkpoint.header),
            "parts": counts,
            "source_conversations_complete": checkpoint.parts.source_conversations_complete(),
            "uploads": checkpoint.uploads.upload_counts(),
            "undone": checkpoint.undo.undone_counts(),
            "last_errors": [
                {
                    "at": e.at_iso,
                    "source_id": e.source_id,
                    "part": e.part,
                    "stage": e.stage,
                    "code": e.code,
                    "message": e.message,
                }
                for e in checkpoint.errors.last_errors(20)
            ],
        }


def render_status(body: dict[str, Any]) -> str:
    """The status as a table for a person."""
    header = body["header"]
    lines = [
        f"checkpoint {body['checkpoint']}",
        f"  api url   {header.get('api_url')}",
        f"  mailbox   {header.get('mailbox')}",
        f"  format    {header.get('format')}",
        "parts",
    ]
    lines += [f"  {state:<9} {count:>9}" for state, count in body["parts"].items()]
    lines.append(f"source conversations complete: {body['source_conversations_complete']}")
    uploads = body["uploads"]
    if any(uploads.values()):
        lines.append("attachments uploaded after creation")
        lines += [f"  {state:<9} {count:>9}" for state, count in uploads.items()]
    undone = body.get("undone") or {}
    if any(undone.values()):
        lines.append("parts undone (importer undo)")
        lines += [f"  {state:<9} {count:>9}" for state, count in undone.items()]
    if body["last_errors"]:
        lines.append("last errors")
        for e in body["last_errors"]:
            part = f" part {e['part']}" if e["part"] else ""
            lines.append(
                f"  {e['at']} {e['source_id']}{part} [{e['stage']}/{e['code']}] {e['message']}"
            )
    return "\n".join(lines)
