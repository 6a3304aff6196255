"""``make bench``: measure, print and record in BENCHMARKS.md (figures, not pass/fail tests).

1. validate: 100,000 canonical conversations of 6 messages streamed through every offline stage;
   conversations per second and peak memory (the process and its planning workers, summed).
2. zendesk: a generated Zendesk export (tickets NDJSON, their 3-6 comments in a separate NDJSON
   file in shuffled order, users, ticket fields) of 100,000 and 200,000 tickets through
   ``importer validate`` (format and roles recognised from content); conversations per second,
   elapsed time and peak RSS of each run, and the ratio of the peaks (flat memory: close to 1).
3. run at the rate limit: ``importer run`` against the sandbox at ``--rate-limit 600`` (fixed
   60-second windows counted from the sandbox's start, not aligned with the client) for about
   four minutes; units used in each full minute after the first, the share of 429 answers, and
   requests per created conversation.
4. side by side (``scripts/bench_side_by_side.py``, about 7 minutes): ours beside a naive
   importer at ``--rate-limit 600`` and with no limit at 20 ms, and a rerun skipping parts done
   in a checkpoint; appended to BENCHMARKS.md (``BENCH_QUICK=1``: shrunk, with ``--only side``).

5. bounds (``scripts/bench_bounds.py``, a few minutes): the read layer's worst cases (the
   largest record, CSV field and zip member the default bounds let through, a record over the
   bound, a zip bomb, deep nesting, a mail of 50,000 References); peak RSS of all processes.
6. formats (``scripts/bench_formats.py``, hours at the full sizes): ``validate`` of every format
   (canonical, CSV in random order, Zendesk, Freshdesk, Intercom, Front, Gorgias, Help Scout,
   mbox) at 100,000 and 1,000,000 conversations (median of 3 at 100,000), peak RSS of all
   processes, beside each the floor (``scripts/floor_join.py``: a plain script that only parses
   and joins the same files); ``plan`` at 100,000 (``BENCH_QUICK=1``: 10,000, one run).

    .venv/bin/python scripts/bench.py [--only validate|zendesk|run|side|resume|offline|bounds|formats]
        [--conversations N] [--zendesk-tickets N,N] [--minutes M]

``BENCH_QUICK=1``: small sizes (10,000 conversations, 5,000 and 20,000 Zendesk tickets), no run
against the sandbox unless ``--only run`` or ``--only side``; the figures are printed,
BENCHMARKS.md is not written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_bounds  # noqa: E402
import bench_formats  # noqa: E402
import bench_offline  # noqa: E402
import bench_side_by_side  # noqa: E402

from importer.sandbox.testing import SandboxConfig, running_sandbox  # noqa: E402

RATE = 600
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ZENDESK_TICKETS = (5_000, 20_000) if QUICK else (100_000, 200_000)
ZENDESK_SEED = 20240501
RSS_SAMPLE_S = 0.5


@dataclass
class Measured:
    """One command's exit code, elapsed seconds, CPU seconds (user and system, with its worker
    processes: on a machine shared with other work, elapsed time depends on that work), peak RSS
    (MB, summed over the process and its workers, sampled), resident memory sampled every half
    second ``(s, MB)`` and standard error."""

    exit_code: int
    elapsed_s: float
    cpu_s: float
    peak_rss_mb: float
    rss_samples: list[tuple[float, float]]
    stderr: str


def measured(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``command`` from the repository root and measure it; output goes to files (no pipe
    to fill), resident memory is sampled so growth within one run shows too."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, env=env)
        samples: list[tuple[float, float]] = []
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            try:  # the process and its workers, summed (the issue counts every process)
                tree_mb, _ = bench_offline.tree_rss_mb(process.pid)
                samples.append((time.monotonic() - started, tree_mb))
            except OSError:  # no /proc (not Linux), or the process just ended
                pass
            time.sleep(RSS_SAMPLE_S)
        elapsed = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    # sampled when /proc exists; else wait4's ru_maxrss (KiB on Linux, bytes on macOS), which
    # also carries this script's own memory at the fork
    peak = max((mb for _, mb in samples), default=0.0) or usage.ru_maxrss / (
        1024 * 1024 if sys.platform == "darwin" else 1024
    )
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(process.returncode, elapsed, cpu, peak, samples, stderr)


def write_export(path: Path, count: int, messages: int) -> None:
    """``count`` canonical conversations of ``messages`` messages (ids ``B0``...)."""
    names = ("B", "Benchmark conversation", "bench", "Bench")
    bench_side_by_side.write_export(path, count, messages, names=names)


def bench_validate(work: Path, count: int) -> dict[str, object]:
    export = work / "validate.jsonl"
    write_export(export, count, 6)
    size_mb = export.stat().st_size / 1e6
    result = measured(
        [
            sys.executable,
            "-m",
            "importer",
            "validate",
            str(export),
            "--quiet",
            "--no-progress",
            "--report",
            str(work / "validate-report.json"),
        ]
    )
    elapsed = result.elapsed_s
    report = json.loads((work / "validate-report.json").read_text())
    figures = {
        "conversations": count,
        "input_mb": round(size_mb, 1),
        "exit_code": result.exit_code,
        "valid": report["valid"],
        "elapsed_s": round(elapsed, 1),
        "conversations_per_s": round(count / elapsed),
        "peak_rss_mb": round(result.peak_rss_mb, 1),
    }
    print(f"validate: {figures}", flush=True)
    return figures


# -- a generated Zendesk export ------------------------------------------------------------------
ZENDESK_AGENTS = 60
ZENDESK_CHANNELS = (
    ("email", 55),
    ("web", 20),
    ("chat", 10),
    ("api", 5),
    ("voice", 5),
    ("mobile", 5),
)
ZENDESK_STATUSES = (
    ("closed", 50),
    ("solved", 25),
    ("open", 10),
    ("pending", 7),
    ("new", 5),
    ("hold", 3),
)
ZENDESK_TAGS = ("billing", "shipping", "refund", "vip", "grinder", "beans", "subscription", "bug")
ZENDESK_NOISE = (
    "intent__order__status",
    "sentiment__neutral",
    "language__en",
    "sentiment__negative",
)
ZENDESK_FIELDS = (
    {"id": 360010001, "type": "text", "title": "Order number", "active": True},
    {
        "id": 360010002,
        "type": "tagger",
        "title": "Product",
        "custom_field_options": [
            {"id": 1, "name": "Burr grinder", "value": "grinder"},
            {"id": 2, "name": "Beans", "value": "beans"},
            {"id": 3, "name": "Kettle", "value": "kettle"},
        ],
    },
    {"id": 360010003, "type": "tagger", "title": "Intent", "active": True},
    {"id": 360010004, "type": "checkbox", "title": "Escalated", "active": True},
)
ZENDESK_SENTENCES = (
    "I was billed twice for March, orders {n} and {m}.",
    "The parcel arrived but one bag of beans is missing.",
    "Could you change the delivery address for my next shipment?",
    "Thanks for getting back to me so quickly!",
    "Sorry about that. A replacement is on its way, tracking follows by email.",
    "The grinder makes a rattling noise since the last cleaning.",
    "Checked with the warehouse: the order left on Tuesday.",
    "Internal: refund approved by finance, ticket {n}.",
    "Café ☕ order — still waiting, any news?",
)


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]


def _zendesk_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _zendesk_comment(
    rng: random.Random,
    ticket_id: int,
    number: int,
    moment: datetime,
    author_id: int,
    public: bool,
) -> dict[str, object]:
    """One comment as the comments API and ETL dumps give it (``ticket_id`` included)."""
    lines = [
        rng.choice(ZENDESK_SENTENCES).format(n=ticket_id, m=rng.randrange(10_000, 99_999))
        for _ in range(rng.randint(1, 4))
    ]
    plain = "\n\n".join(lines)
    comment: dict[str, object] = {
        "id": ticket_id * 1000 + number,
        "ticket_id": ticket_id,
        "type": "Comment",
        "author_id": author_id,
        "body": plain,
        "html_body": '<div class="zd-comment" dir="auto">'
        + "".join(f'<p dir="auto">{line}</p>' for line in lines)
        + "</div>",
        "plain_body": plain,
        "public": public,
        "audit_id": ticket_id * 1000 + 500 + number,
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
        "attachments": [],
        "metadata": {"system": {"client": "Mozilla/5.0", "ip_address": "192.0.2.10"}},
        "created_at": _zendesk_time(moment),
    }
    draw = rng.random()
    if draw < 0.05:  # a Markdown body only (ETL dumps keep `body` alone)
        comment["body"] = "**Update:** " + plain
        del comment["html_body"], comment["plain_body"]
    elif draw < 0.08:
        comment["attachments"] = [
            {
                "id": ticket_id * 1000 + 900 + number,
                "file_name": f"receipt-{ticket_id}.pdf",
                "content_url": f"https://northwind.zendesk.com/attachments/token/t{ticket_id}"
                f"{number}/?name=receipt-{ticket_id}.pdf",
                "content_type": "application/pdf",
                "size": 48_213,
                "inline": False,
                "deleted": False,
            }
        ]
    return comment


def write_zendesk_export(folder: Path, count: int, seed: int = ZENDESK_SEED) -> int:
    """A Zendesk export of ``count`` tickets in ``folder`` (the same files for the same seed):
    ``tickets.json`` (NDJSON, no comments embedded), ``ticket_comments.json`` (NDJSON, 3-6
    comments a ticket, in shuffled order across tickets), ``users.json`` (NDJSON) and
    ``ticket_fields.json`` (an API page). Returns the number of comments."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    customers = max(1_000, count // 3)
    agents = [900_000 + n for n in range(ZENDESK_AGENTS)]
    # 150 s a ticket: a million span 4.8 years, all in the past (from 2023 a sixth of them
    # were after the day we measured)
    start = datetime(2017, 1, 1, tzinfo=UTC)
    with (folder / "users.json").open("w", encoding="utf-8") as out:
        for agent in agents:
            user = {
                "id": agent,
                "name": f"Agent {agent - 900_000}",
                "email": f"agent{agent - 900_000}@northwind.example",
                "role": "admin" if agent % 10 == 0 else "agent",
                "active": True,
                "time_zone": "Europe/Paris",
            }
            out.write(json.dumps(user) + "\n")
        for number in range(customers):
            user_id = 10_000_000 + number
            phone_only = number % 40 == 0
            user = {
                "id": user_id,
                "name": f"Customer {number}",
                "email": None if phone_only else f"customer{number}@example.com",
                "phone": f"+1555{number:07d}" if phone_only else None,
                "role": "end-user",
                "active": number % 97 != 0,
                "time_zone": "America/New_York",
                "created_at": _zendesk_time(start - timedelta(days=number % 700)),
            }
            out.write(json.dumps(user) + "\n")
    (folder / "ticket_fields.json").write_text(
        json.dumps({"ticket_fields": list(ZENDESK_FIELDS), "next_page": None, "count": 4}),
        encoding="utf-8",
    )
    # comments are written in ticket order to a scratch file, then copied in a shuffled order
    # (only their offsets are held in memory)
    scratch = folder / "comments.unshuffled"
    offsets: list[int] = []
    with (
        (folder / "tickets.json").open("w", encoding="utf-8") as tickets,
        scratch.open("wb") as comments,
    ):
        for index in range(count):
            ticket_id = 100_000 + index
            created = start + timedelta(seconds=150 * index + rng.randrange(60))
            channel = _weighted(rng, ZENDESK_CHANNELS)
            status = _weighted(rng, ZENDESK_STATUSES)
            requester = 10_000_000 + rng.randrange(customers)
            assignee = None if status == "new" else rng.choice(agents)
            moment = created
            first_text = ""
            for number in range(rng.randint(3, 6)):
                if number == 0:
                    author, public = requester, True
                else:
                    moment += timedelta(minutes=rng.randrange(5, 600))
                    private = rng.random() < 0.15
                    author = (
                        (assignee or rng.choice(agents))
                        if private or number % 2 == 1
                        else requester
                    )
                    public = not private
                    if rng.random() < 0.01:  # a deleted user, absent from users.json
                        author = 20_000_000 + index
                comment = _zendesk_comment(rng, ticket_id, number, moment, author, public)
                if number == 0:
                    first_text = str(comment["body"])
                offsets.append(comments.tell())
                comments.write(json.dumps(comment).encode("utf-8") + b"\n")
            tags = sorted(set(rng.sample(ZENDESK_TAGS, rng.randint(0, 3))))
            tags += rng.sample(ZENDESK_NOISE, 2)
            custom = [
                {"id": 360010001, "value": f"A-{ticket_id}"},
                {"id": 360010002, "value": rng.choice(["grinder", "beans", "kettle", None])},
                {"id": 360010003, "value": tags[-1]},
                {"id": 360010004, "value": rng.random() < 0.1},
            ]
            solved = status in ("solved", "closed")
            ticket = {
                "url": f"https://northwind.zendesk.com/api/v2/tickets/{ticket_id}.json",
                "id": ticket_id,
                "external_id": None,
                "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
                "created_at": _zendesk_time(created),
                "updated_at": _zendesk_time(moment),
                "generated_timestamp": int(moment.timestamp()),
                "type": rng.choice(["question", "incident", "problem", "task", None]),
                "subject": f"Order A-{ticket_id}: {first_text[:40]}",
                "raw_subject": f"Order A-{ticket_id}: {first_text[:40]}",
                "description": first_text,
                "priority": rng.choice(["low", "normal", "normal", "high", "urgent", None]),
                "status": status,
                "requester_id": requester,
                "submitter_id": requester,
                "assignee_id": assignee,
                "organization_id": None,
                "group_id": 360_000_001 + rng.randrange(4),
                "collaborator_ids": [],
                "follower_ids": [assignee] if assignee and rng.random() < 0.2 else [],
                "email_cc_ids": [],
                "has_incidents": False,
                "brand_id": 360_000_100,
                "ticket_form_id": 360_000_200,
                "tags": tags,
                "custom_fields": custom,
                "fields": custom,
                "satisfaction_rating": {
                    "score": rng.choice(["unoffered", "offered", "good", "bad"])
                },
            }
            if solved:
                ticket["metric_set"] = {
                    "ticket_id": ticket_id,
                    "solved_at": _zendesk_time(moment + timedelta(minutes=3)),
                    "reopens": 0,
                }
            tickets.write(json.dumps(ticket) + "\n")
    random.Random(seed + 1).shuffle(offsets)
    with scratch.open("rb") as source, (folder / "ticket_comments.json").open("wb") as out:
        for offset in offsets:
            source.seek(offset)
            out.write(source.readline())
    scratch.unlink()
    return len(offsets)


