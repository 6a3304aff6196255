"""Offline figures beside ``scripts/bench.py``'s: validate on the workload the speed issue names
(6 messages of 60 to 480 characters of plain text), and a mail archive of 100,000 messages.

    .venv/bin/python scripts/bench.py --only offline   # (make bench runs it too)

Each figure is the median of ``BENCH_RUNS`` runs (default 3; 1 with ``BENCH_QUICK=1``, which
also shrinks the inputs). Stored under ``offline`` in benchmarks.json, with their own section in
BENCHMARKS.md (replaced, not repeated, by the next bench).
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
STORE_KEY = "offline"
SECTION = "## validate: the speed issue's workload, and a mail archive"
TEXT = (
    "the order arrived late and the box was damaged please send a replacement thanks for your "
    "patience we are looking into it"
)


def write_long(path: Path, count: int, seed: int = 7) -> None:
    """``count`` canonical conversations of 6 plain-text messages of 60 to 480 characters."""
    rng = random.Random(seed)
    words = TEXT.split()
    start = datetime(2021, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            moment = start + timedelta(minutes=index)
            messages = []
            for n in range(6):
                length = rng.randint(60, 480)
                text = ""
                while len(text) < length:
                    text += rng.choice(words) + " "
                messages.append(
                    {
                        "created_at": f"{moment + timedelta(seconds=30 * n):%Y-%m-%dT%H:%M:%SZ}",
                        "author_role": "customer" if n % 2 == 0 else "agent",
                        "body_text": text[:length],
                    }
                )
            body = {
                "source_id": f"L{index}",
                "subject": f"Conversation {index}",
                "status": "closed",
                "customer": {"email": f"c{index % 5000}@example.com", "first_name": "Bench"},
                "messages": messages,
            }
            out.write(json.dumps(body) + "\n")


def _validate(path: Path) -> dict[str, float]:
    """One ``importer validate`` run: elapsed, CPU and peak RSS of its process (wait4)."""
    command = [sys.executable, "-m", "importer", "validate", str(path), "--no-progress", "-q"]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return {
        "elapsed_s": time.monotonic() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "exit_code": os.waitstatus_to_exitcode(status),
    }


def _median_of_runs(path: Path, items: int) -> dict[str, Any]:
    runs = [_validate(path) for _ in range(RUNS)]
    elapsed = statistics.median(r["elapsed_s"] for r in runs)
    return {
        "items": items,
        "input_mb": round(path.stat().st_size / 1e6, 1),
        "runs": RUNS,
        "elapsed_s": round(elapsed, 1),
        "per_s": round(items / elapsed),
        "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 1),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "exit_code": max(int(r["exit_code"]) for r in runs),
    }


def bench_all(work: Path) -> dict[str, Any]:
    from bench import write_mbox  # scripts/ is on sys.path when bench.py runs

    sizes = (10_000,) if QUICK else (100_000,)
    figures: dict[str, Any] = {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "long": [],
    }
    for count in sizes:
        path = work / f"long-{count}.jsonl"
        write_long(path, count)
        figures["long"].append(_median_of_runs(path, count))
        path.unlink()
        print(f"validate, {count:,} long conversations: {figures['long'][-1]}", flush=True)
    messages = 10_000 if QUICK else 100_000
    mbox = work / "bench.mbox"
    write_mbox(mbox, messages)
    figures["mail"] = _median_of_runs(mbox, messages)
    print(f"validate, mbox of {messages:,} messages: {figures['mail']}", flush=True)
    return figures


def markdown(f: dict[str, Any]) -> list[str]:
    lines = [
        SECTION,
        "",
        f"Measured on {f['measured_at']}, {f['machine']}; the median of the runs given, one "
        "process (the offline stages do not use the second core).",
        "",
        "| input | items | size | runs | elapsed | items/s | CPU | peak RSS | exit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in f["long"]:
        lines.append(
            f"| canonical JSONL, 6 messages of 60-480 characters | {row['items']:,} "
            f"conversations | {row['input_mb']} MB | {row['runs']} | {row['elapsed_s']} s | "
            f"{row['per_s']:,} | {row['cpu_s']} s | {row['peak_rss_mb']} MB | {row['exit_code']} |"
        )
    mail = f["mail"]
    lines.append(
        f"| mbox (Takeout-like threads of 1-6) | {mail['items']:,} messages | "
        f"{mail['input_mb']} MB | {mail['runs']} | {mail['elapsed_s']} s | {mail['per_s']:,} | "
        f"{mail['cpu_s']} s | {mail['peak_rss_mb']} MB | {mail['exit_code']} |"
    )
    return [*lines, ""]


def known() -> dict[str, Any] | None:
    store = ROOT / "benchmarks.json"
    figures = json.loads(store.read_text()).get(STORE_KEY) if store.exists() else None
    return figures if isinstance(figures, dict) else None


def record(figures: dict[str, Any] | None) -> None:
    """Store ``figures`` in benchmarks.json and put their section in BENCHMARKS.md."""
    from bench_side_by_side import record_section  # scripts/ is on sys.path with bench.py

    if figures:
        record_section(STORE_KEY, SECTION, figures, markdown(figures))
