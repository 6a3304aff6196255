"""Run one fuzz case through the real CLI (in-process) and check every invariant.

A case: a reader, one of its seeds, a list of mutations (:mod:`tests.fuzz.mutations`), how the
files are wrapped (as they are, or zipped), whether ``--format`` is given and which command runs.
Invariants, each a :class:`Problem` when broken:

* ``crash``: the command raised anything but ``SystemExit`` (a traceback);
* ``exit``: an exit code other than 0, 1 or 2; ``exit2-message``: exit 2 without exactly one
  line on stderr naming an input file;
* ``count``: the report's ``source_conversations != valid + invalid`` (or no report at all);
* ``lost`` / ``changed`` / ``duplicated``: a conversation none of whose records the mutations
  touched is missing from ``convert``'s output, differs from the seed's, or is written twice;
* ``memory``: one run raised the process's peak RSS by more than :data:`MAX_RSS_GROWTH`.

Which conversations a record feeds is learned, not guessed: the seed is converted once without
that record (its "deps"), once per record and process, on first need.
"""

from __future__ import annotations

import contextlib
import functools
import json
import resource
import shutil
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from importer.cli import cli
from importer.commands import validate as validate_command
from importer.readers import parallel_staging
from importer.readers.mail import read as mail_read
from tests.fuzz.model import Seed, load_seed
from tests.fuzz.mutations import Mutated, apply, drop_units, poison_units, wrap

MAX_RECORD_BYTES = 1 << 20  # --max-record-bytes for every fuzz run: blowing a field up stays cheap
#: how far one run may raise the process's peak RSS: far above what reading a few MiB of input
#: with 1 MiB records takes (the peak of the whole process grows slowly over thousands of runs,
#: so the growth during one run is what is checked)
MAX_RSS_GROWTH = 512 << 20
MAX_DEP_UNITS = 8  # a new id naming more records than this: compare nothing
PLACEHOLDER = "<EXPORT>"


@dataclass
class Case:
    reader: str
    seed: str
    mutations: list[dict[str, Any]] = field(default_factory=list)
    wrap: str = "none"
    format_given: bool = True
    command: str = "convert"
    #: ``--jobs`` of the mutated export's run (2: the readers' building in the planning workers,
    #: from slices of the staging store); the seed's baseline is always read with one
    jobs: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        keys = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in keys})


@dataclass
class Problem:
    kind: str
    detail: str
    signature: str = ""


@dataclass
class Outcome:
    exit_code: int
    exception: BaseException | None
    traceback: str
    stderr: str
    report: dict[str, Any] | None
    converted: dict[str, list[str]]  # source id -> its canonical lines (normalised)
    rss_growth: int = 0  # bytes the process's peak RSS rose during the run


def run_cli(root: Path, case: Case, command: str | None = None) -> Outcome:
    """Run ``convert`` or ``validate`` over the folder ``root`` in this process."""
    jobs = case.jobs if command is None else 1  # a baseline (named command) with one
    command = command or case.command
    work = Path(tempfile.mkdtemp(prefix="out-", dir=root.parent.parent))
    report, out = work / "report.json", work / "out.jsonl"
    args = [command, str(root), "--report", str(report), "--jobs", str(jobs), "--quiet"]
    args += ["--max-record-bytes", str(MAX_RECORD_BYTES), "--no-progress"]
    if case.format_given:
        args += ["--format", case.reader]
    if command == "convert":
        args += ["-o", str(out)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with warnings.catch_warnings(), _small_batches(jobs):
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(cli, args)
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) * 1024
    exc = result.exception
    tb = ""
    if exc is not None and not isinstance(exc, SystemExit) and result.exc_info is not None:
        tb = "".join(traceback.format_exception(*result.exc_info))
    data: dict[str, Any] | None = None
    if report.is_file():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except ValueError:
            data = None
    converted: dict[str, list[str]] = {}
    top = root.parent if root.is_dir() else root.parent.parent  # the case's own folder
    if out.is_file():
        for line in out.read_text(encoding="utf-8").splitlines():
            record = json.loads(line.replace(str(top), PLACEHOLDER))
            if isinstance(record.get("messages"), list):  # compared in any order: the
                record["messages"].sort(key=json.dumps)  # transform puts them in time order
            converted.setdefault(str(record.get("source_id")), []).append(json.dumps(record))
    shutil.rmtree(work, ignore_errors=True)
    return Outcome(result.exit_code, exc, tb, result.stderr, data, converted, growth)


#: with ``--jobs 2``, batches (and the staged readers' slices) of this many conversations, so that
#: a sample's few dozen are built and planned in the workers, not in one batch in this process;
#: and staging runs of this many lines (mails), so that they are staged (read) in several runs
JOBS_BATCH_SIZE = 3
JOBS_RUN_LINES = 3
JOBS_RUN_MAILS = 2


