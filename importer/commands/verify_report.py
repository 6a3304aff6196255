"""``verify``'s report: the ``--report`` JSON and the rows and summary printed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from importer.commands.verify_compare import Mismatch
from importer.commands.verify_frames import per_field


@dataclass
class VerifyReport:
    """What ``verify`` found; ``as_dict`` is the ``--report`` JSON."""

    checkpoint: str
    inputs: list[str]
    format: str | None
    mailbox: int | None
    seed: int | None = None
    sample: int | None = None
    sampled: list[str] | None = None  # the source ids drawn by --sample
    conversations_checked: int = 0
    parts_checked: int = 0
    threads_checked: int = 0
    not_imported: int = 0
    created_not_in_inputs: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    requests: int = 0
    estimated_s: float = 0.0
    elapsed_s: float = 0.0
    per_month: list[dict[str, Any]] = field(default_factory=list)

    def exit_code(self) -> int:
        """0 when nothing differs, 1 otherwise."""
        return 1 if self.mismatches else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "verify",
            "checkpoint": self.checkpoint,
            "inputs": self.inputs,
            "format": self.format,
            "mailbox": self.mailbox,
            "conversations_checked": self.conversations_checked,
            "parts_checked": self.parts_checked,
            "threads_checked": self.threads_checked,
            "not_imported": self.not_imported,
            "created_not_in_inputs": self.created_not_in_inputs,
            "mismatches": [m.as_dict() for m in self.mismatches],
            "mismatches_by_field": per_field(self.mismatches),
            "conversations_per_month": self.per_month,
            "requests": self.requests,
            "estimated_s": round(self.estimated_s, 1),
            "elapsed_s": round(self.elapsed_s, 2),
            "sample": self.sample,
            "sampled": self.sampled,
            "seed": self.seed,
        }


def render_rows(report: VerifyReport) -> str:
    """One line per mismatch (source id, part, thread, field, expected, found) and a summary."""
    lines = []
    if report.mismatches:
        lines.append("source_id\tpart\tthread\tfield\texpected\tfound")
        for m in report.mismatches:
            part = "" if m.part is None else str(m.part)
            thread = "" if m.thread is None else str(m.thread)
            lines.append(f"{m.source_id}\t{part}\t{thread}\t{m.field}\t{m.expected}\t{m.found}")
        lines.append("")
    sampled = f" (sample of {report.sample}, seed {report.seed})" if report.sample else ""
    lines += [
        f"conversations checked  {report.conversations_checked:>9}{sampled}",
        f"parts checked          {report.parts_checked:>9}",
        f"threads checked        {report.threads_checked:>9}",
        f"not imported           {report.not_imported:>9}",
        f"mismatches             {len(report.mismatches):>9}",
        f"requests               {report.requests:>9}",
        f"elapsed                {report.elapsed_s:>8.1f}s",
    ]
    if report.created_not_in_inputs:
        lines.insert(-3, f"created, not in inputs {report.created_not_in_inputs:>9}")
    for entry in per_field(report.mismatches):
        lines.append(f"  {entry['field']:<20} {entry['mismatches']:>6}")
    return "\n".join(lines)
