"""The shape of the code, checked with ``ast``: at most three positional parameters (issue 21).

No function or method in importer/ takes more than three positional parameters (``self`` and
``cls`` not counted); from the fourth on they are keyword-only, so a call names them and two of
the same type cannot be swapped unnoticed. Excepted: the entries of :data:`ALLOWED`, whose
signature a framework fixes, and for now the folders of :data:`PENDING`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORTER = ROOT / "importer"
MAX_POSITIONAL = 3

#: ``"path::qualified name"`` -> why its signature is fixed (an aiohttp handler, a callback
#: protocol, ``__exit__``, an ast visitor, a click callback); none needs it today
ALLOWED: dict[str, str] = {}

#: code not yet converted: empty, all of importer/ keeps the rule (issue 21 is done); an entry
#: would be a folder ending in ``/`` (every file under it) or ``"<folder>/*.py"`` (only the files
#: directly in it)
PENDING: tuple[str, ...] = ()


def pending(key: str) -> bool:
    """Whether ``key`` (``"path::qualified name"``) is in a file :data:`PENDING` still excepts."""
    path = key.partition("::")[0]
    return any(
        path.rpartition("/")[0] == entry.removesuffix("/*.py")
        if entry.endswith("/*.py")
        else path.startswith(entry)
        for entry in PENDING
    )


def offenders(source: str, path: str) -> list[tuple[str, str]]:
    """``(key, message)`` for every def in ``source`` with more than :data:`MAX_POSITIONAL`
    positional parameters; ``key`` is ``"path::qualified name"`` as :data:`ALLOWED` has it."""
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{scope}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{scope}{child.name}"
                names = [a.arg for a in child.args.posonlyargs + child.args.args]
                if names and names[0] in ("self", "cls"):
                    names = names[1:]
                if len(names) > MAX_POSITIONAL:
                    found.append(
                        (
                            f"{path}::{name}",
                            f"{path}:{child.lineno} {name}: {len(names)} positional parameters "
                            f"({', '.join(names)}); put `*,` before {names[MAX_POSITIONAL]}",
                        )
                    )
                visit(child, f"{name}.<locals>.")
            else:
                visit(child, scope)

    visit(ast.parse(source, path), "")
    return found


def _all_offenders() -> list[tuple[str, str]]:
    return [
        found
        for file in sorted(IMPORTER.rglob("*.py"))
        for found in offenders(file.read_text(encoding="utf-8"), file.relative_to(ROOT).as_posix())
    ]


def test_no_def_in_importer_takes_more_than_three_positional_parameters() -> None:
    """Every def outside ALLOWED and the PENDING folders keeps to three positional parameters."""
    bad = [message for key, message in _all_offenders() if key not in ALLOWED and not pending(key)]
    assert not bad, "parameters past the third must be keyword-only:\n" + "\n".join(bad)


def test_allowed_entries_are_still_needed() -> None:
    """Every ALLOWED entry names a def that the check would otherwise report."""
    keys = {key for key, _ in _all_offenders()}
    stale = [key for key in ALLOWED if key not in keys]
    assert not stale, f"take these out of ALLOWED: {stale}"


SYNTHETIC = """
def three(a, b, c, *, d): ...
def four(a, b, c, d): ...
async def four_async(a, b, c, d=1): ...
def only_positional(a, b, /, c, d): ...
def star_too_late(a, b, c, d, *, e): ...
def star_args(a, b, c, *rest, d): ...
class Thing:
    def method(self, a, b, c): ...
    def wide(self, a, b, c, d): ...
    @classmethod
    def make(cls, a, b, c): ...
    @staticmethod
    def static(a, b, c, d): ...
    class Inner:
        def deep(self, a, b, c, d, e): ...
def outer():
    def inner(a, b, c, d): ...
    return lambda a, b, c, d: None
"""


def test_the_checker_finds_each_kind_of_offender() -> None:
    """The check is not vacuous: on a known source it names exactly the wide defs."""
    found = offenders(SYNTHETIC, "x.py")
    assert [key for key, _ in found] == [
        "x.py::four",
        "x.py::four_async",
        "x.py::only_positional",
        "x.py::star_too_late",
        "x.py::Thing.wide",
        "x.py::Thing.static",
        "x.py::Thing.Inner.deep",
        "x.py::outer.<locals>.inner",
    ]
    assert found[0][1] == "x.py:3 four: 4 positional parameters (a, b, c, d); put `*,` before d"
    assert "x.py:16 Thing.Inner.deep: 5 positional parameters" in found[6][1]
