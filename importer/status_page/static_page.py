"""``importer status --checkpoint FILE --html FILE``: one self-contained page of what a
checkpoint holds (the counts, the last errors, the run header), to mail or to keep.

Self-contained on purpose: one file, its style inside it, no script, nothing fetched (its own
Content-Security-Policy says so), so it opens anywhere and shows the same thing years later.
The figures are :func:`importer.commands.status.read_status`'s, the same as ``--json``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from importer.outputs import write_private
from importer.status_page.render import e, errors_table, figures_table, header_table

#: nothing from outside, and no script: a file of error messages from an untrusted export
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _style() -> str:
    return resources.files(__package__).joinpath("static", "status.css").read_text("utf-8")


def render_status_html(body: dict[str, Any]) -> str:
    """The page of ``read_status``'s ``body``."""
    parts = body["parts"]
    rows = [(f"p-{k}", k.replace("_", " "), v) for k, v in parts.items()]
    rows.append(("complete", "source conversations complete",
                 body["source_conversations_complete"]))  # fmt: skip
    uploads = body.get("uploads") or {}
    upload_rows = [(f"u-{k}", k.replace("_", " "), v) for k, v in uploads.items()]
    sections = [
        "<h2>Counts</h2>",
        figures_table("Parts by state", rows),
    ]
    if any(uploads.values()):
        sections.append(figures_table("Attachments uploaded after creation", upload_rows))
    sections += [
        "<h2>Last errors</h2>",
        errors_table(body["last_errors"], caption="The last 20 errors, newest first"),
        "<h2>Run</h2>",
        header_table(body["header"]),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{FILE_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>importer status: {e(body['checkpoint'])}</title>"
        f"<style>{_style()}</style></head><body><main>"
        f"<h1>Checkpoint {e(body['checkpoint'])}</h1>{''.join(sections)}</main></body></html>\n"
    )


def write_status_page(body: dict[str, Any], path: Path) -> None:
    """Write the page of ``body`` to ``path`` (0600, as every output).

    :raises OutputWriteError: when it cannot be written (the message names ``path``).
    """
    write_private(path, render_status_html(body).encode("utf-8"))
