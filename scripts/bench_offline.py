"""Offline figures beside ``scripts/bench.py``'s: ``importer validate`` on the workload the speed
issue names (6 messages of 60 to 480 characters of plain text per conversation) as canonical
JSONL and as a generic CSV whose message rows are shuffled over the whole file, at 100,000 and
1,000,000 conversations, and on a mail archive of 100,000 messages.

    .venv/bin/python scripts/bench.py --only offline   # (make bench runs it too)

Each figure at 100,000 (and the mbox) is the median of ``BENCH_RUNS`` runs (default 3); the
1,000,000 rows are a single run each, to keep ``make bench`` bounded. ``BENCH_QUICK=1``: 10,000
and 20,000 conversations, 10,000 mails, one run each, BENCHMARKS.md left as it is.
``BENCH_VALIDATE_ARGS`` adds options to every validate command (``BENCH_VALIDATE_ARGS="--jobs
1"``); the table shows the options used.

Per run: elapsed time; CPU (user and system) of validate and every process it started and
waited for (``wait4``); peak RSS as the highest sum of ``VmRSS`` over validate and all its
descendants, sampled every 0.2 s from ``/proc``, beside the peak of the largest single process
(its ``VmHWM``; ``wait4``'s ``ru_maxrss`` is stored too, but it includes this script's own
memory at the fork). Stored under ``offline`` in benchmarks.json, with their own section in
BENCHMARKS.md (replaced, not repeated, by the next bench).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
#: conversations at the median of RUNS runs, and at a single run
SIZES = ((10_000, False), (20_000, True)) if QUICK else ((100_000, False), (1_000_000, True))
VALIDATE_OPTIONS = ("--no-progress", "-q")
RSS_SAMPLE_S = 0.2
STORE_KEY = "offline"
SECTION = "## validate: the speed issue's workload, and a mail archive"
MBOX = "mbox (Takeout-like threads of 1-6)"
TEXT = (
    "the order arrived late and the box was damaged please send a replacement thanks for your "
    "patience we are looking into it"
)


def _long_conversations(count: int, seed: int) -> Iterator[tuple[int, list[tuple[str, str, str]]]]:
    """``(index, messages)`` of ``count`` conversations: 6 messages ``(created_at, author_role,
    body_text)`` of 60 to 480 characters of plain text each, 30 seconds apart. Each text is a
    slice, from a random word on, of one long run of random words (drawn once: fast enough for
    a million conversations)."""
    rng = random.Random(seed)
    words = TEXT.split()
    corpus = " ".join(rng.choices(words, k=200_000)) + " "
    starts = [0, *(n + 1 for n, char in enumerate(corpus) if char == " ")][:-500]
    start = datetime(2021, 1, 1, tzinfo=UTC)
    roles = ("customer", "agent") * 3
    clock = [f"{h:02}:{m:02}:{s:02}" for h in range(24) for m in range(60) for s in (0, 30)]
    lengths = range(60, 481)
    last = len(starts)
    day = ""
    for index in range(count):
        if index % 1440 == 0:  # one conversation a minute: a new day
            day = f"{start + timedelta(days=index // 1440):%Y-%m-%d}T"
        minute = index % 1440 * 2
        messages = []
        for n in range(6):  # 30 seconds apart; the last few of a day's last minute go past it
            at = starts[int(rng.random() * last)]
            text = corpus[at : at + lengths[int(rng.random() * 421)]]
            when = day + clock[minute + n] + "Z" if minute + n < 2880 else _at(start, index, n)
            messages.append((when, roles[n], text))
        yield index, messages


def _at(start: datetime, index: int, n: int) -> str:
    return f"{start + timedelta(minutes=index, seconds=30 * n):%Y-%m-%dT%H:%M:%SZ}"


def _subject(index: int) -> str:
    return f"Conversation {index}"


def _customer_email(index: int) -> str:
    return f"c{index % 5000}@example.com"


def write_long(path: Path, count: int, seed: int = 7) -> None:
    """``count`` canonical conversations of 6 plain-text messages of 60 to 480 characters."""
    encode = json.JSONEncoder().encode
    with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
        for index, messages in _long_conversations(count, seed):
            body = {
                "source_id": f"L{index}",
                "subject": _subject(index),
                "status": "closed",
                "customer": {"email": _customer_email(index), "first_name": "Bench"},
                "messages": [
                    {"created_at": moment, "author_role": role, "body_text": text}
                    for moment, role, text in messages
                ],
            }
            out.write(encode(body) + "\n")


CSV_HEADER = (
    "conversation_id",
    "created_at",
    "author_role",
    "body_text",
    "subject",
    "status",
    "customer_email",
    "customer_first_name",
)
CSV_BUCKET_ROWS = 100_000  # rows shuffled in memory at once


def write_csv_shuffled(path: Path, count: int, seed: int = 7) -> None:
    """The conversations of :func:`write_long` as a generic CSV ``messages.csv`` alone (the
    contract's layout with the conversation columns repeated on each message row), every row
    of the file in random order: the rows of one conversation are spread over the whole file.

    A uniform shuffle in bounded memory: each row goes to one of ``rows / CSV_BUCKET_ROWS``
    temporary files at random, then each file is shuffled in memory and appended."""
    rows = count * 6
    buckets = max(1, -(-rows // CSV_BUCKET_ROWS))
    rng = random.Random(seed + 1)
    parts = [path.with_name(f"{path.name}.part{n}") for n in range(buckets)]
    outs = [part.open("w", encoding="utf-8", buffering=1 << 16) for part in parts]
    assert not set(',"\r\n') & set(TEXT)  # no cell needs quotes: rows are joined as they are
    try:
        writes = [out.write for out in outs]
        pick = rng.randrange
        for index, messages in _long_conversations(count, seed):
            tail = f",{_subject(index)},closed,{_customer_email(index)},Bench\n"
            for moment, role, text in messages:
                writes[pick(buckets)](f"L{index},{moment},{role},{text}{tail}")
    finally:
        for out in outs:
            out.close()
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(CSV_HEADER) + "\n")
        for part in parts:
            lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
            part.unlink()
            rng.shuffle(lines)
            out.writelines(lines)


#: (name in the table, writer, file suffix) of each conversation input
INPUTS = (
    ("canonical JSONL, 6 messages of 60-480 characters", write_long, ".jsonl"),
    ("generic CSV, the same as message rows in random order", write_csv_shuffled, ".csv"),
)


def _process_tree(root: int) -> list[int]:
    """``root`` and every process descending from it, from the parent ids in ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # after "pid (comm) state"
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_rss_mb(root: int) -> tuple[float, float]:
    """The summed ``VmRSS`` of ``root`` and its descendants (pages a forked child shares with
    its parent count in both), and the highest ``VmHWM`` (peak RSS) of one of them, in MB."""
    total_kib = largest_kib = 0
    for pid in _process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                largest_kib = max(largest_kib, int(line.split()[1]))
    return total_kib / 1024, largest_kib / 1024


def wait_sampled(process: subprocess.Popen[bytes], every: float) -> tuple[int, Any, float]:
    """Wait for ``process``: its exit status, its resource usage with its children's (wait4)
    and the highest summed RSS of its process tree (MB), sampled every ``every`` seconds."""
    peak = 0.0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return status, usage, peak
        with contextlib.suppress(OSError):  # no /proc (not Linux)
            peak = max(peak, tree_rss_mb(process.pid)[0])
        time.sleep(every)


def _validate(path: Path, extra: list[str]) -> dict[str, float]:
    """One ``importer validate`` run: elapsed, CPU of the process tree (wait4), peak RSS summed
    over the process tree and of its largest process (``VmHWM``), both sampled.

    ``wait4``'s ``ru_maxrss`` is kept too, but it is not the table's: Linux carries the memory of
    the process that forked the child (this script, which generates the inputs) into it."""
    command = [sys.executable, "-m", "importer", "validate", str(path), *VALIDATE_OPTIONS, *extra]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    peak_tree = peak_process = 0.0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        with contextlib.suppress(OSError):  # no /proc (not Linux)
            tree, largest = tree_rss_mb(process.pid)
            peak_tree, peak_process = max(peak_tree, tree), max(peak_process, largest)
        time.sleep(RSS_SAMPLE_S)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "elapsed_s": time.monotonic() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,  # with the children validate waited for
        "peak_rss_tree_mb": peak_tree,
        "peak_rss_process_mb": peak_process,
        "wait4_maxrss_mb": usage.ru_maxrss / 1024,
        "exit_code": process.returncode,
    }


