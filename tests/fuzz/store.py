"""Failure files: ``tests/data/fuzz/<reader>/<short-hash>.json``, and the KNOWN_OPEN list.

A failure file holds the case, not its bytes: the reader, the seed's name (a key of
:data:`tests.fuzz.model.SEEDS`) and its digest when found, the mutation list with its parameters,
the wrap, ``format_given`` and the command, plus what went wrong then (``failure``: kind,
signature, detail). Replaying applies the mutations to the seed again (:mod:`tests.fuzz.mutations`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.fuzz.harness import Case, Problem
from tests.fuzz.model import ROOT, load_seed

FUZZ_DATA = ROOT / "tests" / "data" / "fuzz"
KNOWN_OPEN = FUZZ_DATA / "KNOWN_OPEN"


def case_name(case: Case) -> str:
    text = json.dumps(case.to_json(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def save_failure(case: Case, problem: Problem, found_by: str, folder: Path = FUZZ_DATA) -> Path:
    name = case_name(case)
    path = folder / case.reader / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "case": case.to_json(),
        "seed_digest": load_seed(case.reader, case.seed).digest,
        "failure": {"kind": problem.kind, "signature": problem.signature, "detail": problem.detail},
        "found_by": found_by,
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def saved_cases(folder: Path = FUZZ_DATA) -> list[Path]:
    return sorted(folder.glob("*/*.json"))


def load_failure(path: Path) -> tuple[Case, dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Case.from_json(data["case"]), data


def known_open(path: Path = KNOWN_OPEN) -> dict[str, str]:
    """Case names listed in KNOWN_OPEN (``<reader>/<name>  # why``), with the comment."""
    found: dict[str, str] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        entry, _, why = line.partition("#")
        entry = entry.strip()
        if entry:
            found[entry.removesuffix(".json")] = why.strip()
    return found


def known_open_signatures(folder: Path = FUZZ_DATA) -> set[tuple[str, str]]:
    """(reader, signature) of each KNOWN_OPEN case: failures the short run lets pass."""
    listed = known_open(folder / "KNOWN_OPEN")
    found = set()
    for path in saved_cases(folder):
        key = f"{path.parent.name}/{path.stem}"
        if key in listed:
            _, data = load_failure(path)
            found.add((path.parent.name, data["failure"]["signature"]))
    return found
