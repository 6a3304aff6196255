"""Loads a format's default mapping (its reader's ``mapping.toml``, package data) and merges a
user's ``--mapping`` file over it. ``mappings/`` at the top of the repository holds copies of
the built-in readers' defaults for users to read and start an override from."""

from __future__ import annotations

import stat
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


def read_toml(path: Path, what: str = "mapping file") -> dict[str, Any]:
    """Read one TOML file, naming the file and line of a syntax error. Only a regular file is
    read: a pipe (``--mapping <(...)``) would read empty the second time the export is opened,
    and the mapping be silently left out."""
    try:
        mode = path.stat().st_mode  # before opening: a named pipe with no writer would block
        if stat.S_ISDIR(mode):
            raise MappingError(f"{what} {path} is a directory: give a TOML file")
        if not stat.S_ISREG(mode):
            raise MappingError(
                f"{what} {path} is not a regular file (a pipe or a device is read only "
                "once, and the mapping is read more than once): save it to a file and "
                "give that"
            )
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise MappingError(f"{what} not found: {path}") from exc
    except OSError as exc:
        raise MappingError(f"{what} {path} cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"{what} {path}: not UTF-8 ({exc.reason}); save the file as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{what} {path}: not valid TOML ({exc}); fix the file") from exc


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
