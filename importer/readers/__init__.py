"""Readers: turn an export (files, folders, zip archives) into canonical conversation dicts.

::

    with open_export([Path("export/")]) as export:      # format recognised from content
        for record in export.records():                 # one SourceRecord per conversation
            ...

``open_export`` raises an ``ImporterError`` (exit 2) for what stops everything before reading:
a missing input, an unknown or unfitting format, a bad mapping. A record that cannot be parsed
is not an exception: it comes out as a ``SourceRecord`` with ``error`` set.

Formats are the readers of the registry (:mod:`importer.readers.base`); this module only loops
over it. ``FORMATS`` (every format's :class:`FormatInfo`, available or not) is computed on first
use, so that importing this package imports no platform reader.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from importer.errors import FormatError, UsageError
from importer.findings import Finding
from importer.mappings import load_mapping
from importer.readers.base import READERS, Reader, RoleFile, without_conversations
from importer.readers.batches import BATCH_SIZE, ReadRecords, RecordBatch
from importer.readers.closing import Closing
from importer.readers.detect import (
    CsvSniffer,
    assign_roles,
    choose_format,
    detect_file,
    settle_open_files,
    unreadable_files,
)
from importer.readers.inputs import list_export_files, read_attachment_bytes
from importer.readers.limits import DEFAULT_LIMITS, ReadLimits
from importer.readers.source import FormatInfo, SourceRecord

log = logging.getLogger("importer.read")

__all__ = [
    "FORMATS",
    "READERS",
    "Export",
    "FormatInfo",
    "SourceRecord",
    "open_export",
    "read_attachment_bytes",
]


def __getattr__(name: str) -> dict[str, FormatInfo]:
    if name == "FORMATS":
        return READERS.infos()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Export(Closing):
    """An opened export: its format, mapping and files by role. Use it as a context manager.

    ``warnings`` are the export's own findings (streams or files passed over); they go with the
    first conversation :meth:`records` yields, so every report shows them once; when the export
    yields no conversation at all, they come in one invalid record of their own (code
    ``no_conversations``) rather than being lost. ``unread`` are the invalid records of what
    could not be read at all (an archive member over a bound): they come first.
    """

    def __init__(
        self,
        reader: Reader,
        mapping: dict[str, Any],
        inputs: Sequence[Path],
        *,
        files_by_role: Mapping[str, Sequence[RoleFile]],
        warnings: Sequence[Finding] = (),
        unread: Sequence[SourceRecord] = (),
    ) -> None:
        self.reader = reader
        self.format = reader.info.name
        self.mapping = mapping
        self.inputs = [str(path) for path in inputs]
        self.files_by_role = files_by_role
        self.files: list[str] = list(
            dict.fromkeys(rf.file.name for files in files_by_role.values() for rf in files)
        )
        self.warnings = list(warnings)
        self.unread = list(unread)
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    def records(self) -> Iterator[SourceRecord]:
        """Every conversation of the export, one at a time, in source order."""
        folder = self._read_folder()
        pending = list(self.warnings)
        yield from self.unread
        yielded = False
        try:
            for record in self.reader.read(self.files_by_role, self.mapping, folder):
                if pending:
                    record.warnings[:0] = pending
                    pending = []
                yielded = True
                yield record
        except FormatError as exc:  # nothing to read: the export's warnings still reach the report
            if yielded or not pending:
                raise
            yield without_conversations(str(exc), pending)
            return
        if pending:
            yield self.without_conversations(pending)

    def without_conversations(self, warnings: Sequence[Finding]) -> SourceRecord:
        """The invalid record that carries the export's ``warnings`` when it holds no
        conversation at all."""
        return without_conversations(
            f"the export holds no {self.format} conversation: check that its files are "
            "the ones the export gave, or see `importer formats` for what each format reads",
            warnings,
        )

    def record_batches(self, size: int = BATCH_SIZE) -> Iterator[RecordBatch]:
        """:meth:`records` in batches (of about ``size`` conversations) a worker process can
        read and plan (``--jobs``). The
        export's ``warnings`` are not in them: the planner puts them on the first conversation
        planned, or on :meth:`without_conversations` when there is none (when the export cannot
        be read at all, its one invalid record carries them and ``warnings`` is emptied)."""
        folder = self._read_folder()
        if self.unread:
            yield ReadRecords(list(self.unread))
        yielded = False
        try:
            for batch in self.reader.record_batches(
                self.files_by_role, self.mapping, folder, size=size
            ):
                yielded = True
                yield batch
        except FormatError as exc:  # nothing to read: the export's warnings still reach the report
            if yielded or not self.warnings:
                raise
            given, self.warnings = self.warnings, []
            yield ReadRecords([without_conversations(str(exc), given)])

    def _read_folder(self) -> Path:
        """An empty folder of one read, for staging (removed with the export)."""
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix=f"importer-{self.format}-")
        return Path(tempfile.mkdtemp(dir=self._workdir.name))

    def close(self) -> None:
        """Remove the temporary staging files."""
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


def _not_registered(format_name: str) -> FormatError:
    return FormatError(
        f"no reader of {format_name} is registered; convert the export to canonical JSONL "
        "(`importer convert --schema` prints the shape) or to the generic CSV layout"
    )


def _sniffing_mapping(
    reader: Reader, format_name: str | None, mapping_file: Path | None
) -> dict[str, Any]:
    """The mapping a CSV-reading reader judges headers with: the user's when it fits."""
    name = reader.info.name
    if mapping_file is not None and format_name in (None, name):
        try:
            mapping = load_mapping(name, mapping_file)
            reader.check_mapping(mapping)
            return mapping
        except UsageError:
            if format_name == name:
                raise
    return load_mapping(name)


