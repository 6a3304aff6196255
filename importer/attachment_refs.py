"""Resolved attachment references: a filesystem path, or ``archive.zip!member``.

Why a module of its own: the readers resolve an attachment's place in the export
(:mod:`importer.readers.inputs`), and the engine (uploads after creation), the dead letters
(the file re-fed as base64) and the readers all read it back; none of them should depend on the
readers' input handling for that.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from importer.errors import InputError

#: between an archive's path and a member's name in a reference
ARCHIVE_SEPARATOR = "!"


def split_reference(ref: str) -> tuple[Path, str] | None:
    """``(archive, member)`` when ``ref`` names a zip member, else ``None``."""
    start = 0
    while (index := ref.find(ARCHIVE_SEPARATOR, start)) != -1:
        candidate = Path(ref[:index])
        if candidate.is_file() and zipfile.is_zipfile(candidate):
            return candidate, ref[index + 1 :]
        start = index + 1
    return None


def read_attachment_bytes(ref: str) -> bytes:
    """The bytes of a resolved attachment reference (a path, or ``archive.zip!member``)."""
    path = Path(ref)
    if path.is_file():
        return path.read_bytes()
    split = split_reference(ref)
    if split is None:
        raise InputError(f"attachment file not found: {ref}; was it moved after reading?")
    archive, member = split
    with zipfile.ZipFile(archive) as zipped:
        try:
            return zipped.read(member)
        except KeyError:
            raise InputError(f"attachment {member} not found in {archive}") from None


def attachment_size(ref: str) -> int:
    """The size in bytes of a resolved attachment reference."""
    path = Path(ref)
    if path.is_file():
        return path.stat().st_size
    split = split_reference(ref)
    if split is None:
        raise InputError(f"attachment file not found: {ref}")
    archive, member = split
    with zipfile.ZipFile(archive) as zipped:
        try:
            return zipped.getinfo(member).file_size
        except KeyError:
            raise InputError(f"attachment {member} not found in {archive}") from None
