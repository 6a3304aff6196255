"""Modules of at most 400 lines and functions of at most 60 (decorators included), as ``ast``
measures them, everywhere in ``importer/`` (architecture.md: "Modules of 100 to 400 lines,
functions under 60")."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "importer"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _checked() -> list[tuple[str, Path]]:
    return [(p.relative_to(PACKAGE).as_posix(), p) for p in sorted(PACKAGE.rglob("*.py"))]


def _function_lengths(tree: ast.AST) -> list[tuple[str, int]]:
    lengths = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lengths.append((node.name, (node.end_lineno or node.lineno) - first + 1))
    return lengths


def test_no_module_over_400_lines() -> None:
    """Every module of importer/ has at most 400 lines."""
    long = {
        name: count
        for name, path in _checked()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert {} == long


def test_no_function_over_60_lines() -> None:
    """Every function of importer/, its decorators included, has at most 60 lines."""
    long = {
        f"{name}:{function}": count
        for name, path in _checked()
        for function, count in _function_lengths(ast.parse(path.read_text(encoding="utf-8")))
        if count > MAX_FUNCTION_LINES
    }
    assert {} == long
