"""Readers: turn an export (files, folders, zip archives) into canonical conversation dicts.

::

    with open_export([Path("export/")]) as export:      # format recognised from content
        for record in export.records():                 # one SourceRecord per conversation
            ...

``open_export`` raises an ``ImporterError`` (exit 2) for what stops everything before reading:
a missing input, an unknown or unfitting format, a bad mapping. A record that cannot be parsed
is not an exception: it comes out as a ``SourceRecord`` with ``error`` set.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from importer.errors import FormatError, UsageError
from importer.mappings import load_mapping
from importer.readers.canonical import read_canonical
from importer.readers.csv_mapping import CsvColumns, csv_columns
from importer.readers.detect import DetectedFile, choose_format, file_kind
from importer.readers.generic_csv import read_generic_csv
from importer.readers.inputs import InputFile, list_input_files, read_attachment_bytes
from importer.readers.source import FormatInfo, SourceRecord

__all__ = [
    "FORMATS",
    "Export",
    "FormatInfo",
    "SourceRecord",
    "open_export",
    "read_attachment_bytes",
]

FORMATS: dict[str, FormatInfo] = {
    info.name: info
    for info in (
        FormatInfo(
            "canonical",
            "the importer's own JSONL, one conversation per line (output of `importer convert`)",
            '*.jsonl (also a JSON array or {"conversations": [...]})',
            True,
        ),
        FormatInfo(
            "csv",
            "generic CSV: one row per conversation plus one row per message",
            "conversations.csv + messages.csv, or messages.csv alone (told apart by header)",
            True,
        ),
        FormatInfo(
            "zendesk",
            "Zendesk JSON export or API dumps (tickets, comments, users)",
            "tickets NDJSON/JSON, ticket comments, users",
            False,
        ),
        FormatInfo(
            "freshdesk",
            "Freshdesk API JSON (tickets with requester/stats, conversations)",
            "tickets JSON, conversations JSON",
            False,
        ),
        FormatInfo(
            "intercom",
            "Intercom API JSON (conversations with conversation_parts)",
            "conversations JSON",
            False,
        ),
    )
}


class Export:
    """An opened export: its format, mapping and files. Use it as a context manager."""

    def __init__(
        self,
        format_name: str,
        mapping: dict[str, Any],
        inputs: Sequence[Path],
        detected: Sequence[DetectedFile],
    ) -> None:
        self.format = format_name
        self.mapping = mapping
        self.inputs = [str(path) for path in inputs]
        self.files: list[str] = [d.file.name for d in detected]
        self._detected = list(detected)
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    def records(self) -> Iterator[SourceRecord]:
        """Every conversation of the export, one at a time, in source order."""
        if self.format == "canonical":
            yield from read_canonical(d.file for d in self._detected)
            return
        if self.format == "csv":
            columns = csv_columns(self.mapping)
            files = [(d.file, (d.kind or "").removeprefix("csv-")) for d in self._detected]
            if self._workdir is None:
                self._workdir = tempfile.TemporaryDirectory(prefix="importer-csv-")
            folder = Path(tempfile.mkdtemp(dir=self._workdir.name))
            yield from read_generic_csv(files, columns, folder)
            return
        raise _not_built(self.format)

    def close(self) -> None:
        """Remove the temporary staging files."""
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Export:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _not_built(format_name: str) -> FormatError:
    return FormatError(
        f"the {format_name} reader is not built yet; convert the export to canonical JSONL "
        "(`importer convert --schema` prints the shape) or to the generic CSV layout, "
        "and read that with --format canonical or --format csv"
    )


def _detection_columns(format_name: str | None, mapping_file: Path | None) -> CsvColumns:
    """The csv columns used to recognise CSV headers: the user's mapping when it is a csv one."""
    if mapping_file is not None and format_name in (None, "csv"):
        try:
            return csv_columns(load_mapping("csv", mapping_file))
        except UsageError:
            if format_name == "csv":
                raise
    return csv_columns(load_mapping("csv"))


def open_export(
    inputs: Sequence[Path], format_name: str | None = None, mapping_file: Path | None = None
) -> Export:
    """Open the export made of ``inputs``: list its files, recognise or check its format."""
    if format_name is not None and format_name not in FORMATS:
        raise UsageError(
            f"unknown format {format_name!r}; choose one of {', '.join(FORMATS)} "
            "or leave --format out"
        )
    files: list[InputFile] = list_input_files(inputs)
    columns = _detection_columns(format_name, mapping_file)
    detected = [DetectedFile(f, file_kind(f, columns)) for f in files]
    explicit = {str(Path(p)) for p in inputs if Path(p).is_file()}
    chosen_format, chosen = choose_format(detected, format_name, explicit)
    if not FORMATS[chosen_format].available:
        raise _not_built(chosen_format)
    mapping = load_mapping(chosen_format, mapping_file)
    if chosen_format == "csv":
        csv_columns(mapping)  # a wrong mapping stops here, before anything is read
    return Export(chosen_format, mapping, inputs, chosen)
