"""Loads a format's default mapping (its reader's ``mapping.toml``, package data) and merges a
user's ``--mapping`` file over it. ``mappings/`` at the top of the repository holds copies of
the built-in readers' defaults for users to read and start an override from."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from importer.errors import MappingError


def merge_tables(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` over ``base``: tables key by key, anything else replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file, naming the file and line of a syntax error."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise MappingError(f"mapping file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(
            f"{path}: not valid TOML ({exc}); fix the file or leave out --mapping"
        ) from exc


def load_mapping(format_name: str, override: Path | None = None) -> dict[str, Any]:
    """The mapping of ``format_name``: its reader's default, ``override`` merged over."""
    from importer.readers.base import READERS  # the readers package imports this module

    reader = READERS.get(format_name)
    base = reader.default_mapping() if reader is not None else {}
    if override is None:
        return base
    extra = read_toml(override)
    unknown = sorted(set(extra) - set(base)) if base else []
    if unknown:
        raise MappingError(
            f"{override}: unknown table(s) {', '.join(unknown)} for format {format_name}; "
            f"known: {', '.join(sorted(base))}"
        )
    return merge_tables(base, extra)
