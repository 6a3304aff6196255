"""The shape of the code, checked with ``ast``: a platform lives in its own package only.

Outside ``importer/readers/<platform>/`` no module imports a platform's package or writes a
registered format name as a string (detection, ``importer formats``, ``--format`` and every
message listing formats loop over the registry). Excepted: the Help Scout API client
(``importer/helpscout/``) and the sandbox (``importer/sandbox/``), which are about Help Scout the
target, and the entries of :data:`ALLOWED`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from importer.readers.base import READERS

IMPORTER = Path(__file__).resolve().parents[2] / "importer"
READERS_DIR = IMPORTER / "readers"

#: folders of importer/ where a platform's name is not a format's
EXCEPTED_FOLDERS = ("helpscout", "sandbox")
#: (file relative to importer/, string) written on purpose; each says why
ALLOWED = {
    # verify's per-month summary counts conversations in Help Scout, the target, beside the
    # export's: the key names the target, not the helpscout format
    ("commands/verify_frames.py", "helpscout"),
    ("commands/verify_html.py", "helpscout"),
}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    """Every module of importer/ outside the platform packages and the excepted folders, as
    ``(path relative to importer/, its tree)``."""
    platform_dirs = {READERS_DIR / name for name in READERS.names}
    for path in sorted(IMPORTER.rglob("*.py")):
        relative = path.relative_to(IMPORTER)
        if relative.parts[0] in EXCEPTED_FOLDERS:
            continue
        if any(folder in path.parents for folder in platform_dirs):
            continue
        yield relative.as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imported(node: ast.AST) -> list[str]:
    """The dotted names an import statement brings in (``from a import b``: ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def test_no_module_outside_a_platform_package_imports_one() -> None:
    """No module outside importer/readers/<platform>/ imports a platform's package."""
    packages = {f"importer.readers.{name}" for name in READERS.names}
    offenders = [
        f"{path}:{node.lineno} imports {name}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        for name in _imported(node)
        if name in packages or _under(name, packages)
    ]
    assert offenders == []


def _under(name: str, packages: set[str]) -> bool:
    return any(name.startswith(f"{package}.") for package in packages)


def test_no_module_outside_a_platform_package_names_a_format() -> None:
    """No module outside importer/readers/<platform>/ has a string constant equal to a
    registered format name (but the commented :data:`ALLOWED`)."""
    names = set(READERS.names)
    offenders = [
        f"{path}:{node.lineno} {node.value!r}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and node.value in names
        and (path, node.value) not in ALLOWED
    ]
    assert offenders == []


def test_allowed_names_are_still_there() -> None:
    """Every entry of :data:`ALLOWED` is still written where it says (a stale one goes)."""
    for path, name in sorted(ALLOWED):
        tree = ast.parse((IMPORTER / path).read_text(encoding="utf-8"))
        constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        assert name in constants, (path, name)


# -- sizes (architecture.md: modules of 100 to 400 lines, functions under 60) ------------------

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _reader_modules() -> Iterator[tuple[str, str]]:
    for path in sorted(READERS_DIR.rglob("*.py")):
        yield path.relative_to(IMPORTER).as_posix(), path.read_text(encoding="utf-8")


def test_no_reader_module_is_over_400_lines() -> None:
    """No module of importer/readers/ is over :data:`MAX_MODULE_LINES` lines."""
    offenders = [
        f"{path}: {len(text.splitlines())} lines"
        for path, text in _reader_modules()
        if len(text.splitlines()) > MAX_MODULE_LINES
    ]
    assert not offenders, "\n".join(offenders)


def test_no_reader_function_is_over_60_lines() -> None:
    """No function of importer/readers/ (decorators and docstring included) is over
    :data:`MAX_FUNCTION_LINES` lines."""
    offenders = []
    for path, text in _reader_modules():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                length = node.end_lineno - first + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{path}:{node.lineno} {node.name}: {length} lines")
    assert not offenders, "\n".join(offenders)
