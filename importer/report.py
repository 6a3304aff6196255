"""The report: tallies of a command, its errors and warnings, as JSON and as a terminal table.

Pure: collects and renders, never prints. The accounting always adds up:
``run``: source_conversations == imported + already_imported + invalid + failed;
``validate``/``convert``: source_conversations == valid + invalid.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.errors import OutputWriteError
from importer.findings import Finding
from importer.outputs import open_private, writing
from importer.spooled import SpooledEntries

COUNTER_KEYS = (
    "source_conversations",
    "imported",
    "already_imported",
    "invalid",
    "failed",
    "valid",
    "created_conversations",
    "split_conversations",
    "threads",
    "attachments",
    "customers_created",
    "requests",
    "throttled",
    "retries",
    "in_doubt_resolved",
)


@dataclass
class Report:
    """Everything a command tells about its work, in the contract's keys."""

    command: str
    format: str | None
    inputs: list[str]
    mailbox: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTER_KEYS, 0))
    #: past the first ten thousand on disk: an export may warn about every conversation
    errors: SpooledEntries = field(default_factory=SpooledEntries)
    warnings: SpooledEntries = field(default_factory=SpooledEntries)
    elapsed_s: float = 0.0

    @property
    def offline(self) -> bool:
        """Whether this is a command that sends nothing (its ``valid`` key is a number)."""
        return self.command in ("validate", "convert")

    def add(self, key: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``key``."""
        self.counts[key] += amount

    def warn(self, findings: list[Finding]) -> None:
        """Record what was changed to fit."""
        self.warnings.extend(f.as_warning() for f in findings)

    def left_out(self, findings: list[Finding]) -> None:
        """Record messages or attachments left out of a conversation that goes on."""
        self.errors.extend(f.as_error() for f in findings)

    def conversation_error(
        self,
        source_id: str | None,
        part: int | None,
        stage: str,
        *,
        findings: list[Finding],
        location: str,
    ) -> dict[str, Any]:
        """Record one invalid or failed conversation: one entry, every reason inside it."""
        first = findings[0] if findings else Finding(stage, stage, "no reason given", location)
        entry: dict[str, Any] = {
            "source_id": source_id,
            "part": part,
            "stage": first.stage if stage == "validate" else stage,
            "code": first.code,
            "message": "; ".join(f.message for f in findings) or first.message,
            "location": first.location or location,
        }
        if len(findings) > 1:
            entry["reasons"] = [
                {"stage": f.stage, "code": f.code, "message": f.message, "location": f.location}
                for f in findings
            ]
        self.errors.append(entry)
        return entry

    def balanced(self) -> bool:
        """Whether the accounting adds up."""
        c = self.counts
        if self.offline:
            return c["source_conversations"] == c["valid"] + c["invalid"]
        done = c["imported"] + c["already_imported"] + c["invalid"] + c["failed"]
        return c["source_conversations"] == done

    def exit_code(self) -> int:
        """0 when every conversation is accounted for as done, 1 when some are invalid or failed."""
        return 1 if self.counts["invalid"] or self.counts["failed"] else 0

    def to_dict(self) -> dict[str, Any]:
        """The report in the contract's shape and key order."""
        body: dict[str, Any] = {
            "command": self.command,
            "format": self.format,
            "inputs": list(self.inputs),
            "mailbox": self.mailbox,
        }
        for key in COUNTER_KEYS:
            body[key] = self.counts[key]
        if not self.offline:
            body["valid"] = None
        body["elapsed_s"] = round(self.elapsed_s, 1)
        body["errors"] = self.errors
        body["warnings"] = self.warnings
        return body


STDOUT_NAME = "-"  # ``--report -``: the report goes to standard output


def json_text(body: dict[str, Any]) -> Iterator[str]:
    """``body`` as ``json.dumps(body, indent=2, ensure_ascii=False)`` writes it, and a newline,
    in pieces: a :class:`SpooledEntries` value (a report's errors or warnings) one entry at a
    time, so that writing a report never holds all its entries as text."""
    if not body:
        yield "{}\n"
        return
    yield "{"
    for index, (key, value) in enumerate(body.items()):
        yield ("," if index else "") + "\n  " + json.dumps(key, ensure_ascii=False) + ": "
        if isinstance(value, SpooledEntries):
            if not value:
                yield "[]"
                continue
            yield "["
            for number, entry in enumerate(value):
                yield ("," if number else "") + "\n    " + _entry_text(entry)
            yield "\n  ]"
        else:
            yield json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    yield "\n}\n"


_SCALARS = (str, int, float, bool, type(None))
_scalar_text = json.JSONEncoder(ensure_ascii=False).encode


def _entry_text(entry: dict[str, Any]) -> str:
    """One entry of a list in the report, as ``json.dumps(entry, indent=2)`` writes it at that
    depth. An entry of text keys and plain values (a finding: every entry but a few) is put
    together from the C encoder's pieces (``indent`` takes json's Python encoder: 38 s for
    the 1.9 million warnings of a million mails)."""
    if entry and all(type(key) is str and type(item) in _SCALARS for key, item in entry.items()):
        fields = [f"{_scalar_text(key)}: {_scalar_text(item)}" for key, item in entry.items()]
        return "{\n      " + ",\n      ".join(fields) + "\n    }"
    return json.dumps(entry, indent=2, ensure_ascii=False).replace("\n", "\n    ")


def write_json_atomic(body: dict[str, Any], path: Path) -> None:
    """Write ``body`` as indented JSON, atomically (a reader never sees half a file); ``-`` is
    standard output, and a pipe or device (``/dev/stdout``) is written in place, never replaced.
    The file is created 0600 (through its temporary file); a write that fails (disk full, file
    size limit) raises :class:`~importer.errors.OutputWriteError` naming ``path``, leaving the
    file as it was and no temporary file behind. Written in pieces (:func:`json_text`)."""
    if str(path) == STDOUT_NAME:
        sys.stdout.writelines(json_text(body))
        sys.stdout.flush()
        return
    if path.exists() and not path.is_file():
        with writing(path), path.open("w", encoding="utf-8") as stream:
            stream.writelines(json_text(body))
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # one left by a failed write: created anew, 0600
    try:
        with writing(path), open_private(tmp, "wb") as out:
            for piece in json_text(body):
                out.write(piece.encode("utf-8"))
    except OutputWriteError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def write_report(report: Report, path: Path) -> None:
    """Write the report as JSON, atomically."""
    write_json_atomic(report.to_dict(), path)


def render_text(report: Report, *, max_rows: int = 20) -> str:
    """The report as a short table for the terminal."""
    c = report.counts
    lines = [f"{report.command}: {', '.join(report.inputs)} (format {report.format})"]
    if report.offline:
        rows = [
            ("conversations read", "source_conversations"),
            ("valid", "valid"),
            ("invalid", "invalid"),
        ]
    else:
        rows = [
            ("conversations read", "source_conversations"),
            ("imported", "imported"),
            ("already imported", "already_imported"),
            ("invalid", "invalid"),
            ("failed", "failed"),
            ("conversations created", "created_conversations"),
            ("customers created", "customers_created"),
            ("requests", "requests"),
            ("throttled (429)", "throttled"),
            ("retries", "retries"),
            ("in doubt, resolved", "in_doubt_resolved"),
        ]
    rows += [
        ("split conversations", "split_conversations"),
        ("threads", "threads"),
        ("attachments", "attachments"),
    ]
    width = max(len(label) for label, _ in rows)
    lines += [f"  {label:<{width}}  {c[key]:>9}" for label, key in rows]
    lines.append(f"  {'errors':<{width}}  {len(report.errors):>9}")
    lines.append(f"  {'warnings':<{width}}  {len(report.warnings):>9}")
    lines.append(f"  {'elapsed':<{width}}  {report.elapsed_s:>8.1f}s")
    for entry in report.errors[:max_rows]:
        where = entry.get("location") or "?"
        lines.append(f"  error   {where}: [{entry['stage']}/{entry['code']}] {entry['message']}")
    if len(report.errors) > max_rows:
        lines.append(f"  ... and {len(report.errors) - max_rows} more errors (see --report)")
    return "\n".join(lines)
