"""``make bench`` (``--only formats``): ``validate`` of every format beside its floor, and ``plan``.

For each format (canonical, generic CSV in random order, Zendesk, Freshdesk, Intercom, Front,
Gorgias, Help Scout, mbox) a generated export of each size (``bench_exports``; 100,000 and
1,000,000 conversations, mails for mbox) is validated as a user runs it (``importer validate
EXPORT``, the format recognised, the default ``--jobs``): the median of ``RUNS`` runs at the
first size, one at the others; elapsed, CPU (user and system of validate and its workers), peak
RSS summed over validate and all its workers (sampled; pages a forked worker shares count in
each), and the load average when each run started. Beside it, the floor: ``floor_join.py``, a
plain single-process script that only parses and joins the same files, one run. Then ``importer
plan`` of the canonical export of the first size against the sandbox.

    .venv/bin/python scripts/bench_formats.py [--sizes 100000,1000000] [--runs 3]
        [--formats zendesk,csv] [--large-formats canonical,zendesk (at the sizes after the
        first; default every format)] [--work DIR (exports kept and reused)] [--code DIR]
        [--record]

``--code DIR``: measure the importer of another checkout (its ``importer`` package, this
virtual environment): before/after figures of one change on the same exports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_exports  # noqa: E402
from bench_offline import wait_sampled, write_csv_shuffled, write_long  # noqa: E402

FORMATS = (
    "canonical",
    "csv",
    "zendesk",
    "freshdesk",
    "intercom",
    "front",
    "gorgias",
    "helpscout",
    "mail",
)
SECTION = "## validate: every format beside its floor (issue 24)"
#: the floor script holds the whole export in memory (about 27 GB for a million Zendesk
#: tickets): it runs at the first size only, and only up to this one
FLOOR_MAX_SIZE = 200_000
STORE_KEY = "formats"
RSS_SAMPLE_S = 0.2


def write_export(fmt: str, folder: Path, count: int) -> Path:
    """A generated export of ``fmt`` with ``count`` conversations (mbox: mails) in ``folder``,
    written once: an export already there is reused."""
    done = folder.with_name(folder.name + ".complete")  # beside it: not a file of the export
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "canonical":
        write_long(folder / "conversations.jsonl", count)
    elif fmt == "csv":
        write_csv_shuffled(folder / "messages.csv", count)
    elif fmt == "zendesk":
        from bench import write_zendesk_export

        write_zendesk_export(folder, count)
    elif fmt == "mail":
        from bench import write_mbox

        write_mbox(folder / "bench.mbox", count)
    else:
        bench_exports.write_platform_export(fmt, folder, count)
    done.write_text("")
    return folder


def _size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 1)


def measured(command: list[str], cwd: Path) -> dict[str, Any]:
    """Run ``command``: elapsed, CPU of its process tree (wait4), peak RSS of the tree."""
    load = os.getloadavg()[0]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE)
    status, usage, peak = wait_sampled(process, RSS_SAMPLE_S)
    assert process.stdout is not None
    return {
        "elapsed_s": time.monotonic() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": max(peak, usage.ru_maxrss / 1024 if peak == 0 else peak),
        "load": round(load, 2),
        "exit_code": os.waitstatus_to_exitcode(status),
        "stdout": process.stdout.read().decode("utf-8", "replace"),
    }


def bench_format(
    fmt: str, export: Path, *, runs: int, code: Path, work: Path, floor_too: bool = True
) -> dict[str, Any]:
    """``validate`` of ``export`` ``runs`` times, and the floor once (``floor_too``: the floor
    holds the whole export in memory, 550 MB for 20,000 Zendesk tickets, so not at a million)."""
    report = work / f"{fmt}-report.json"
    command = [sys.executable, "-m", "importer", "validate", str(export)]
    command += ["--no-progress", "-q", "--report", str(report)]
    results = [measured(command, code) for _ in range(runs)]
    written = json.loads(report.read_text())
    items = written["source_conversations"]
    mails = (
        sum(1 for _ in (export / "bench.mbox").open("rb") if _.startswith(b"From "))
        if (fmt == "mail")
        else None
    )
    elapsed = statistics.median(r["elapsed_s"] for r in results)
    unit = mails if mails is not None else items
    row = {
        "format": fmt,
        "conversations": items,
        "mails": mails,
        "input_mb": _size_mb(export),
        "runs": runs,
        "elapsed_s": round(elapsed, 1),
        "elapsed_each": [round(r["elapsed_s"], 1) for r in results],
        "load_each": [r["load"] for r in results],
        "per_s": round(unit / elapsed),
        "cpu_s": round(statistics.median(r["cpu_s"] for r in results), 1),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results), 1),
        "exit_code": max(r["exit_code"] for r in results),
        "valid": written["valid"],
    }
    if floor_too:
        row.update(_floor(fmt, export, unit))
    print(json.dumps(row), flush=True)
    return row


def _floor(fmt: str, export: Path, unit: int) -> dict[str, Any]:
    """The floor script's figures on ``export`` (``unit``: its conversations, or mails)."""
    floor_script = str(ROOT / "scripts" / "floor_join.py")
    floor = measured([sys.executable, floor_script, fmt, str(export)], ROOT)
    if floor["exit_code"] != 0:
        raise RuntimeError(f"the floor script failed on {export}")
    floor_read = json.loads(floor["stdout"])
    return {
        "floor_elapsed_s": round(floor["elapsed_s"], 1),
        "floor_per_s": round(unit / floor["elapsed_s"]),
        "floor_cpu_s": round(floor["cpu_s"], 1),
        "floor_peak_rss_mb": round(floor["peak_rss_mb"], 1),
        "floor_load": floor["load"],
        "floor_conversations": floor_read["conversations"],
    }


