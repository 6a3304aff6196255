"""``importer undo``'s report: its counts, its errors, its exit code and its table.

The keys are the contract's (``undo`` section): ``command``, ``dry_run``, ``conversations``,
``parts``, ``deleted``, ``would_delete``, ``kept_changed``, ``already_gone``, ``failed``,
``requests``, ``throttled``, ``retries``, ``elapsed_s``, ``errors`` (each as in the run report,
``stage`` ``undo``: a part kept because it changed, or one that failed). Pure: rendering
returns text, the command prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COUNTS = ("deleted", "would_delete", "kept_changed", "already_gone", "failed")


@dataclass
class UndoReport:
    """What one ``undo`` selected and did."""

    dry_run: bool
    checkpoint: str
    conversations: int = 0
    parts: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    elapsed_s: float = 0.0
    #: the time the undo takes at the rate limit (a GET and a DELETE per part), for a dry run
    estimated_s: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, key: str) -> None:
        """One part counted under ``key`` (one of :data:`COUNTS`)."""
        self.counts[key] += 1

    def error(self, source_id: str, part: int, *, code: str, message: str) -> None:
        """One entry of ``errors`` (a part kept changed, or failed)."""
        self.errors.append(
            {
                "source_id": source_id,
                "part": part,
                "stage": "undo",
                "code": code,
                "message": message,
                "location": self.checkpoint,
            }
        )

    def exit_code(self) -> int:
        """0 when every selected part is deleted or already gone (a dry run: nothing blocks
        the rest), 1 when some were kept changed or failed."""
        return 1 if self.counts["kept_changed"] or self.counts["failed"] else 0

    def to_dict(self) -> dict[str, Any]:
        """The report JSON, keys in the contract's order."""
        return {
            "command": "undo",
            "dry_run": self.dry_run,
            "conversations": self.conversations,
            "parts": self.parts,
            **{key: self.counts[key] for key in COUNTS},
            "requests": self.requests,
            "throttled": self.throttled,
            "retries": self.retries,
            "elapsed_s": round(self.elapsed_s, 3),
            "errors": self.errors,
        }

    def render_text(self, *, max_rows: int = 20) -> str:
        """The table printed at the end (the kept and failed parts listed, up to ``max_rows``)."""
        title = "undo (dry run: nothing deleted)" if self.dry_run else "undo"
        rows = [
            ("conversations selected", self.conversations),
            ("parts selected", self.parts),
            *((key.replace("_", " "), self.counts[key]) for key in COUNTS),
            ("requests", self.requests),
            ("throttled", self.throttled),
            ("retries", self.retries),
        ]
        lines = [title, *(f"  {name:<24}{value:>10}" for name, value in rows)]
        if self.dry_run:
            lines.append(f"  {'undo would take':<24}{self.estimated_s:>9.0f}s")
        for entry in self.errors[:max_rows]:
            lines.append(f"  {entry['code']}: {entry['source_id']} part {entry['part']}: "
                         f"{entry['message']}")  # fmt: skip
        if len(self.errors) > max_rows:
            lines.append(f"  ... and {len(self.errors) - max_rows} more (see --report)")
        return "\n".join(lines)
