"""The sandbox checks the importer with rules of its own: it imports nothing of the importer but
the error base (so the two can catch each other's mistakes)."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "importer" / "sandbox"
ALLOWED = {"importer.errors", "importer.sandbox", "importer"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_sandbox_imports_only_the_error_base_of_the_importer() -> None:
    offending = {
        f"{path.name}: {module}"
        for path in SANDBOX.rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] == "importer"
        and module not in ALLOWED
        and not module.startswith("importer.sandbox.")
    }
    assert offending == set()


def test_what_it_takes_from_the_error_base_is_the_base_alone() -> None:
    names: set[str] = set()
    for path in SANDBOX.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "importer.errors":
                names.update(alias.name for alias in node.names)
            if isinstance(node, ast.ImportFrom) and node.module == "importer":
                names.update(f"importer.{alias.name}" for alias in node.names)
    assert names <= {"ImporterError", "SandboxError", "importer.__version__"}, names