def bench_plan(export: Path, *, code: Path, work: Path) -> dict[str, Any]:
    """``importer plan`` of ``export`` against the sandbox (no rate limit)."""
    from importer.sandbox.testing import SandboxConfig, running_sandbox

    report = work / "plan-report.json"
    env_keys = {"HELPSCOUT_APP_ID": "sandbox", "HELPSCOUT_APP_SECRET": "sandbox"}
    os.environ.update(env_keys)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        command = [sys.executable, "-m", "importer", "plan", str(export), "--mailbox", "85"]
        command += ["--api-url", sandbox.url, "--no-progress", "-q", "--report", str(report)]
        result = measured(command, code)
    written = json.loads(report.read_text())
    row = {
        "conversations": written["conversations"],
        "elapsed_s": round(result["elapsed_s"], 1),
        "per_s": round(written["conversations"] / result["elapsed_s"]),
        "cpu_s": round(result["cpu_s"], 1),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "load": result["load"],
        "exit_code": result["exit_code"],
    }
    print(f"plan: {json.dumps(row)}", flush=True)
    return row


def _commit(code: Path) -> str:
    """The commit the measured code is at (``+changes`` when its tree differs), else its path."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(code), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(code), "status", "--porcelain", "--untracked-files=no", "importer"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(code)
    return commit + ("+changes" if changed else "")


def markdown(f: dict[str, Any]) -> list[str]:
    lines = [
        SECTION,
        "",
        f"Measured on {f['measured_at']}, {f['machine']}, by `{f['code']}`: `importer validate "
        "EXPORT` as a user runs it (format recognised, default `--jobs`), beside the floor "
        "(`scripts/floor_join.py`: one process that only parses and joins the same files). "
        "Elapsed: the median of the runs (each run's and the load average at its start in "
        "brackets); CPU: user + system of validate and its workers; peak RSS: the sum over "
        "validate and its workers, sampled every 0.2 s. A run's load average counts the bench's "
        "own processes (the run before it, the floor): well above 2, other work shared the 2 "
        "cores, and CPU seconds compare better than elapsed ones.",
        "",
        "| format | conversations (mails) | input | runs | elapsed (each; load) | per s | CPU "
        "| peak RSS, all processes | floor: elapsed, per s, CPU, RSS (load) | exit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in f["rows"]:
        items = f"{r['conversations']:,}" + (f" ({r['mails']:,})" if r.get("mails") else "")
        each = ", ".join(
            f"{e} s @ {load}" for e, load in zip(r["elapsed_each"], r["load_each"], strict=True)
        )
        floor = (
            f"{r['floor_elapsed_s']} s, {r['floor_per_s']:,}/s, {r['floor_cpu_s']} s, "
            f"{r['floor_peak_rss_mb']} MB (@ {r['floor_load']})"
            if "floor_elapsed_s" in r
            else "not run (it holds the whole export in memory)"
        )
        lines.append(
            f"| {r['format']} | {items} | {r['input_mb']} MB | {r['runs']} | "
            f"{r['elapsed_s']} s ({each}) | {r['per_s']:,} | {r['cpu_s']} s | "
            f"{r['peak_rss_mb']} MB | {floor} | {r['exit_code']} |"
        )
    plan = f.get("plan")
    if plan:
        lines += [
            "",
            f"`importer plan` of the canonical export ({plan['conversations']:,} conversations) "
            f"against the sandbox: {plan['elapsed_s']} s ({plan['per_s']:,}/s, load "
            f"{plan['load']}), CPU {plan['cpu_s']} s, peak RSS {plan['peak_rss_mb']} MB, exit "
            f"{plan['exit_code']}.",
        ]
    return [*lines, ""]


def bench_all(
    work: Path,
    sizes: tuple[int, ...],
    *,
    runs: int,
    formats: tuple[str, ...] = FORMATS,
    code: Path = ROOT,
    plan: bool = True,
    large: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    import platform

    figures: dict[str, Any] = {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "code": _commit(code),
        "rows": [],
    }
    for index, size in enumerate(sizes):
        for fmt in formats:
            if index > 0 and large is not None and fmt not in large:
                continue  # the sizes after the first: only the formats asked for
            export = write_export(fmt, work / f"{fmt}-{size}", size)
            row = bench_format(
                fmt,
                export,
                runs=runs if index == 0 else 1,
                code=code,
                work=work,
                floor_too=index == 0 and size <= FLOOR_MAX_SIZE,
            )
            figures["rows"].append(row)
    if plan:
        export = write_export("canonical", work / f"canonical-{sizes[0]}", sizes[0])
        figures["plan"] = bench_plan(export, code=code, work=work)
    return figures


def record(figures: dict[str, Any]) -> int:
    """Store ``figures`` (benchmarks.json) and their section of BENCHMARKS.md; 0."""
    from bench_side_by_side import record_section

    record_section(STORE_KEY, SECTION, figures, markdown(figures))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--no-plan", action="store_true")
    parser.add_argument(
        "--large-formats", default=None, help="formats measured at the sizes after the first"
    )
    parser.add_argument("--record", action="store_true", help="write BENCHMARKS.md too")
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    formats = tuple(args.formats.split(","))
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        large = tuple(args.large_formats.split(",")) if args.large_formats else None
        figures = bench_all(
            work,
            sizes,
            runs=args.runs,
            formats=formats,
            code=args.code,
            plan=not args.no_plan,
            large=large,
        )
    print("\n".join(markdown(figures)))
    return record(figures) if args.record else 0


if __name__ == "__main__":
    sys.exit(main())
