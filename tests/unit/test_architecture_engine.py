"""The engine's seams, checked with ``ast``: every signal handler is installed by one module.

``importer/commands/stopping.py`` is the one stop controller (its docstring says what a signal
does, in ``run`` and in the planning workers); a ``signal.signal`` or ``add_signal_handler``
call anywhere else would be a second one. The sandbox (``importer/sandbox/``) is a server of its
own and is excepted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

IMPORTER = Path(__file__).resolve().parents[2] / "importer"
STOP_MODULE = Path("commands/stopping.py")
EXCEPTED_FOLDER = "sandbox"


def signal_calls(tree: ast.Module) -> Iterator[int]:
    """The line of each call installing a signal handler: ``signal.signal`` (under any name the
    module or the function is imported as) and any ``.add_signal_handler``."""
    modules = {"signal"}
    functions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "signal"}
        elif isinstance(node, ast.ImportFrom) and node.module == "signal":
            functions |= {a.asname or a.name for a in node.names if a.name == "signal"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _installs_handler(node.func, modules, functions):
            yield node.lineno


def _installs_handler(func: ast.expr, modules: set[str], functions: set[str]) -> bool:
    if isinstance(func, ast.Name):
        return func.id in functions
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "add_signal_handler":
        return True
    return func.attr == "signal" and isinstance(func.value, ast.Name) and func.value.id in modules


def test_signal_calls_found_under_every_spelling() -> None:
    """The check finds a handler installed however the module or the function is named."""
    source = (
        "import signal\nimport signal as sig\nfrom signal import signal as on\n"
        "signal.signal(2, f)\nsig.signal(15, f)\non(2, f)\nloop.add_signal_handler(2, f)\n"
        "signal.getsignal(2)\n"
    )
    assert list(signal_calls(ast.parse(source))) == [4, 5, 6, 7]


def test_signal_handlers_only_in_the_stop_module() -> None:
    """No module of importer/ but commands/stopping.py (and the sandbox) installs a handler."""
    found = []
    for path in sorted(IMPORTER.rglob("*.py")):
        relative = path.relative_to(IMPORTER)
        if relative == STOP_MODULE or relative.parts[0] == EXCEPTED_FOLDER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{relative}:{line}" for line in signal_calls(tree)]
    assert found == []
    stop_module = ast.parse((IMPORTER / STOP_MODULE).read_text(encoding="utf-8"))
    assert list(signal_calls(stop_module))  # the check still sees the handlers where they are