@contextlib.contextmanager
def _small_batches(jobs: int) -> Iterator[None]:
    """For a case run with workers, ``run_offline`` (which the CLI imports when called) cuts
    the export into small batches, and staging reads it in small runs; with one job nothing
    changes."""
    if jobs < 2:
        yield
        return
    saved = (validate_command.run_offline, parallel_staging.RUN_LINES, mail_read.RUN_MAILS)
    validate_command.run_offline = functools.partial(saved[0], batch_size=JOBS_BATCH_SIZE)
    parallel_staging.RUN_LINES, mail_read.RUN_MAILS = JOBS_RUN_LINES, JOBS_RUN_MAILS
    try:
        yield
    finally:
        validate_command.run_offline, parallel_staging.RUN_LINES, mail_read.RUN_MAILS = saved


def write_tree(root: Path, tree: dict[str, bytes]) -> None:
    for name, data in tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _innermost(exc_tb: str) -> str:
    frames = [ln.strip() for ln in exc_tb.splitlines() if ln.strip().startswith("File ")]
    ours = [f for f in frames if "/importer/" in f] or frames
    if not ours:
        return "?"
    last = ours[-1]  # File "/x/importer/readers/csv.py", line 12, in read
    path = last.split('"')[1] if '"' in last else last
    func = last.rsplit(" in ", 1)[-1]
    return f"{Path(path).name}:{func}"


def check(
    outcome: Outcome,
    names: list[str],
    baseline: dict[str, list[str]] | None,
    touched: set[str] | None,
    command: str,
) -> list[Problem]:
    """Every invariant of one run; ``touched`` None means every conversation was touched."""
    problems: list[Problem] = []
    exc = outcome.exception
    if exc is not None and not isinstance(exc, SystemExit):
        last = outcome.traceback.strip().splitlines()[-1] if outcome.traceback else repr(exc)
        sig = f"crash:{type(exc).__name__}:{_innermost(outcome.traceback)}"
        return [Problem("crash", last + "\n" + outcome.traceback[-3000:], sig)]
    code = outcome.exit_code
    if code not in (0, 1, 2):
        return [Problem("exit", f"exit {code}: {outcome.stderr[-500:]}", f"exit:{code}")]
    if code == 2:  # log lines ("importer: ...") may come first; one error line naming a file
        lines = [ln for ln in outcome.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if not ln.startswith("importer: ")]
        if len(errors) != 1 or not any(name in errors[0] for name in names):
            problems.append(
                Problem("exit2-message", f"exit 2 with stderr {outcome.stderr[-800:]!r}", "exit2")
            )
        return problems
    report = outcome.report
    if report is None:
        return [Problem("count", f"exit {code} but no report", "count:no-report")]
    total, valid, invalid = (report.get(k) for k in ("source_conversations", "valid", "invalid"))
    if not (isinstance(total, int) and isinstance(valid, int) and isinstance(invalid, int)) or (
        total != valid + invalid
    ):
        problems.append(
            Problem("count", f"source_conversations {total} != valid {valid} + invalid {invalid}")
        )
    if command == "convert" and baseline is not None and touched is not None:
        lost, changed, twice = [], [], []
        for source_id, lines in sorted(baseline.items()):
            if source_id in touched or len(lines) != 1:
                continue
            got = outcome.converted.get(source_id, [])
            if not got:
                lost.append(source_id)
            elif len(got) > 1:
                twice.append(source_id)
            elif got[0] != lines[0]:
                changed.append(source_id)
        for kind, ids in (("lost", lost), ("changed", changed), ("duplicated", twice)):
            if ids:
                detail = f"untouched conversations {kind}: {ids[:10]} ({len(ids)} in all)"
                if kind == "changed":
                    detail += "\nseed:  " + baseline[ids[0]][0][:600]
                    detail += "\nfound: " + outcome.converted[ids[0]][0][:600]
                problems.append(Problem(kind, detail))
    if outcome.rss_growth > MAX_RSS_GROWTH:
        detail = f"peak RSS rose {outcome.rss_growth >> 20} MiB in one run"
        problems.append(Problem("memory", detail, "memory"))
    return problems


