"""``verify --html``: one self-contained page a project manager can read.

Inline CSS and an inline SVG chart, no script, no link to anything: it opens without a network.
Totals, conversations per month in the source and in Help Scout side by side, mismatches by
field, and the mismatch table (the first :data:`TABLE_ROWS`; the CSV has every row).
"""

from __future__ import annotations

from html import escape
from typing import Any

TABLE_ROWS = 5000
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:2rem 0 .6rem}
.verdict{display:inline-block;padding:.2rem .6rem;border-radius:4px;font-weight:600}
.ok{background:#e3f6e8;color:#1d6b34}.bad{background:#fde8e8;color:#9b1c1c}
.totals{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.total{border:1px solid #d9e2ec;border-radius:6px;padding:.5rem .9rem;min-width:8rem}
.total b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e4e7eb;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f7fa}td.n{text-align:right}
.meta{color:#52606d}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}
"""
_SOURCE, _FOUND = "#7b93db", "#3eb489"


def _chart(months: list[dict[str, Any]]) -> str:
    """Grouped bars: per month, the source's conversations beside Help Scout's."""
    if not months:
        return "<p class='meta'>No conversation to chart.</p>"
    top = max(max(m["source"], m["helpscout"]) for m in months) or 1
    bar, gap, height, left, bottom = 14, 10, 220, 44, 46
    width = left + len(months) * (2 * bar + gap) + gap
    parts = [
        f'<svg role="img" width="{width}" '
        f'height="{height + bottom + 10}" aria-label="conversations per month">'
    ]
    for step in range(5):
        value = top * step / 4
        y = 10 + height - height * step / 4
        parts.append(
            f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{value:.0f}</text>"
        )
    for index, month in enumerate(months):
        x = left + gap + index * (2 * bar + gap)
        for offset, key, colour in ((0, "source", _SOURCE), (bar, "helpscout", _FOUND)):
            h = height * month[key] / top
            parts.append(
                f'<rect x="{x + offset}" y="{10 + height - h:.1f}" width="{bar - 1}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(month["month"])} {key}: '
                f"{month[key]}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar}" y="{height + 24}" font-size="10" text-anchor="end" '
            f'transform="rotate(-45 {x + bar} {height + 24})">{escape(month["month"])}</text>'
        )
    parts.append("</svg>")
    legend = (
        f'<p class="legend"><span style="background:{_SOURCE}"></span>source'
        f'<span style="background:{_FOUND}"></span>Help Scout</p>'
    )
    return "".join(parts) + legend


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f"<td{' class=n' if i in numeric else ''}>{escape('' if v is None else str(v))}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    """The page for a ``verify`` report (the ``--report`` JSON as a dict)."""
    mismatches = report["mismatches"]
    verdict = (
        '<span class="verdict ok">Everything checked matches</span>'
        if not mismatches
        else f'<span class="verdict bad">{len(mismatches)} mismatch(es)</span>'
    )
    sample = (
        f" &middot; sample of {report['sample']} (seed {report['seed']})"
        if report["sample"]
        else ""
    )
    inputs = ", ".join(report.get("inputs") or [])
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Migration check</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Migration check: source against Help Scout</h1>{verdict}"
        f"<p class='meta'>mailbox {escape(str(report.get('mailbox')))} &middot; format "
        f"{escape(str(report.get('format')))} &middot; {escape(inputs)}{sample}</p>"
        f"<div class='totals'>{_totals(report)}</div>"
        "<h2>Conversations per month</h2>"
        "<p class='meta'>Source: conversations of the export (of the sample, when sampled); "
        "Help Scout: those found there, by the month Help Scout gives them.</p>"
        f"{_chart(report['conversations_per_month'])}"
        f"<h2>Mismatches by field</h2>{_field_table(report['mismatches_by_field'])}"
        f"<h2>Mismatches</h2>{_mismatch_table(mismatches)}"
        "</body></html>\n"
    )


def _totals(report: dict[str, Any]) -> str:
    """One box per total of the report."""
    totals = [
        ("conversations checked", report["conversations_checked"]),
        ("parts checked", report["parts_checked"]),
        ("threads checked", report["threads_checked"]),
        ("not imported", report["not_imported"]),
        ("mismatches", len(report["mismatches"])),
        ("requests", report["requests"]),
        ("seconds", report["elapsed_s"]),
    ]
    return "".join(
        f'<div class="total"><b>{escape(str(value))}</b>{escape(name)}</div>'
        for name, value in totals
    )


def _field_table(by_field: list[dict[str, Any]]) -> str:
    """Mismatches and conversations by field."""
    if not by_field:
        return "<p class='meta'>None.</p>"
    return _table(
        ["field", "mismatches", "conversations"],
        [[f["field"], f["mismatches"], f["conversations"]] for f in by_field],
        {1, 2},
    )


def _mismatch_table(mismatches: list[dict[str, Any]]) -> str:
    """The first :data:`TABLE_ROWS` mismatches, and a line saying so when there are more."""
    rows = [[m["source_id"], m["part"], m["thread"], m["field"], m["expected"], m["found"]]
            for m in mismatches[:TABLE_ROWS]]  # fmt: skip
    if not rows:
        return "<p class='meta'>None.</p>"
    table = _table(["source id", "part", "thread", "field", "expected", "found"], rows, {1, 2})
    if len(mismatches) > TABLE_ROWS:
        table += (
            f"<p class='meta'>The first {TABLE_ROWS} of {len(mismatches)}; "
            "the CSV has every row.</p>"
        )
    return table