def _csv_sniffers(format_name: str | None, mapping_file: Path | None) -> list[CsvSniffer]:
    return [
        (reader, _sniffing_mapping(reader, format_name, mapping_file))
        for reader in READERS
        if reader.sniffs_csv
    ]


def _unread_file(finding: Finding) -> SourceRecord:
    """The invalid record of a file that is not read: an archive member over a bound, or a JSON
    file none of whose first records can be parsed."""
    location = finding.location or "export"
    return SourceRecord(location, None, None, error=finding)


def open_export(
    inputs: Sequence[Path],
    format_name: str | None = None,
    mapping_file: Path | None = None,
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Export:
    """Open the export made of ``inputs``: list its files (each read within ``limits``),
    recognise or check its format and the role of each file."""
    if format_name is not None and format_name not in READERS.names:
        raise UsageError(
            f"unknown format {format_name!r}; choose one of {', '.join(READERS.names)} "
            "or leave --format out"
        )
    files, skipped = list_export_files(inputs, limits)
    for finding in skipped:
        log.warning("%s", finding.message)
    if not files and skipped:
        raise FormatError(
            "the input holds no file that can be read: "
            + "; ".join(finding.message for finding in skipped)
        )
    sniffers = _csv_sniffers(format_name, mapping_file)
    detected = settle_open_files([detect_file(f, sniffers) for f in files], format_name)
    explicit = {str(Path(p)) for p in inputs if Path(p).is_file()}
    chosen_format, chosen = choose_format(detected, format_name, explicit)
    reader = READERS.get(chosen_format)
    if reader is None:
        raise _not_registered(chosen_format)
    mapping = load_mapping(chosen_format, mapping_file)
    reader.check_mapping(mapping)  # a wrong mapping stops here, before anything is read
    # a file of no known format given alone (trusted with --format) is read by the reader,
    # which warns once of each stream of it that it passes over: the export does not as well
    trusted = [d for d in chosen if d.format is None]
    told = [d for d in detected if d not in trusted]
    files_by_role, warnings = assign_roles(reader, told, chosen)
    for finding in (unreadable := unreadable_files(detected, chosen)):
        log.warning("%s", finding.message)
    unread = [_unread_file(finding) for finding in [*skipped, *unreadable]]
    return Export(
        reader, mapping, inputs, files_by_role=files_by_role, warnings=warnings, unread=unread
    )