def _measure(path: Path, input_name: str, items: int, unit: str, single: bool) -> dict[str, Any]:
    """``RUNS`` validate runs of ``path`` (one when ``single``): the median elapsed time and
    CPU, the highest peaks."""
    extra = shlex.split(os.environ.get("BENCH_VALIDATE_ARGS", ""))
    runs = 1 if single else RUNS
    measured = [_validate(path, extra) for _ in range(runs)]
    elapsed = statistics.median(r["elapsed_s"] for r in measured)
    row = {
        "input": input_name,
        "options": shlex.join([*VALIDATE_OPTIONS, *extra]),
        "items": items,
        "unit": unit,
        "input_mb": round(path.stat().st_size / 1e6, 1),
        "runs": runs,
        "single_run": single,
        "elapsed_s": round(elapsed, 1),
        "per_s": round(items / elapsed),
        "cpu_s": round(statistics.median(r["cpu_s"] for r in measured), 1),
        "peak_rss_tree_mb": round(max(r["peak_rss_tree_mb"] for r in measured), 1),
        "peak_rss_process_mb": round(max(r["peak_rss_process_mb"] for r in measured), 1),
        "wait4_maxrss_mb": round(max(r["wait4_maxrss_mb"] for r in measured), 1),
        "exit_code": max(int(r["exit_code"]) for r in measured),
    }
    print(f"validate, {input_name}, {items:,} {unit}: {row}", flush=True)
    return row


