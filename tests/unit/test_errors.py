"""The error tree: its drawing names exactly the errors there are, and each is raised."""

from __future__ import annotations

import re
from pathlib import Path

import importer.errors as errors

ROOT = Path(__file__).resolve().parents[2] / "importer"


def defined() -> set[str]:
    return {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.ImporterError)
    }


def test_the_drawing_names_every_error_and_no_other() -> None:
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or ""))
    assert drawn | {"ImporterError"} == defined()


def test_every_error_but_the_bases_is_raised_somewhere() -> None:
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in ROOT.rglob("*.py") if path.name != "errors.py"
    )
    bases = {"ImporterError", "ApiError"}  # raised through their subclasses only
    never = sorted(
        name
        for name in defined() - bases
        if not re.search(rf"raise {name}\b|raise \w+\.{name}\b|= {name}\(", source)
    )
    assert never == []
