"""HTML pieces both status pages use: escaping, times, the run header, the error table.

Plain server-rendered markup with table headers and captions, so a screen reader reads each
figure with its name; nothing here runs a script.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

#: the error entry's keys a page shows, and their headings
ERROR_COLUMNS = (
    ("source_id", "Conversation"),
    ("part", "Part"),
    ("stage", "Stage"),
    ("code", "Code"),
    ("message", "Message"),
    ("location", "Where"),
)


def e(value: object) -> str:
    """``value`` as text escaped for HTML; None as an empty string."""
    return escape("" if value is None else str(value), quote=True)


def utc(epoch: float | None) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM:SS UTC``."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """``1 h 2 min``, ``3 min 5 s``, ``42 s`` (the two largest units); ``—`` when unknown."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    units = [(whole // 3600, "h"), (whole % 3600 // 60, "min"), (whole % 60, "s")]
    while len(units) > 1 and units[0][0] == 0:
        units.pop(0)
    return " ".join(f"{count} {unit}" for count, unit in units[:2])


def figures_table(caption: str, rows: list[tuple[str, str, object]], *, cells: str = "num") -> str:
    """A table of (id, name, value) rows: the name a row header, the value its cell (of class
    ``cells``, whose ``id`` a script may update)."""
    body = "".join(
        f'<tr><th scope="row">{e(name)}</th><td class="{cells}" id="{e(key)}">{e(value)}</td></tr>'
        for key, name, value in rows
    )
    return f'<table class="figures"><caption>{e(caption)}</caption><tbody>{body}</tbody></table>'


def header_table(header: dict[str, Any]) -> str:
    """The run header of a checkpoint: API URL, mailbox, format, when, version, inputs."""
    options = header.get("options") or {}
    inputs = options.get("inputs") if isinstance(options, dict) else None
    rows = [
        ("h-api", "API URL", header.get("api_url")),
        ("h-mailbox", "Mailbox", header.get("mailbox")),
        ("h-format", "Format", header.get("format") or "recognised"),
        ("h-created", "First run", utc(header.get("created_at"))),
        ("h-version", "Importer version", header.get("importer_version")),
    ]
    if inputs:
        rows.append(("h-inputs", "Inputs", ", ".join(str(i) for i in inputs)))
    return figures_table("Run header", rows, cells="text")


def errors_table(errors: list[dict[str, Any]], *, caption: str, body_id: str = "errors") -> str:
    """The error entries, one row each (``at`` first when they carry it)."""
    timed = any("at" in entry for entry in errors)
    columns = ([("at", "When")] if timed else []) + list(ERROR_COLUMNS)
    head = "".join(f'<th scope="col">{e(title)}</th>' for _, title in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{e(entry.get(key))}</td>" for key, _ in columns) + "</tr>"
        for entry in errors
    )
    if not errors:
        rows = f'<tr><td colspan="{len(columns)}">No errors.</td></tr>'
    return (
        f'<table class="errors"><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>'
        f'<tbody id="{e(body_id)}">{rows}</tbody></table>'
    )
