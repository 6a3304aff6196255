"""``make bench``: measure, print and record in BENCHMARKS.md (figures, not pass/fail tests).

1. validate: 100,000 canonical conversations of 6 messages streamed through every offline stage;
   conversations per second and peak memory of the process.
2. run at the rate limit: ``importer run`` against the sandbox at ``--rate-limit 600`` (fixed
   60-second windows counted from the sandbox's start, not aligned with the client) for about
   four minutes; units used in each full minute after the first, the share of 429 answers, and
   requests per created conversation.

    .venv/bin/python scripts/bench.py [--only validate|run] [--conversations N] [--minutes M]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from importer.sandbox.testing import SandboxConfig, running_sandbox  # noqa: E402

RATE = 600


def write_export(path: Path, count: int, messages: int) -> None:
    start = datetime(2021, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            moment = start + timedelta(minutes=index)
            body = {
                "source_id": f"B{index}",
                "subject": f"Benchmark conversation {index}",
                "status": "closed",
                "customer": {"email": f"bench{index % 5000}@example.com", "first_name": "Bench"},
                "messages": [
                    {
                        "created_at": (moment + timedelta(seconds=n * 30)).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                        "author_role": "customer" if n % 2 == 0 else "agent",
                        "body_text": f"Message {n} of conversation {index}.\nSecond line.",
                    }
                    for n in range(messages)
                ],
            }
            out.write(json.dumps(body) + "\n")


def bench_validate(work: Path, count: int) -> dict[str, object]:
    export = work / "validate.jsonl"
    write_export(export, count, 6)
    size_mb = export.stat().st_size / 1e6
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    result = subprocess.run(
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
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    report = json.loads((work / "validate-report.json").read_text())
    figures = {
        "conversations": count,
        "input_mb": round(size_mb, 1),
        "exit_code": result.returncode,
        "valid": report["valid"],
        "elapsed_s": round(elapsed, 1),
        "conversations_per_s": round(count / elapsed),
        "peak_rss_mb": round(peak_mb, 1),
    }
    print(f"validate: {figures}", flush=True)
    return figures


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


def write_markdown(validate: dict[str, object] | None, run: dict[str, object] | None) -> None:
    store = ROOT / "benchmarks.json"  # the last figures of each part, so --only keeps the other
    known = json.loads(store.read_text()) if store.exists() else {}
    validate = validate or known.get("validate")
    run = run or known.get("run")
    store.write_text(
        json.dumps({"validate": validate, "run": run}, indent=2) + "\n", encoding="utf-8"
    )
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Figures, not thresholds.",
        "",
    ]
    if validate:
        lines += [
            "## validate: offline stages on 100,000 conversations",
            "",
            "| conversations | input | elapsed | conversations/s | peak RSS | exit |",
            "|---|---|---|---|---|---|",
            f"| {validate['conversations']:,} of 6 messages | {validate['input_mb']} MB | {validate['elapsed_s']} s | "
            f"{validate['conversations_per_s']:,} | {validate['peak_rss_mb']} MB | {validate['exit_code']} |",
            "",
        ]
    if run:
        lines += [
            f"## run at --rate-limit {RATE} against the sandbox (fixed 60 s windows from its start)",
            "",
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
    parser.add_argument("--only", choices=["validate", "run"])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=4.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="importer-bench-") as tmp:
        work = Path(tmp)
        validate = (
            bench_validate(work, args.conversations) if args.only in (None, "validate") else None
        )
        run = bench_run(work, args.minutes) if args.only in (None, "run") else None
    write_markdown(validate, run)
    return 0


# -- mail: an mbox of 100,000 messages (issue 12) ----------------------------------------------


def write_mbox(path: Path, messages: int, seed: int = 20240612) -> int:
    """A Takeout-like mbox of ``messages`` mails: threads of 1-6 mails (In-Reply-To and
    References; replies labelled Sent), one reply in 20 without them (joined by subject), one
    mail in 50 an auto-reply or a bounce; returns the number of threads."""
    import random as _random
    from email.utils import format_datetime

    rng = _random.Random(seed)
    moment = datetime(2022, 1, 3, 8, 0, tzinfo=UTC)
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