def bench_all(work: Path) -> dict[str, Any]:
    from bench import write_mbox  # scripts/ is on sys.path when bench.py runs

    extra = os.environ.get("BENCH_VALIDATE_ARGS", "").strip()
    figures: dict[str, Any] = {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "validate_options": " ".join([*VALIDATE_OPTIONS, *([extra] if extra else [])]),
        "bench_validate_args": extra,
        "rows": [],
    }
    for count, single in SIZES:
        for input_name, write, suffix in INPUTS:
            path = work / f"offline-{count}{suffix}"
            started = time.monotonic()
            write(path, count)
            print(f"wrote {path.name} in {time.monotonic() - started:.0f} s", flush=True)
            figures["rows"].append(_measure(path, input_name, count, "conversations", single))
            path.unlink()
    messages = 10_000 if QUICK else 100_000
    mbox = work / "bench.mbox"
    write_mbox(mbox, messages)
    figures["rows"].append(_measure(mbox, MBOX, messages, "messages", False))
    mbox.unlink()
    return figures


def markdown(f: dict[str, Any]) -> list[str]:
    lines = [
        SECTION,
        "",
        f"Measured on {f['measured_at']}, {f['machine']}: `importer validate FILE` with the "
        "options given (the format recognised from the content), "
        + (
            f"`BENCH_VALIDATE_ARGS={f['bench_validate_args']}` added to what "
            "`importer validate` does by default."
            if f.get("bench_validate_args")
            else "as `importer validate` runs by default."
        )
        + " Elapsed and CPU are the median of the runs given (a single run at 1,000,000); "
        "CPU is the user and system time of validate and of the processes it started. "
        "Peak RSS: the highest sum of the resident memory of validate and all its child "
        "processes, sampled every 0.2 s (pages a forked child shares with its parent count in "
        "both), and the peak of the largest single process (its `VmHWM`).",
        "",
        "| input | items | size | options | runs | elapsed | items/s | CPU "
        "| peak RSS, all processes | peak RSS, largest process | exit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in f["rows"]:
        runs = "1 (a single run)" if row["single_run"] else row["runs"]
        lines.append(
            f"| {row['input']} | {row['items']:,} {row['unit']} | {row['input_mb']} MB | "
            f"`{row['options']}` | {runs} | {row['elapsed_s']} s | {row['per_s']:,} | "
            f"{row['cpu_s']} s | {row['peak_rss_tree_mb']} MB | {row['peak_rss_process_mb']} MB | "
            f"{row['exit_code']} |"
        )
    return [*lines, ""]


def known() -> dict[str, Any] | None:
    from bench_side_by_side import known_section  # scripts/ is on sys.path with bench.py

    return known_section(STORE_KEY)


def record(figures: dict[str, Any] | None) -> None:
    """Store ``figures`` in benchmarks.json and put their section in BENCHMARKS.md (figures of
    an earlier layout of this section, without ``rows``, are left as they are)."""
    from bench_side_by_side import record_section  # scripts/ is on sys.path with bench.py

    if figures and "rows" in figures:
        record_section(STORE_KEY, SECTION, figures, markdown(figures))
