"""The checkpoint by composition, checked with ``ast``: ``Checkpoint`` inherits from none of
its logs, and no collaborator is handed the whole checkpoint where it uses one log only.

A function parameter or a class field annotated ``Checkpoint`` must be used for at least two
of its logs (``.parts``, ``.customers``, ``.uploads``, ``.errors``), or as the whole file
(``.header``, ``.path``, ``.store``, ``.close``), or handed on whole (to a call that is itself
checked); one log used alone means the collaborator should be given that log.
"""

from __future__ import annotations

import ast
from pathlib import Path

IMPORTER = Path(__file__).resolve().parents[2] / "importer"
LOGS = {"parts", "customers", "uploads", "errors", "undo"}
WHOLE = {"header", "path", "store", "close"}


def _annotated_checkpoint(annotation: ast.expr | None) -> bool:
    return annotation is not None and "Checkpoint" in {
        n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)
    }


def _uses(body: ast.AST, name: str, *, through_self: bool) -> tuple[set[str], bool]:
    """The attributes read on ``name`` (or ``self.name``) inside ``body``, and whether it is
    passed on whole (an argument of a call, or a ``with`` target)."""
    attrs: set[str] = set()
    handed_on = False

    def is_it(node: ast.expr) -> bool:
        if through_self:
            return (
                isinstance(node, ast.Attribute)
                and node.attr == name
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            )
        return isinstance(node, ast.Name) and node.id == name

    for node in ast.walk(body):
        if isinstance(node, ast.Attribute) and is_it(node.value):
            attrs.add(node.attr)
        elif isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            handed_on = handed_on or any(is_it(a) for a in args)
        elif isinstance(node, ast.Assign) and is_it(node.value):
            handed_on = True  # kept (``self.x = checkpoint``): checked where it is used
    return attrs, handed_on


def _kept_on_self(cls: ast.ClassDef) -> set[str]:
    """Attributes a method sets from a parameter annotated ``Checkpoint``."""
    kept = set()
    for method in cls.body:
        if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        params = {
            a.arg
            for a in [*method.args.args, *method.args.kwonlyargs]
            if _annotated_checkpoint(a.annotation)
        }
        for node in ast.walk(method):
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(value, ast.Name) and value.id in params:
                assert isinstance(node, ast.Assign)
                kept |= {t.attr for t in node.targets if isinstance(t, ast.Attribute)}
    return kept


def whole_checkpoint_misuses(tree: ast.Module) -> list[str]:
    """Every parameter or field given the whole ``Checkpoint`` that uses one log of it only."""
    found = []
    for node in ast.walk(tree):
        holders: list[tuple[str, ast.AST, bool]] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]
            holders += [(a.arg, node, False) for a in args if _annotated_checkpoint(a.annotation)]
        elif isinstance(node, ast.ClassDef):
            holders += [
                (item.target.id, node, True)
                for item in node.body
                if isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and _annotated_checkpoint(item.annotation)
            ]
            holders += [(name, node, True) for name in _kept_on_self(node)]
        for name, scope, through_self in holders:
            attrs, handed_on = _uses(scope, name, through_self=through_self)
            if handed_on or attrs & WHOLE or len(attrs & LOGS) >= 2:
                continue
            found.append(f"{getattr(scope, 'name', '?')}:{name} uses {sorted(attrs) or 'nothing'}")
    return found


def test_the_check_finds_a_collaborator_given_the_whole_checkpoint() -> None:
    """One log used through a whole checkpoint is found; two logs, the file, or handing it on
    are not."""
    source = (
        "def one(checkpoint: Checkpoint):\n    checkpoint.parts.part('a', 1)\n"
        "def two(checkpoint: Checkpoint):\n    checkpoint.parts.part(1)\n"
        "    checkpoint.errors.log_error()\n"
        "def whole(cp: Checkpoint):\n    return cp.header\n"
        "def on(cp: Checkpoint):\n    helper(cp)\n"
        "class Held:\n    checkpoint: Checkpoint\n"
        "    def f(self):\n        self.checkpoint.uploads.upload_states()\n"
        "class Kept:\n    def __init__(self, cp: Checkpoint):\n        self.cp = cp\n"
        "    def f(self):\n        self.cp.customers.customer_id()\n"
    )
    assert {
        "one:checkpoint uses ['parts']",
        "Held:checkpoint uses ['uploads']",
        "Kept:cp uses ['customers']",
    } == set(whole_checkpoint_misuses(ast.parse(source)))


def test_no_collaborator_is_handed_the_whole_checkpoint_for_one_log() -> None:
    found = []
    for path in sorted(IMPORTER.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(IMPORTER)}: {m}" for m in whole_checkpoint_misuses(tree)]
    assert [] == found


def test_checkpoint_is_composed_not_inherited() -> None:
    """``Checkpoint`` has no base class and owns its four logs as attributes."""
    from importer.pipeline.checkpoint import (
        Checkpoint,
        CustomersLog,
        ErrorLog,
        PartsLog,
        UploadsLog,
    )

    assert (object,) == Checkpoint.__bases__
    source = (IMPORTER / "pipeline" / "checkpoint" / "__init__.py").read_text(encoding="utf-8")
    (init,) = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.FunctionDef) and n.name == "__init__"
    ]
    built = {
        t.attr: v.func.id
        for n in ast.walk(init)
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Attribute)
        and isinstance((v := n.value), ast.Call)
        and isinstance(v.func, ast.Name)
    }
    wanted = {
        "parts": PartsLog.__name__,
        "customers": CustomersLog.__name__,
        "uploads": UploadsLog.__name__,
        "errors": ErrorLog.__name__,
    }
    assert wanted.items() <= built.items()


def test_the_engine_and_the_dead_letters_need_no_reader_input_handling() -> None:
    """``pipeline/`` and ``deadletter.py`` read attachments through ``attachment_refs``, never
    through ``importer.readers.inputs`` (the readers' own input handling)."""
    engine = [*sorted((IMPORTER / "pipeline").rglob("*.py")), IMPORTER / "deadletter.py"]
    found = []
    for path in engine:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "importer.readers.inputs" for n in names):
                found.append(f"{path.relative_to(IMPORTER)}:{node.lineno}")
    assert [] == found
