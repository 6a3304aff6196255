"""Issue 19: every reader fuzzed with mutated seeds, the saved failures replayed, and proof that
each invariant check catches what it is there to catch.

The short run (``make test``): ``FUZZ_EXAMPLES`` cases per reader (default 30), a fixed seed
(``derandomize=True``). A failure it finds whose signature belongs to a case listed in
``tests/data/fuzz/KNOWN_OPEN`` is let pass (a crash by its exception and place, another broken
invariant by its kind and reader); anything else fails the test. ``make fuzz`` runs
longer and saves what it finds (``scripts/fuzz.py``).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz import harness
from tests.fuzz.harness import Case, Outcome, Problem, Runner, check
from tests.fuzz.model import READERS, load_seed
from tests.fuzz.mutations import apply
from tests.fuzz.store import (
    KNOWN_OPEN,
    case_name,
    known_open,
    known_open_signatures,
    load_failure,
    save_failure,
    saved_cases,
)
from tests.fuzz.strategies import cases

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
_RUNNER: Runner | None = None


def runner() -> Runner:
    """One runner per test process: seeds' baselines and records' conversations are kept."""
    global _RUNNER
    if _RUNNER is None:
        tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
        atexit.register(shutil.rmtree, tmp, True)
        _RUNNER = Runner(tmp)
    return _RUNNER


def describe(case: Case, problems: list[Problem]) -> str:
    text = json.dumps(case.to_json())
    return "\n".join(f"{p.signature}: {p.detail}" for p in problems) + f"\ncase: {text}"


@pytest.mark.parametrize("reader", READERS)
def test_short_run(reader: str) -> None:
    allowed = {sig for r, sig in known_open_signatures() if r == reader}
    # a crash is let pass by its place; another broken invariant by its kind (lost, changed...)
    allowed |= {sig.split(":")[0] for sig in allowed if not sig.startswith("crash:")}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking here: make fuzz shrinks
        report_multiple_bugs=False,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(reader))
    def prop(case: Case) -> None:
        problems = [
            p for p in runner().run(case) if p.signature not in allowed and p.kind not in allowed
        ]
        assert not problems, describe(case, problems)

    prop()


def _saved() -> list[Any]:
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in saved_cases()]


@pytest.mark.parametrize("path", _saved())
def test_replay_saved_failure(path: Path) -> None:
    case, data = load_failure(path)
    problems = runner().run(case)
    if not problems:
        return
    listed = known_open()
    key = f"{path.parent.name}/{path.stem}"
    if key in listed:
        pytest.xfail(f"KNOWN_OPEN: {listed[key] or data['failure']['signature']}")
    pytest.fail(describe(case, problems))


def test_known_open_names_saved_cases() -> None:
    names = {f"{p.parent.name}/{p.stem}" for p in saved_cases()}
    assert set() == set(known_open()) - names, f"{KNOWN_OPEN} lists cases that are not saved"


# --- the checks catch what they are there to catch -------------------------------------------

NAMES = ["/x/export", "tickets.json"]
BASE = {"1": ['{"source_id": "1"}'], "2": ['{"source_id": "2", "a": 1}']}


def outcome(
    code: int = 0,
    exc: BaseException | None = None,
    stderr: str = "",
    report: dict[str, Any] | None = None,
    converted: dict[str, list[str]] | None = None,
) -> Outcome:
    if report is None:
        report = {"source_conversations": 2, "valid": 2, "invalid": 0}
    return Outcome(code, exc, "", stderr, report, dict(BASE) if converted is None else converted)


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


def test_check_passes_a_clean_run() -> None:
    assert [] == check(outcome(), NAMES, BASE, set(), "convert")


def test_check_reports_a_crash() -> None:
    assert ["crash"] == kinds(check(outcome(1, ValueError("boom")), NAMES, BASE, set(), "convert"))


def test_check_reports_an_exit_code_outside_the_contract() -> None:
    assert ["exit"] == kinds(check(outcome(3, SystemExit(3)), NAMES, BASE, set(), "convert"))


def test_check_wants_one_line_naming_the_file_on_exit_2() -> None:
    good = outcome(2, SystemExit(2), "Error: tickets.json: unreadable\n", None, {})
    assert [] == check(good, NAMES, BASE, set(), "convert")
    two = outcome(2, SystemExit(2), "Error: tickets.json\nmore\n", None, {})
    assert ["exit2-message"] == kinds(check(two, NAMES, BASE, set(), "convert"))
    nameless = outcome(2, SystemExit(2), "Error: something\n", None, {})
    assert ["exit2-message"] == kinds(check(nameless, NAMES, BASE, set(), "convert"))


def test_check_reports_counts_that_do_not_add_up() -> None:
    bad = outcome(report={"source_conversations": 3, "valid": 2, "invalid": 0})
    assert ["count"] == kinds(check(bad, NAMES, BASE, set(), "validate"))


def test_check_reports_a_lost_changed_or_doubled_untouched_conversation() -> None:
    lost = outcome(converted={"2": BASE["2"]})
    assert ["lost"] == kinds(check(lost, NAMES, BASE, set(), "convert"))
    assert [] == check(lost, NAMES, BASE, {"1"}, "convert")  # touched: not compared
    changed = outcome(converted={"1": BASE["1"], "2": ['{"source_id": "2", "a": 2}']})
    assert ["changed"] == kinds(check(changed, NAMES, BASE, set(), "convert"))
    twice = outcome(converted={"1": BASE["1"] * 2, "2": BASE["2"]})
    assert ["duplicated"] == kinds(check(twice, NAMES, BASE, set(), "convert"))


def test_check_reports_memory_past_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    grown = outcome()
    grown.rss_growth = 600 << 20
    assert ["memory"] == kinds(check(grown, NAMES, BASE, set(), "convert"))
    monkeypatch.setattr(harness, "MAX_RSS_GROWTH", 700 << 20)
    assert [] == check(grown, NAMES, BASE, set(), "convert")


def test_a_planted_reader_crash_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import importer.commands.validate as validate

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("planted")

    fresh = Runner(Path(tempfile.mkdtemp(prefix="fuzz-planted-")))
    case = Case("canonical", "samples/canonical", [{"op": "flip", "unit": 3, "a": 5, "b": 1}])
    fresh.baseline(load_seed(case.reader, case.seed), case)
    monkeypatch.setattr(validate, "_count", boom)  # outside every conversation's own net
    problems = fresh.run(case)
    assert ["crash"] == kinds(problems)
    assert "KeyError" in problems[0].signature


def test_a_planted_lost_conversation_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import importer.commands.validate as validate

    real = validate.planned_conversations
    seed = load_seed("canonical", "samples/canonical")
    case = Case("canonical", seed.name, [{"op": "flip", "unit": 3, "a": 5, "b": 1}])
    fresh = Runner(Path(tempfile.mkdtemp(prefix="fuzz-planted-")))
    base = fresh.baseline(seed, case).converted
    fresh.touched(seed, case, apply(seed, case.mutations, harness.MAX_RECORD_BYTES))
    victim = sorted(base)[-1]

    def losing(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return (p for p in real(*args, **kwargs) if p.source_id != victim)

    monkeypatch.setattr(validate, "planned_conversations", losing)
    problems = fresh.run(case)
    assert "lost" in kinds(problems), problems
    assert victim in next(p.detail for p in problems if p.kind == "lost")


def test_touched_conversations_are_exactly_the_mutated_records() -> None:
    seed = load_seed("canonical", "samples/canonical")
    case = Case("canonical", seed.name, [{"op": "drop", "unit": 4}])
    mutated = apply(seed, case.mutations, harness.MAX_RECORD_BYTES)
    touched = runner().touched(seed, case, mutated)
    assert {json.loads(seed.units[4].data)["source_id"]} == touched


def test_a_failure_file_round_trips(tmp_path: Path) -> None:
    case = Case("csv", "samples/csv", [{"op": "flip", "unit": 1, "a": 2, "b": 3}], "zip")
    path = save_failure(case, Problem("crash", "x", "crash:X"), "test", folder=tmp_path)
    assert f"{case_name(case)}.json" == path.name
    assert case == load_failure(path)[0]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_case_with_two_jobs_is_built_and_planned_in_the_workers(
    monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """A case drawn with ``jobs=2`` stages its export in the staging workers, in small runs, and
    reads it through the planning workers (slices of the staging store), in small batches, so
    the fuzzer checks both paths too; one job never does."""
    from importer.planning import pool
    from importer.readers import ordered_work

    submitted: list[int] = []
    staged: list[int] = []
    real = pool.PlanningPool._submit
    real_put = ordered_work.OrderedWork.put

    def counted(self: pool.PlanningPool, batch: Any) -> Any:
        submitted.append(1)
        return real(self, batch)

    def counted_put(self: Any, piece: Any) -> Any:
        staged.append(1)
        return real_put(self, piece)

    monkeypatch.setattr(pool.PlanningPool, "_submit", counted)
    monkeypatch.setattr(ordered_work.OrderedWork, "put", counted_put)
    swap = [{"op": "swap", "file": 0, "unit": 3, "a": 7, "b": 0}]
    case = Case("zendesk", "samples/zendesk", swap, jobs=jobs)
    assert [] == runner().run(case)
    assert (jobs == 2) == (len(submitted) > 3)
    assert (jobs == 2) == (len(staged) > 3)
