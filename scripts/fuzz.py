"""``make fuzz``: fuzz every reader for FUZZ_MINUTES (default 5) on FUZZ_JOBS processes (default
2, each with its half of the readers), random seeds, and save each distinct failure, shrunk, to
``tests/data/fuzz/<reader>/<short-hash>.json``; ``make test`` replays them.

    FUZZ_MINUTES=30 make fuzz
    .venv/bin/python scripts/fuzz.py --minutes 1 --readers csv,mail --jobs 1

A failure is distinct by its signature (a crash's exception type and innermost importer frame,
else the broken invariant and the mutations' kinds); signatures already saved are not saved again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.fuzz.harness import Case, Problem, Runner, shrink  # noqa: E402
from tests.fuzz.model import READERS  # noqa: E402
from tests.fuzz.store import load_failure, save_failure, saved_cases  # noqa: E402
from tests.fuzz.strategies import cases  # noqa: E402

BATCH = 40  # examples per hypothesis run; a failure ends a run early


class Found(AssertionError):
    pass


def batch(
    runner: Runner, reader: str, seen: set[tuple[str, str]], deadline: float
) -> tuple[int, tuple[Case, Problem] | None]:
    """One hypothesis run over ``reader``: (cases run, the shrunk new failure or None)."""
    last: list[tuple[Case, Problem]] = []
    ran = 0

    @settings(
        max_examples=BATCH, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(cases(reader))
    def prop(case: Case) -> None:
        nonlocal ran
        if time.monotonic() >= deadline:
            return
        ran += 1
        for problem in runner.run(case):
            if (case.reader, problem.signature) not in seen:
                last.append((case, problem))
                raise Found(problem.signature)

    try:
        prop()
    except Exception as exc:  # Found, or hypothesis's FlakyFailure around it, or a harness bug
        if not last:
            print(f"fuzz: {reader}: the harness failed: {exc!r}"[:2000], flush=True)
            return ran, None
        case, problem = last[-1]
        small = shrink(runner, case, problem.signature)
        kind = problem.signature.split(":")[0]
        again = [p for p in runner.run(small) if p.signature.split(":")[0] == kind]
        return ran, (small, again[0] if again else problem)
    return ran, None


def worker(readers: list[str], deadline: float) -> int:
    runner = Runner(Path(tempfile.mkdtemp(prefix="fuzz-")))
    seen = {(p.parent.name, load_failure(p)[1]["failure"]["signature"]) for p in saved_cases()}
    saved = ran = 0
    while time.monotonic() < deadline:
        for reader in readers:
            if time.monotonic() >= deadline:
                break
            count, found = batch(runner, reader, seen, deadline)
            ran += count
            if found is None:
                continue
            case, problem = found
            seen.add((case.reader, problem.signature))
            path = save_failure(case, problem, "make fuzz")
            saved += 1
            print(f"fuzz: {reader}: {problem.signature} -> {path.relative_to(ROOT)}", flush=True)
            print("      " + json.dumps(case.to_json())[:400], flush=True)
    shutil.rmtree(runner.tmp, ignore_errors=True)
    print(f"fuzz: {','.join(readers)}: {ran} cases, {saved} new failures saved", flush=True)
    return 1 if saved else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("FUZZ_MINUTES", "5")))
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("FUZZ_JOBS", "2")))
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    readers = [r for r in args.readers.split(",") if r]
    unknown = set(readers) - set(READERS)
    if unknown:
        parser.error(f"unknown readers {sorted(unknown)}; known: {', '.join(READERS)}")
    if args.worker or args.jobs <= 1:
        return worker(readers, time.monotonic() + args.minutes * 60)
    shares = [readers[i :: args.jobs] for i in range(args.jobs)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                "--minutes",
                str(args.minutes),
                "--readers",
                ",".join(share),
            ]
        )
        for share in shares
        if share
    ]
    codes = [p.wait() for p in procs]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
