"""The files of an export: plain files, directories and zip archives, opened as binary streams.

An INPUT argument is a file, a directory (every file inside, recursively, sorted; hidden files and
``__MACOSX`` skipped) or a zip archive (recognised by content; members are streamed, never
extracted). Each file of the export becomes an :class:`InputFile` that knows its display name
(``path`` or ``archive.zip!member/path``), how to open itself, and how to resolve a relative
attachment path against its own folder without leaving the export's top folder.

A resolved attachment reference is a filesystem path or ``archive.zip!member``;
:func:`~importer.attachment_refs.read_attachment_bytes` reads either (in
:mod:`importer.attachment_refs`, so that the engine and the dead letters need no reader).
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from importer.attachment_refs import ARCHIVE_SEPARATOR
from importer.attachment_refs import attachment_size as attachment_size
from importer.attachment_refs import read_attachment_bytes as read_attachment_bytes
from importer.errors import InputError
from importer.findings import Finding
from importer.readers.limits import DEFAULT_LIMITS, ReadLimits, member_over_bound

SKIPPED_FOLDERS = frozenset({"__MACOSX"})


class AttachmentPathError(ValueError):
    """A relative attachment path cannot be used; the message says why."""


def _skipped(parts: Sequence[str]) -> bool:
    return any(part.startswith(".") or part in SKIPPED_FOLDERS for part in parts)


@dataclass(frozen=True)
class InputFile:
    """One file of the export: on disk (``path``) or in a zip archive (``archive``, ``member``)."""

    name: str  # what a person reads in a location: "export/tickets.json", "x.zip!a/tickets.json"
    top: Path  # the export's top folder on disk, or the archive itself
    path: Path | None = None
    archive: Path | None = None
    member: str | None = None
    limits: ReadLimits = DEFAULT_LIMITS  # the read layer's bounds (see importer.readers.limits)

    @property
    def folder(self) -> str:
        """The folder relative paths in this file resolve against (display form)."""
        if self.archive is not None and self.member is not None:
            return f"{self.archive}{ARCHIVE_SEPARATOR}{posixpath.dirname(self.member)}"
        assert self.path is not None
        return str(self.path.parent)

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """The file's bytes as a stream; a zip member is decompressed as it is read."""
        if self.archive is not None and self.member is not None:
            with zipfile.ZipFile(self.archive) as archive, archive.open(self.member) as stream:
                yield stream  # type: ignore[misc]
            return
        assert self.path is not None
        with self.path.open("rb") as stream:
            yield stream

    def resolve(self, relative: str) -> str:
        """The reference of ``relative`` (a path named in this file), checked to exist.

        Raises :class:`AttachmentPathError` when the path leaves the export's top folder or
        names no file.
        """
        if self.archive is not None and self.member is not None:
            return self._resolve_member(relative)
        assert self.path is not None
        target = (self.path.parent / relative).resolve()
        top = self.top.resolve()
        if not target.is_relative_to(top):
            raise AttachmentPathError(
                f"path {relative!r} leaves the export's top folder {self.top}; "
                "keep attachments inside the export"
            )
        if not target.is_file():
            raise AttachmentPathError(f"file {relative!r} not found next to {self.name}")
        return str(target)

    def _resolve_member(self, relative: str) -> str:
        assert self.archive is not None
        assert self.member is not None
        joined = posixpath.normpath(
            posixpath.join(posixpath.dirname(self.member), relative.replace("\\", "/"))
        )
        if joined.startswith(("../", "/")) or joined in ("..", "."):
            raise AttachmentPathError(
                f"path {relative!r} leaves the archive {self.archive}; "
                "keep attachments inside the export"
            )
        with zipfile.ZipFile(self.archive) as archive:
            try:
                archive.getinfo(joined)
            except KeyError:
                raise AttachmentPathError(
                    f"file {relative!r} not found in {self.archive} next to {self.member}"
                ) from None
        return f"{self.archive}{ARCHIVE_SEPARATOR}{joined}"


def _archive_files(
    archive: Path, limits: ReadLimits, skipped: list[Finding]
) -> Iterator[InputFile]:
    """The members of ``archive`` within the bounds; one finding in ``skipped`` per member over
    a bound (by its declared sizes: zipfile inflates no further than the declared size)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            infos = sorted(
                (info for info in zipped.infolist() if not info.is_dir()),
                key=lambda info: info.filename,
            )
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{archive}: not a readable zip archive ({exc})") from exc
    for info in infos:
        member = info.filename
        if _skipped(member.split("/")):
            continue
        name = f"{archive}{ARCHIVE_SEPARATOR}{member}"
        why = member_over_bound(name, info.file_size, info.compress_size, limits=limits)
        if why is not None:
            skipped.append(Finding("read", "member_over_bound", why, name))
            continue
        yield InputFile(name=name, top=archive, archive=archive, member=member, limits=limits)


def _directory_files(folder: Path, limits: ReadLimits) -> Iterator[InputFile]:
    found = sorted(
        (path for path in folder.rglob("*") if path.is_file()),
        key=lambda path: path.relative_to(folder).parts,
    )
    for path in found:
        if _skipped(path.relative_to(folder).parts):
            continue
        yield InputFile(name=str(path), top=folder, path=path, limits=limits)


def list_input_files(
    inputs: Sequence[Path], limits: ReadLimits = DEFAULT_LIMITS
) -> list[InputFile]:
    """Every file of the given INPUT arguments that is within the bounds, in order (see
    :func:`list_export_files` for the archive members over a bound)."""
    return list_export_files(inputs, limits)[0]


def list_export_files(
    inputs: Sequence[Path], limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[list[InputFile], list[Finding]]:
    """Every file of the given INPUT arguments, in order, each carrying ``limits``; and one
    finding per archive member skipped for a bound. A missing input is an ``InputError``."""
    files: list[InputFile] = []
    skipped: list[Finding] = []
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise InputError(
                f"input not found: {path}; check the path, or give the export's file, "
                "folder or .zip archive"
            )
        if path.is_dir():
            files.extend(_directory_files(path, limits))
        elif zipfile.is_zipfile(path):
            files.extend(_archive_files(path, limits, skipped))
        else:
            try:
                with path.open("rb"):
                    pass
            except OSError as exc:
                raise InputError(f"input cannot be read: {path} ({exc.strerror})") from exc
            files.append(InputFile(name=str(path), top=path.parent, path=path, limits=limits))
    return _once_each(files), skipped


def _once_each(files: list[InputFile]) -> list[InputFile]:
    """The files with each one kept once (``export/ export/a.json`` reads ``a.json`` once)."""
    seen: set[tuple[Path, str | None]] = set()
    kept = []
    for input_file in files:
        on_disk = input_file.archive or input_file.path
        assert on_disk is not None
        key = (on_disk.resolve(), input_file.member)
        if key not in seen:
            seen.add(key)
            kept.append(input_file)
    return kept
