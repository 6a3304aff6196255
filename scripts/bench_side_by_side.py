"""``make bench``, side by side: ``importer run`` and a naive importer against the same sandbox
settings in the same bench run, and the time a rerun takes to skip parts already done.

1. budget: ``--rate-limit 600`` against sandboxes with fixed 60-second windows counted from
   their start (the real API's window and phase are unknown), ours and the naive one
   (``tests/bench/naive_importer.py``: one conversation at a time, a fixed ``120/limit`` s pause)
   with more conversations than either can send, each into its own sandbox answering at once,
   after 20 ms or after 150 ms (an assumed latency of the real API): six runs at the same time
   (they are light: about 5 requests a second each), all stopped with SIGTERM once the full
   windows are over. Per full minute after
   the first: the share of the 600 units used, conversations created; over the run: the share
   of 429 answers; the ratio of conversations per minute, ours / naive. One run each (minutes
   long).
2. no limit: a sandbox without rate limit answering every request after 20 ms
   (``--latency-ms 20-20``); conversations per second (between the first and the last create,
   and over the whole process) and requests per created conversation, ours (8 workers) and the
   naive one's (given the same ``--rate-limit`` as ours, 1,000,000: a 0.12 ms pause); the
   median of 3 runs each, a fresh sandbox for each run.
3. resume: a checkpoint holding 1,000,000 parts done (the issue's size; built with
   ``Checkpoint.record_done``, one row each, ``synchronous=OFF`` while it is built), then
   ``importer run`` of the export those parts came from, against a sandbox (the set-up checks
   need one): it finds all done and sends nothing. Seconds of that rerun (the median of
   ``BENCH_RESUME_RUNS``, default 1) and parts skipped per second.

``BENCH_QUICK=1``: one full minute instead of two, one run of each no-limit measurement with
fewer conversations, 20,000 parts to resume. ``BENCH_RESUME_PARTS=N`` sets the resume size.

    .venv/bin/python scripts/bench_side_by_side.py [--only budget|no-limit|resume] [--record]
    # --record: into BENCHMARKS.md (with --only, the other parts keep their recorded figures)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from importer.pipeline.checkpoint import Checkpoint, RunHeader  # noqa: E402
from importer.sandbox.testing import SandboxConfig, running_sandbox  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
RATE = 600
WINDOW_S = 60
FULL_MINUTES = 1 if QUICK else 2
NO_LIMIT_RATE = 1_000_000
LATENCY_MS = (20, 20)
#: the budget runs: answers at once, after 20 ms, and after 150 ms (an assumed latency of a
#: create on the real API: not measured here)
BUDGET_LATENCIES: tuple[tuple[int, int] | None, ...] = (None, LATENCY_MS, (150, 150))
NO_LIMIT_RUNS = 1 if QUICK else 3
NO_LIMIT_OURS = 600 if QUICK else 1500
NO_LIMIT_NAIVE = 150 if QUICK else 400
RESUME_PARTS = int(os.environ.get("BENCH_RESUME_PARTS") or (20_000 if QUICK else 1_000_000))
RESUME_RUNS = int(os.environ.get("BENCH_RESUME_RUNS") or 1)
NAIVE = ROOT / "tests" / "bench" / "naive_importer.py"
MAILBOX = 85
STORE_KEY = "side_by_side"
SECTION = "## Side by side: `importer run` and a naive importer"


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("HELPSCOUT_")}
    out.update(HELPSCOUT_APP_ID="sandbox", HELPSCOUT_APP_SECRET="sandbox")
    return out


def write_export(
    path: Path,
    count: int,
    messages: int = 3,
    *,
    names: tuple[str, str, str, str] = ("N", "Side by side", "side", "Side"),
) -> Path:
    """``count`` canonical conversations of ``messages`` plain-text messages, customers with
    email (the shape of the bench's other exports); ``names``: the source id prefix, the subject,
    the customer email's user part and first name (``bench.py`` writes its own with them)."""
    id_prefix, subject, email_user, first_name = names
    start = datetime(2021, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            moment = start + timedelta(minutes=index)
            record = {
                "source_id": f"{id_prefix}{index}",
                "subject": f"{subject} {index}",
                "status": "closed",
                "customer": {
                    "email": f"{email_user}{index % 5000}@example.com",
                    "first_name": first_name,
                },
                "messages": [
                    {
                        "created_at": (moment + timedelta(seconds=30 * n)).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                        "author_role": "customer" if n % 2 == 0 else "agent",
                        "body_text": f"Message {n} of conversation {index}.\nSecond line.",
                    }
                    for n in range(messages)
                ],
            }
            out.write(json.dumps(record) + "\n")
    return path


def ours(
    export: Path, url: str, work: Path, name: str, rate: int, checkpoint: Path | None = None
) -> subprocess.Popen[bytes]:
    """``importer run`` in the background; stderr to ``work/name.log``, checkpoint
    ``work/name.sqlite`` unless given."""
    checkpoint = checkpoint or work / f"{name}.sqlite"
    with (work / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "importer", "run", str(export), "--mailbox", str(MAILBOX),
             "--api-url", url, "--rate-limit", str(rate), "--no-progress", "--quiet",
             "--checkpoint", str(checkpoint), "--report", str(work / f"{name}.json")],
            cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


def naive(export: Path, url: str, work: Path, name: str, rate: int) -> subprocess.Popen[bytes]:
    """The naive importer in the background; stderr to ``work/name.log``."""
    with (work / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(NAIVE), str(export), "--api-url", url,
             "--mailbox", str(MAILBOX), "--rate-limit", str(rate),
             "--report", str(work / f"{name}.json")],
            cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


def finish(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for the process; SIGKILL it when it outlives ``timeout``."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def created_times(sandbox: Any) -> list[float]:
    """Wall-clock moments at which the sandbox stored each conversation, in order."""
    return sorted(c["created_via_api_at"] for c in sandbox.store.conversations(mailbox=MAILBOX))


# -- 1. at the rate limit ----------------------------------------------------------------------


def budget_figures(sandbox: Any, full_minutes: int, exit_code: int) -> dict[str, Any]:
    """Budget use and conversations of each full window after the first, and the 429 share."""
    stats = sandbox.stats.snapshot()
    limiter = sandbox.sandbox.limiter
    wall_start = time.time() - (time.monotonic() - limiter.started)
    windows = stats["units_per_window"]
    full = windows[1 : full_minutes + 1]
    per_window = [0] * full_minutes
    for moment in created_times(sandbox):
        index = int((moment - wall_start) // WINDOW_S) - 1
        if 0 <= index < full_minutes:
            per_window[index] += 1
    requests = stats["requests"]
    return {
        "units_per_window": windows,
        "budget_use_pct": [round(100 * units / RATE, 1) for units in full],
        "min_budget_use_pct": round(100 * min(full) / RATE, 1) if full else None,
        "conversations_per_full_minute": per_window,
        "conversations_per_minute": round(sum(per_window) / max(full_minutes, 1), 1),
        "requests": requests,
        "throttled_429": stats["throttled"],
        "throttled_pct": round(100 * stats["throttled"] / max(requests, 1), 2),
        "exit_code": exit_code,
    }


def bench_budget(work: Path, full_minutes: int = FULL_MINUTES) -> dict[str, Any]:
    """Ours and the naive importer at ``--rate-limit 600``, all at the same time, each against
    its own sandbox (60 s windows, 600 units each) answering after each of
    ``BUDGET_LATENCIES``; stopped after ``full_minutes`` full windows."""
    count = int(RATE / 2 * (full_minutes + 2))  # more than either can send in the time
    export = write_export(work / "budget.jsonl", count)
    runs: list[dict[str, Any]] = []
    with ExitStack() as stack:
        started = []
        for latency in BUDGET_LATENCIES:
            config = SandboxConfig(
                mailboxes=[MAILBOX], rate_limit=RATE, window_s=WINDOW_S, latency_ms=latency
            )
            tag = f"{latency[0] if latency else 0}ms"
            pair = {}
            for who, start in (("ours", ours), ("naive", naive)):
                sandbox = stack.enter_context(running_sandbox(config))
                process = start(export, sandbox.url, work, f"budget-{who}-{tag}", RATE)
                pair[who] = (sandbox, process)
                started.append(sandbox.sandbox.limiter.started)
            runs.append({"latency_ms": list(latency or (0, 0)), "pair": pair})
        processes = [p for run in runs for _, p in run["pair"].values()]
        end = max(started) + (full_minutes + 1) * WINDOW_S + 2  # into the partial window
        while time.monotonic() < end and any(p.poll() is None for p in processes):
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for run in runs:
            pair = run.pop("pair")
            for who, (sandbox, process) in pair.items():
                run[who] = budget_figures(sandbox, full_minutes, finish(process, 90))
            naive_rate = run["naive"]["conversations_per_minute"]
            run["ratio_conversations_per_minute"] = (
                round(run["ours"]["conversations_per_minute"] / naive_rate, 2)
                if naive_rate
                else None
            )
    figures = {
        "rate_limit": RATE,
        "window_s": WINDOW_S,
        "full_minutes_after_first": full_minutes,
        "conversations_offered": count,
        "by_latency": runs,
    }
    print(f"side by side at --rate-limit {RATE}: {json.dumps(figures)}", flush=True)
    return figures


# -- 2. no rate limit, 20 ms latency -----------------------------------------------------------


def one_no_limit(work: Path, export: Path, who: str, index: int) -> dict[str, float]:
    config = SandboxConfig(mailboxes=[MAILBOX], latency_ms=LATENCY_MS, seed=index)
    name = f"nolimit-{who}-{index}"
    with running_sandbox(config) as sandbox:
        started = time.monotonic()
        start = ours if who == "ours" else naive
        code = finish(start(export, sandbox.url, work, name, NO_LIMIT_RATE), 600)
        elapsed = time.monotonic() - started
        moments = created_times(sandbox)
        requests = sandbox.stats.requests
    created = len(moments)
    span = moments[-1] - moments[0] if created > 1 else 0.0
    return {
        "exit_code": code,
        "created": created,
        "conversations_per_s": created / elapsed,
        "steady_conversations_per_s": (created - 1) / span if span else 0.0,
        "requests_per_created": requests / max(created, 1),
    }


def bench_no_limit(work: Path, runs: int = NO_LIMIT_RUNS) -> dict[str, Any]:
    """Ours and the naive one without a rate limit, 20 ms a request: medians of ``runs``."""
    figures: dict[str, Any] = {
        "latency_ms": list(LATENCY_MS),
        "runs": runs,
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
    for who, count in (("ours", NO_LIMIT_OURS), ("naive", NO_LIMIT_NAIVE)):
        export = write_export(work / f"nolimit-{who}.jsonl", count)
        results = [one_no_limit(work, export, who, i) for i in range(runs)]
        figures[who] = {
            "conversations": count,
            "exit_codes": [r["exit_code"] for r in results],
            "created": [r["created"] for r in results],
            **{
                key: round(statistics.median(r[key] for r in results), 3)
                for key in (
                    "conversations_per_s",
                    "steady_conversations_per_s",
                    "requests_per_created",
                )
            },
        }
    naive_rate = figures["naive"]["steady_conversations_per_s"]
    figures["ratio_conversations_per_s"] = (
        round(figures["ours"]["steady_conversations_per_s"] / naive_rate, 1) if naive_rate else None
    )
    print(f"no rate limit, {LATENCY_MS[0]} ms latency: {json.dumps(figures)}", flush=True)
    return figures


# -- 3. resume ---------------------------------------------------------------------------------


def write_resume_export(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            out.write(
                json.dumps(
                    {
                        "source_id": f"R{index}",
                        "subject": f"Resume {index}",
                        "customer": {"email": f"resume{index % 5000}@example.com"},
                        "messages": [
                            {
                                "created_at": "2022-01-01T00:00:00Z",
                                "author_role": "customer",
                                "body_text": f"resume {index}",
                            }
                        ],
                    }
                )
                + "\n"
            )


def bench_resume(work: Path, parts: int = RESUME_PARTS, runs: int = RESUME_RUNS) -> dict[str, Any]:
    """A rerun that finds ``parts`` parts (one per conversation) done in its checkpoint."""
    load_at_start = round(os.getloadavg()[0], 2)  # others' work on the machine slows the rerun
    export = work / "resume.jsonl"
    write_resume_export(export, parts)
    times, cpu, codes, skipped = [], [], [], []
    build_s = 0.0
    with running_sandbox(SandboxConfig(mailboxes=[MAILBOX])) as sandbox:
        checkpoint = work / "resume.sqlite"
        started = time.monotonic()
        with Checkpoint.open(checkpoint, RunHeader(sandbox.url, MAILBOX, "canonical")) as cp:
            cp.store.conn.execute("PRAGMA synchronous=OFF")  # set-up only: no fsync per row
            for index in range(parts):
                cp.parts.record_done(f"R{index}", 1, 2_000_000 + index)
        build_s = time.monotonic() - started
        for index in range(runs):
            name = f"resume-{index}"
            started = time.monotonic()
            rerun = ours(export, sandbox.url, work, name, 400, checkpoint)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            codes.append(finish(rerun, max(120.0, parts / 500)))
            times.append(time.monotonic() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the rerun: the one child
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            report = json.loads((work / f"{name}.json").read_text())
            skipped.append(report["already_imported"])
        created = sandbox.store.count_conversations(mailbox=MAILBOX)
    elapsed = statistics.median(times)
    figures = {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": machine(),
        "load_average_at_start": load_at_start,
        "parts_done": parts,
        "checkpoint_build_s": round(build_s, 1),
        "runs": runs,
        "exit_codes": codes,
        "already_imported": skipped,
        "created": created,
        "rerun_s": round(elapsed, 1),
        "rerun_s_each": [round(t, 1) for t in times],
        # CPU seconds (user + system) of the rerun: what others' work on the machine slows less
        "rerun_cpu_s": round(statistics.median(cpu), 1),
        "parts_skipped_per_s": round(parts / elapsed),
        "rerun_s_per_million_parts": round(elapsed * 1_000_000 / parts),
    }
    print(f"resume: {json.dumps(figures)}", flush=True)
    return figures


# -- all of it, and the record -----------------------------------------------------------------


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


PARTS = ("budget", "no-limit", "resume")


def bench_all(work: Path, only: str | None = None) -> dict[str, Any]:
    """Every side-by-side figure (the no-limit ones first: they are quick), or only one part
    of them (``only``: budget, no-limit or resume) beside the figures recorded earlier."""
    earlier = (known() or {}) if only else {}
    no_limit = bench_no_limit(work) if only in (None, "no-limit") else earlier.get("no_limit")
    resume = bench_resume(work) if only in (None, "resume") else earlier.get("resume")
    budget = bench_budget(work) if only in (None, "budget") else earlier.get("budget")
    now = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    if only is not None:  # the section's date is the budget's; the others carry their own
        when = now if only == "budget" else earlier.get("measured_at", now)
        return {**earlier, "measured_at": when, "budget": budget, "no_limit": no_limit,
                "resume": resume}  # fmt: skip
    return {
        "measured_at": now,
        "machine": machine(),
        "quick": QUICK,
        "budget": budget,
        "no_limit": no_limit,
        "resume": resume,
    }


def known() -> dict[str, Any] | None:
    """The figures ``benchmarks.json`` holds from an earlier bench (kept when not rerun)."""
    store = ROOT / "benchmarks.json"
    if not store.exists():
        return None
    figures = json.loads(store.read_text()).get(STORE_KEY)
    return figures if isinstance(figures, dict) else None


def markdown(f: dict[str, Any]) -> list[str]:
    b, n, r = f["budget"], f["no_limit"], f["resume"]
    lines = [
        SECTION,
        "",
        f"Measured on {f['measured_at']}, {f['machine']}. The naive importer "
        "(`tests/bench/naive_importer.py`) posts one conversation at a time with a fixed pause "
        "of 120/limit seconds, as common migration scripts do, and retries a failure once.",
        "",
        f"### At --rate-limit {b['rate_limit']} (sandbox: {b['rate_limit']} units per fixed "
        f"{b['window_s']} s window from its start)",
        "",
        "All ran at the same time, each into its own sandbox, with more conversations than "
        f"they could send, and were stopped (SIGTERM) after {b['full_minutes_after_first']} "
        "full minutes after the first; with the sandbox answering at once, after 20 ms and "
        "after 150 ms (an assumed latency of a create on the real API, not a measured one). "
        "One run each.",
        "",
        "| latency | importer | budget used, each full minute after the first | 429 share "
        "| conversations per minute | ours / naive |",
        "|---|---|---|---|---|---|",
    ]
    for run in b["by_latency"]:
        for label in ("ours", "naive"):
            x = run[label]
            use = ", ".join(f"{p} %" for p in x["budget_use_pct"])
            ratio = run["ratio_conversations_per_minute"]
            ratio = f"**{ratio:.2f}**" if label == "ours" and ratio else ""
            lines.append(
                f"| {run['latency_ms'][0]} ms | {label} | {use} | {x['throttled_pct']} % "
                f"({x['throttled_429']} of {x['requests']}) | {x['conversations_per_minute']} "
                f"| {ratio} |"
            )
    lines += [
        "",
        "Units per window (the last one partial): "
        + "; ".join(
            f"{label} at {run['latency_ms'][0]} ms {run[label]['units_per_window']}"
            for run in b["by_latency"]
            for label in ("ours", "naive")
        )
        + ".",
        "",
        f"### No rate limit, every answer after {n['latency_ms'][0]} ms",
        "",
        (
            f"Measured on {n['measured_at']} (load average {n['load_average_at_start']}: ours "
            "is CPU-bound here, so others' work on the machine slows it; the naive one mostly "
            "waits on each answer). "
            if "measured_at" in n
            else ""
        )
        + f"Median of {n['runs']} run(s) each, a fresh sandbox for each; conversations per second "
        "between the first and the last create (and over the whole process, start-up included).",
        "",
        "| importer | conversations | conversations/s | (whole process) "
        "| requests per created conversation |",
        "|---|---|---|---|---|",
    ]
    for label, x in (("ours (8 workers)", n["ours"]), ("naive", n["naive"])):
        lines.append(
            f"| {label} | {x['conversations']:,} | {x['steady_conversations_per_s']} "
            f"| {x['conversations_per_s']} | {x['requests_per_created']} |"
        )
    lines += [
        "",
        f"Ours / naive: {n['ratio_conversations_per_s']}x the conversations per second.",
        "",
        "### Resume",
        "",
    ]
    when = (
        f"Measured on {r['measured_at']}, {r['machine']}"
        if "measured_at" in r
        else f"Measured on {f['measured_at']}"
    )
    runs = r["runs"]
    how = "one run" if runs == 1 else f"the median of {runs} runs ({r['rerun_s_each']} s)"
    load = (
        f", load average {r['load_average_at_start']} when it started"
        if "load_average_at_start" in r
        else ""
    )
    lines += [
        f"A rerun of `importer run` whose checkpoint holds all {r['parts_done']:,} parts done "
        f"(one per conversation) skips them in **{r['rerun_s']} s** "
        f"({r['parts_skipped_per_s']:,} parts/s"
        + (f"; {r['rerun_cpu_s']} s of CPU" if "rerun_cpu_s" in r else "")
        + f"), sending nothing (created: {r['created']}, "
        f"already imported: {r['already_imported']}, exit {r['exit_codes']}). {when}, {how}"
        f"{load}. The rerun reads the whole export; the checkpoint was built directly with "
        f"`Checkpoint.record_done` ({r['checkpoint_build_s']} s, not part of the figure).",
        "",
    ]
    if r["parts_done"] < 1_000_000:
        lines[-2] += (
            f" Measured on {r['parts_done']:,} parts rather than 1,000,000; "
            "`.venv/bin/python scripts/bench.py --only resume` measures the full size."
        )
    return lines


def record(figures: dict[str, Any] | None) -> None:
    """Store ``figures`` in ``benchmarks.json`` and put their section in BENCHMARKS.md."""
    if figures:
        record_section(STORE_KEY, SECTION, figures, markdown(figures))


def known_section(key: str) -> dict[str, Any] | None:
    """The figures ``benchmarks.json`` holds under ``key``, if any."""
    store = ROOT / "benchmarks.json"
    figures = json.loads(store.read_text()).get(key) if store.exists() else None
    return figures if isinstance(figures, dict) else None


def record_section(key: str, section: str, figures: dict[str, Any], lines: list[str]) -> None:
    """``figures`` under ``key`` in ``benchmarks.json``, and ``lines`` (starting with
    ``section``) in BENCHMARKS.md in place of an earlier section of that title."""
    store = ROOT / "benchmarks.json"
    data = json.loads(store.read_text()) if store.exists() else {}
    data[key] = figures
    store.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    page = ROOT / "BENCHMARKS.md"
    text = page.read_text(encoding="utf-8") if page.exists() else "# Benchmarks\n"
    head, found, rest = text.partition(section)
    if found:  # replace the earlier section, keep what follows it
        tail = rest.split("\n## ", 1)
        text = head + ("## " + tail[1] if len(tail) > 1 else "")
    page.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--record", action="store_true", help="write the figures to BENCHMARKS.md too"
    )
    parser.add_argument(
        "--only", choices=PARTS, help="measure one part; the others keep their recorded figures"
    )
    args = parser.parse_args(argv)
    if args.only and known() is None:
        parser.error("--only needs figures of an earlier full run in benchmarks.json")
    with tempfile.TemporaryDirectory(prefix="importer-bench-side-") as tmp:
        figures = bench_all(Path(tmp), args.only)
    print("\n".join(markdown(figures)))
    if args.record:
        record(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