def bench_zendesk(work: Path, sizes: tuple[int, ...]) -> dict[str, object]:
    """``importer validate`` on a generated Zendesk export of each size (format recognised)."""
    runs: list[dict[str, object]] = []
    for count in sizes:
        folder = work / f"zendesk-{count}"
        started = time.monotonic()
        comments = write_zendesk_export(folder, count)
        generated_s = time.monotonic() - started
        size_mb = sum(path.stat().st_size for path in folder.iterdir()) / 1e6
        report_path = work / f"zendesk-{count}-report.json"
        result = measured(
            [
                sys.executable,
                "-m",
                "importer",
                "validate",
                str(folder),
                "--quiet",
                "--no-progress",
                "--report",
                str(report_path),
            ]
        )
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        samples = result.rss_samples
        figures: dict[str, object] = {
            "tickets": count,
            "comments": comments,
            "input_mb": round(size_mb, 1),
            "generated_s": round(generated_s, 1),
            "exit_code": result.exit_code,
            "format": report.get("format"),
            "valid": report.get("valid"),
            "invalid": report.get("invalid"),
            "threads": report.get("threads"),
            "elapsed_s": round(result.elapsed_s, 1),
            "conversations_per_s": round(count / result.elapsed_s),
            "cpu_s": round(result.cpu_s, 1),
            "conversations_per_cpu_s": round(count / result.cpu_s),
            "peak_rss_mb": round(result.peak_rss_mb, 1),
            # resident memory at a quarter, half, three quarters and the end of the run
            "rss_quartiles_mb": [
                round(samples[min(len(samples) - 1, len(samples) * q // 4)][1], 1)
                for q in (1, 2, 3, 4)
            ]
            if samples
            else [],
        }
        if result.exit_code not in (0, 1):
            figures["stderr"] = result.stderr[-2000:]
        print(f"zendesk: {figures}", flush=True)
        runs.append(figures)
        for path in folder.iterdir():  # the next size needs the disk space
            path.unlink()
        folder.rmdir()
    peaks = [float(str(run["peak_rss_mb"])) for run in runs]
    summary: dict[str, object] = {
        "runs": runs,
        "peak_ratio": round(peaks[-1] / peaks[0], 2) if peaks else None,
    }
    print(f"zendesk peak RSS ratio {sizes[-1]:,} / {sizes[0]:,}: {summary['peak_ratio']}")
    return summary


def bench_run(work: Path, minutes: float) -> dict[str, object]:
    count = int(RATE / 2 * minutes)
    export = work / "run.jsonl"
    write_export(export, count, 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPSCOUT_")}
    env.update(HELPSCOUT_APP_ID="sandbox", HELPSCOUT_APP_SECRET="sandbox")
    with running_sandbox(SandboxConfig(mailboxes=[85], rate_limit=RATE, window_s=60)) as sandbox:
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "importer",
                "run",
                str(export),
                "--mailbox",
                "85",
                "--api-url",
                sandbox.url,
                "--rate-limit",
                str(RATE),
                "--no-progress",
                "--quiet",
                "--checkpoint",
                str(work / "run.sqlite"),
                "--report",
                str(work / "run-report.json"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
        )
        elapsed = time.monotonic() - started
        stats = sandbox.stats.snapshot()
        created = sandbox.store.count_conversations(mailbox=85)
    windows = stats["units_per_window"]
    full = windows[1:-1]  # the first window holds the start-up, the last one is partial
    requests = stats["requests"]
    figures = {
        "conversations": count,
        "exit_code": result.returncode,
        "elapsed_s": round(elapsed, 1),
        "units_per_window": windows,
        "full_minutes_after_first": len(full),
        "min_budget_use_pct": round(100 * min(full) / RATE, 1) if full else None,
        "requests": requests,
        "throttled_429": stats["throttled"],
        "throttled_pct": round(100 * stats["throttled"] / max(requests, 1), 2),
        "created_conversations": created,
        "requests_per_created": round(requests / max(created, 1), 3),
    }
    if result.returncode:
        figures["stderr"] = result.stderr[-2000:]
    print(f"run: {figures}", flush=True)
    return figures


def _measured_line(figures: dict[str, Any]) -> list[str]:
    """The date and load of a section's figures, when they were recorded with them."""
    if "measured_at" not in figures:
        return []
    return [
        f"Measured on {figures['measured_at']} (load average {figures.get('load_average', '?')} "
        "when it started).",
        "",
    ]


def zendesk_markdown(zendesk: dict[str, Any]) -> list[str]:
    runs = zendesk["runs"]
    lines = [
        "## validate: a Zendesk export, comments in a separate file in shuffled order",
        "",
        *_measured_line(zendesk),
        "Generated tickets NDJSON (channels, statuses, tags, custom fields, metric sets), 3-6 "
        "comments a ticket (HTML, Markdown-only, private notes, attachments, deleted authors) "
        "in their own NDJSON file, shuffled across tickets, users and ticket fields; "
        "format and file roles recognised from content.",
        "",
        "| tickets | comments | input | elapsed | conversations/s | CPU time "
        "| conversations per CPU second | peak RSS | RSS at 1/4, 1/2, 3/4, end of run | exit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        quartiles = ", ".join(str(mb) for mb in run["rss_quartiles_mb"])
        cpu = f"{run['cpu_s']} s" if "cpu_s" in run else "not measured"
        per_cpu = f"{run['conversations_per_cpu_s']:,}" if "cpu_s" in run else "-"
        lines.append(
            f"| {run['tickets']:,} | {run['comments']:,} | {run['input_mb']} MB "
            f"| {run['elapsed_s']} s | {run['conversations_per_s']:,} | {cpu} | {per_cpu} "
            f"| {run['peak_rss_mb']} MB "
            f"| {quartiles} MB | {run['exit_code']} |"
        )
    lines += [
        "",
        f"Peak RSS at {runs[-1]['tickets']:,} tickets / at {runs[0]['tickets']:,}: "
        f"{zendesk['peak_ratio']} (flat memory: close to 1).",
        "",
    ]
    return lines


def write_markdown(
    validate: dict[str, Any] | None, zendesk: dict[str, Any] | None, run: dict[str, Any] | None
) -> None:
    store = ROOT / "benchmarks.json"  # the last figures of each part, so --only keeps the others
    known = json.loads(store.read_text()) if store.exists() else {}
    validate = validate or known.get("validate")
    zendesk = zendesk or known.get("zendesk")
    run = run or known.get("run")
    store.write_text(
        json.dumps({"validate": validate, "zendesk": zendesk, "run": run}, indent=2) + "\n",
        encoding="utf-8",
    )
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (each section with `--only`, on the day it says) on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "Figures, not thresholds.",
        "",
    ]
    if validate:
        lines += [
            "## validate: offline stages on 100,000 conversations",
            "",
            *_measured_line(validate),
            "| conversations | input | elapsed | conversations/s | peak RSS | exit |",
            "|---|---|---|---|---|---|",
            f"| {validate['conversations']:,} of 6 messages | {validate['input_mb']} MB | {validate['elapsed_s']} s | "
            f"{validate['conversations_per_s']:,} | {validate['peak_rss_mb']} MB | {validate['exit_code']} |",
            "",
        ]
    if zendesk:
        lines += zendesk_markdown(zendesk)
    if run:
        lines += [
            f"## run at --rate-limit {RATE} against the sandbox (fixed 60 s windows from its start)",
            "",
            *_measured_line(run),
            "| conversations | elapsed | min budget use, full minutes after the first | 429 share | requests per created conversation | exit |",
            "|---|---|---|---|---|---|",
            f"| {run['conversations']} | {run['elapsed_s']} s | {run['min_budget_use_pct']} % "
            f"({run['full_minutes_after_first']} minutes) | {run['throttled_pct']} % ({run['throttled_429']} of "
            f"{run['requests']}) | {run['requests_per_created']} | {run['exit_code']} |",
            "",
            f"Units used per window: {run['units_per_window']} (budget {RATE}).",
            "",
        ]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines), encoding="utf-8")
    print("wrote BENCHMARKS.md")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=["validate", "zendesk", "run", "side", "resume", "offline", "bounds", "formats"],
    )
    parser.add_argument("--conversations", type=int, default=10_000 if QUICK else 100_000)
    parser.add_argument(
        "--zendesk-tickets",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=ZENDESK_TICKETS,
        help="sizes of the generated Zendesk exports, smallest first (e.g. 50000,200000)",
    )
    parser.add_argument("--minutes", type=float, default=4.2)
    args = parser.parse_args()
    stamp = {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "load_average": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory(prefix="importer-bench-") as tmp:
        work = Path(tmp)
        validate = (
            bench_validate(work, args.conversations) if args.only in (None, "validate") else None
        )
        zendesk = (
            bench_zendesk(work, args.zendesk_tickets) if args.only in (None, "zendesk") else None
        )
        wants_run = args.only == "run" or (args.only is None and not QUICK)
        run = bench_run(work, args.minutes) if wants_run else None
        # ours beside a naive importer, and resume (scripts/bench_side_by_side.py)
        wants_side = args.only == "side" or (args.only is None and not QUICK)
        side = bench_side_by_side.bench_all(work) if wants_side else None
        if args.only == "resume":  # the side-by-side's resume part alone, 1,000,000 parts
            side = bench_side_by_side.bench_all(work, "resume")
        # the speed issue's workload and a mail archive (scripts/bench_offline.py)
        wants_offline = args.only in (None, "offline")
        offline = bench_offline.bench_all(work) if wants_offline else None
        # the read layer's worst cases (scripts/bench_bounds.py)
        wants_bounds = args.only in (None, "bounds") and not QUICK
        bounds = bench_bounds.bench_all(work) if wants_bounds else None
        # every format beside its floor, and plan (scripts/bench_formats.py)
        wants_formats = args.only in (None, "formats")
        sizes, runs = ((10_000,), 1) if QUICK else ((100_000, 1_000_000), 3)
        formats = bench_formats.bench_all(work, sizes, runs=runs) if wants_formats else None
    for figures in (validate, zendesk, run):
        if figures is not None:
            figures.update(stamp)
    if QUICK:
        print("BENCH_QUICK: BENCHMARKS.md left as it is")
    else:
        side_known = bench_side_by_side.known()  # write_markdown rewrites benchmarks.json
        offline_known = bench_offline.known()
        bounds_known = bench_bounds.known()
        write_markdown(validate, zendesk, run)
        bench_side_by_side.record(side or side_known)
        bench_offline.record(offline or offline_known)
        bench_bounds.record(bounds or bounds_known)
        formats_known = formats or bench_side_by_side.known_section(bench_formats.STORE_KEY)
        if formats_known:
            bench_formats.record(formats_known)
    return 0


# -- mail: an mbox of 100,000 messages (issue 12) ----------------------------------------------


def write_mbox(path: Path, messages: int, seed: int = 20240612) -> int:
    """A Takeout-like mbox of ``messages`` mails: threads of 1-6 mails (In-Reply-To and
    References; replies labelled Sent), one reply in 20 without them (joined by subject), one
    mail in 50 an auto-reply or a bounce; returns the number of threads."""
    import random as _random
    from email.utils import format_datetime

    rng = _random.Random(seed)
    # 465 s a mail on average: a million mails span 14.7 years, all in the past (from 2022 the
    # last two thirds of them were after the day we measured, each a "time in the future" warning:
    # a 515 MB report, a sixth of the run writing it)
    moment = datetime(2008, 1, 7, 8, 0, tzinfo=UTC)
    written = threads = 0
    with path.open("wb") as out:
        while written < messages:
            threads += 1
            customer = f"customer{rng.randrange(20_000)}@example.com"
            subject = f"Order {rng.randrange(100_000)}: {rng.choice(['late', 'broken', 'refund'])}"
            chain: list[str] = []
            for step in range(min(rng.randint(1, 6), messages - written)):
                written += 1
                moment += timedelta(seconds=rng.randint(30, 900))
                agent = step % 2 == 1
                sender = f"agent{rng.randrange(8)}@northwind.example" if agent else customer
                ident = f"<b{written}.{threads}@bench.example>"
                lines = [
                    f"From {written}@xxx {moment.strftime('%a %b %d %H:%M:%S +0000 %Y')}",
                    f"X-Gmail-Labels: {'Sent' if agent else 'Inbox'}",
                    f"From: {sender}",
                    f"To: {customer if agent else 'support@northwind.example'}",
                    f"Subject: {'Re: ' if step else ''}{subject}",
                    f"Date: {format_datetime(moment)}",
                    f"Message-ID: {ident}",
                ]
                if chain and rng.random() > 0.05:
                    lines += [f"In-Reply-To: {chain[-1]}", f"References: {' '.join(chain[-8:])}"]
                if rng.random() < 0.02:
                    lines.append("Auto-Submitted: auto-replied")
                lines += ["Content-Type: text/plain; charset=utf-8", ""]
                lines += [
                    f"Line {n} of mail {written}: the order has not arrived." for n in range(8)
                ]
                out.write(("\n".join(lines) + "\n\n").encode("utf-8"))
                chain.append(ident)
    return threads


def bench_mail(work: Path, messages: int = 100_000) -> dict[str, object]:
    """``importer validate`` of an mbox of ``messages`` mails: messages per second, elapsed
    time and peak RSS of the process (``wait4``); conversations and warnings of the report."""
    mbox = work / "bench.mbox"
    threads = write_mbox(mbox, messages)
    report = work / "mail-report.json"
    command = [sys.executable, "-m", "importer", "validate", str(mbox), "--report", str(report)]
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "--no-progress", "-q"], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    written = json.loads(report.read_text())
    return {
        "messages": messages,
        "threads_written": threads,
        "mbox_mb": round(mbox.stat().st_size / 1e6, 1),
        "exit_code": os.waitstatus_to_exitcode(status),
        "conversations": written["source_conversations"],
        "warnings": len(written["warnings"]),
        "elapsed_s": round(elapsed, 1),
        "messages_per_s": round(messages / elapsed),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
