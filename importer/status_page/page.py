"""The live page of ``importer run --status-port``: the figures of the moment, server-rendered,
then kept up to date by ``/static/status.js``, which polls ``/status.json`` every second.

The page holds no inline script or style (the policy of :mod:`importer.sandbox.web.guard`
forbids both); the chart of rate-limit units per minute is drawn by the script, and the same
numbers stand in a table beside it for whoever does not see the chart.
"""

from __future__ import annotations

from typing import Any

from importer.status_page.render import duration, e, errors_table, figures_table

#: what the page calls each phase
PHASE_WORDS = {
    "sending": "Sending",
    "rate_limited": "Waiting on the rate limit",
    "stopping": "Stopping",
    "ended": "Ended",
}


def phase_text(snapshot: dict[str, Any]) -> str:
    """``Sending``, ..., ``Ended (exit 0)``."""
    word = PHASE_WORDS.get(snapshot["phase"], snapshot["phase"])
    if snapshot["phase"] == "ended":
        word += f" (exit {snapshot.get('exit_code')})"
    return str(word)


def figure_rows(snapshot: dict[str, Any]) -> list[tuple[str, str, object]]:
    """The figures table's rows: (cell id, name, value shown)."""
    total = snapshot["total"]
    return [
        ("done", "Conversations done", f"{snapshot['done']} of {_or_unknown(total)}"),
        ("imported", "Imported", snapshot["imported"]),
        ("failed", "Failed", snapshot["failed"]),
        ("in_doubt", "Parts in doubt now", snapshot["in_doubt"]),
        ("throttled", "Throttled (429)", snapshot["throttled"]),
        ("retries", "Retries", snapshot["retries"]),
        ("downloads_waiting", "Waiting for a download host", snapshot["downloads_waiting"]),
        ("eta_s", "Time left (estimate)", duration(snapshot["eta_s"])),
    ]


def minutes_table(units: list[float]) -> str:
    """Rate-limit units spent in each minute since the start, one row a minute."""
    rows = "".join(
        f'<tr><th scope="row">{minute + 1}</th><td class="num">{value:g}</td></tr>'
        for minute, value in enumerate(units)
    )
    return (
        '<div class="minutes"><table><caption>Units per minute</caption><thead><tr>'
        '<th scope="col">Minute</th><th scope="col" class="num">Units</th></tr></thead>'
        f'<tbody id="minutes">{rows}</tbody></table></div>'
    )


def render_live_page(snapshot: dict[str, Any]) -> str:
    """The whole live page for ``snapshot`` (``/status.json``'s body)."""
    done, total = snapshot["done"], snapshot["total"]
    bar_max = total if total else max(done, 1)
    ended = snapshot["phase"] == "ended"
    failed = " failed" if ended and snapshot.get("exit_code") not in (0, None) else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>importer run: status</title><link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/status.css">'
        '<script src="/static/status.js" defer></script></head><body><main>'
        "<h1>importer run</h1>"
        f'<p>Phase: <span id="phase" class="phase phase-{e(snapshot["phase"])}{failed}"'
        f' role="status" aria-live="polite">{e(phase_text(snapshot))}</span>'
        ' <span id="stale" class="stale" hidden>no answer from the run: it has ended</span></p>'
        f'<progress id="bar" max="{bar_max}" value="{done}" aria-label="Conversations done">'
        f"{done} of {total}</progress>"
        "<h2>Figures</h2>"
        f"{figures_table('Conversations and requests', figure_rows(snapshot))}"
        "<h2>Rate-limit budget used</h2>"
        '<div class="row"><figure><figcaption id="chart-title">Units per minute since the'
        ' start</figcaption><svg id="chart" class="chart" role="img" viewBox="0 0 560 200"'
        ' aria-labelledby="chart-title"></svg></figure>'
        f"{minutes_table(snapshot['units_per_minute'])}</div>"
        "<h2>Last errors</h2>"
        f"{errors_table(snapshot['last_errors'], caption='The last 20 errors, newest first')}"
        '<p class="note">This page asks the run for its figures every second'
        ' (<a href="/status.json">status.json</a>).</p>'
        "</main></body></html>\n"
    )


def _or_unknown(value: object) -> str:
    return "?" if value is None else str(value)