class Runner:
    """Runs cases; remembers each seed's baseline and each record's conversations."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.baselines: dict[tuple[str, str, bool], Outcome] = {}
        self.deps: dict[tuple[str, str, bool, frozenset[int]], set[str] | None] = {}
        self.count = 0

    def _run_tree(
        self, tree: dict[str, bytes], case: Case, command: str | None = None
    ) -> tuple[Outcome, list[str]]:
        self.count += 1
        root = self.tmp / f"case{self.count}" / "export"
        root.mkdir(parents=True)
        write_tree(root, tree)
        names = [str(root), *[Path(n).name for n in tree], *tree]
        target = root / "export.zip" if list(tree) == ["export.zip"] else root
        try:
            return run_cli(target, case, command), names
        finally:
            shutil.rmtree(root.parent, ignore_errors=True)

    def baseline(self, seed: Seed, case: Case) -> Outcome:
        key = (seed.reader, seed.name, case.format_given)
        if key not in self.baselines:
            self.baselines[key] = self._run_tree(seed.tree(), case, "convert")[0]
        return self.baselines[key]

    def unit_deps(self, seed: Seed, case: Case, units: frozenset[int]) -> set[str] | None:
        """The conversations whose output changes when ``units`` are left out (None: unknown)."""
        key = (seed.reader, seed.name, case.format_given, units)
        if key not in self.deps:
            base = self.baseline(seed, case).converted
            outcome = self._run_tree(drop_units(seed, set(units)), case, "convert")[0]
            crashed = outcome.exception is not None and not isinstance(
                outcome.exception, SystemExit
            )
            if crashed or outcome.exit_code not in (0, 1):
                self.deps[key] = None
            else:
                found = outcome.converted
                deps = {i for i in base if found.get(i) != base[i]}
                # a value changed, not left out: what shows a value of these records (left out,
                # a reader may fall back to the same value from elsewhere)
                poisoned = poison_units(seed, set(units))
                if poisoned is not None:
                    changed = self._run_tree(poisoned, case, "convert")[0]
                    if changed.exception is None or isinstance(changed.exception, SystemExit):
                        deps |= {i for i in base if changed.converted.get(i) != base[i]}
                self.deps[key] = deps
        return self.deps[key]

    def touched(self, seed: Seed, case: Case, mutated: Mutated) -> set[str] | None:
        if mutated.everything:
            return None
        base = self.baseline(seed, case).converted
        ids = {t for t in mutated.new_tokens if t in base}
        units = set(mutated.units)
        named = [i for i, u in enumerate(seed.units) if u.ids & mutated.new_tokens]
        if len(named) > MAX_DEP_UNITS:
            return None
        units.update(named)
        if not units:
            return ids
        # a touched record may join the conversations it names (a mail left out as an
        # auto-reply, its header cut off, replies in the thread of the message it names)
        linked = {token for unit in units for token in seed.units[unit].ids if len(token) > 3}
        ids |= {sid for sid, body in base.items() if any(t in json.dumps(body) for t in linked)}
        deps = self.unit_deps(seed, case, frozenset(units))
        return None if deps is None else ids | deps

    def run(self, case: Case) -> list[Problem]:
        seed = load_seed(case.reader, case.seed)
        mutated = apply(seed, case.mutations, MAX_RECORD_BYTES)
        base = self.baseline(seed, case)
        baseline = (
            base.converted
            if (base.exit_code in (0, 1) and base.exception is None)
            or ((isinstance(base.exception, SystemExit)) and base.exit_code in (0, 1))
            else None
        )
        touched = self.touched(seed, case, mutated) if baseline is not None else None
        outcome, names = self._run_tree(wrap(mutated.tree, case.wrap), case)
        problems = check(outcome, names, baseline, touched, case.command)
        ops = "+".join(sorted({m["op"] for m in case.mutations} | ({case.wrap} - {"none"})))
        for p in problems:
            if not p.signature:
                p.signature = f"{p.kind}:{ops or 'seed'}"
        return problems


def shrink(runner: Runner, case: Case, signature: str, budget: int = 60) -> Case:
    """A smaller case that still fails with ``signature``: mutations left out, parameters and
    options made plain, one change at a time (at most ``budget`` runs; hypothesis's own
    shrinking can take many minutes over cases this slow)."""

    kind = signature.split(":")[0]

    def same(problem: Problem) -> bool:  # a crash by its place; the rest by the invariant
        return problem.signature == signature if kind == "crash" else problem.kind == kind

    def fails(candidate: Case) -> bool:
        nonlocal budget
        if budget <= 0:
            return False
        budget -= 1
        return any(same(p) for p in runner.run(candidate))

    for i in range(len(case.mutations) - 1, -1, -1):
        if len(case.mutations) > 1:
            smaller = [m for j, m in enumerate(case.mutations) if j != i]
            candidate = Case(**{**case.to_json(), "mutations": smaller})
            if fails(candidate):
                case = candidate
    for option, plain in (("wrap", "none"), ("format_given", True), ("command", "convert")):
        if getattr(case, option) != plain:
            candidate = Case(**{**case.to_json(), option: plain})
            if fails(candidate):
                case = candidate
    for i in range(len(case.mutations)):
        for key in ("file", "unit", "a", "b"):
            value = int(case.mutations[i].get(key, 0))
            for smaller_value in (0, value // 2):
                if smaller_value >= value:
                    continue
                mutations = [dict(m) for m in case.mutations]
                mutations[i][key] = smaller_value
                candidate = Case(**{**case.to_json(), "mutations": mutations})
                if fails(candidate):
                    case = candidate
                    break
    return case
