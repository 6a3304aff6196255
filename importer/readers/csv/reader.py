"""The generic CSV reader: ``conversations.csv`` + ``messages.csv``, or ``messages.csv`` alone.

Files are told apart by their header (see :meth:`CsvColumns.kind_of`), never by name. The work is
done by stage: :mod:`~importer.readers.csv.rows` reads a file's records (decoding, NUL bytes,
broken quotes, large records), :mod:`~importer.readers.csv.stage` stages them on disk and groups
them by conversation, :mod:`~importer.readers.csv.conversation` builds each conversation and
:mod:`~importer.readers.csv.batches` sends them to the planning workers to be built there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from importer.readers.base import Reader, RoleFile
from importer.readers.batches import RecordBatch
from importer.readers.csv.batches import generic_csv_batches
from importer.readers.csv.mapping import csv_columns
from importer.readers.csv.stage import read_generic_csv
from importer.readers.inputs import InputFile
from importer.readers.source import FormatInfo, SourceRecord


class CsvReader(Reader):
    """The generic CSV layout: roles ``conversations`` and ``messages``, told apart by header."""

    detection_place = 20
    reads_files_given = False
    info = FormatInfo(
        "csv",
        "generic CSV: one row per conversation plus one row per message",
        "conversations.csv + messages.csv, or messages.csv alone (told apart by header)",
        True,
        "CSV",
    )
    roles = ("conversations", "messages")

    def does_not_fit(self, names: str) -> str:
        return (
            f"--format csv does not fit {names}: no header has the conversation id column "
            "and conversation or message columns of the csv mapping; name your columns "
            "with --mapping (see mappings/csv.toml)"
        )

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return None  # no JSON records

    def sniff_csv(self, header: Sequence[str], mapping: dict[str, Any]) -> str | None:
        return csv_columns(mapping).kind_of(list(header))

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        csv_columns(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        yield from read_generic_csv(self._by_role(files), csv_columns(mapping), workdir)

    def record_batches(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        mapping: dict[str, Any],
        workdir: Path,
        *,
        size: int,
    ) -> Iterator[RecordBatch]:
        return generic_csv_batches(self._by_role(files), csv_columns(mapping), workdir, size=size)

    def _by_role(self, files: Mapping[str, Sequence[RoleFile]]) -> list[tuple[InputFile, str]]:
        return [(rf.file, rf.role) for role in self.roles for rf in files.get(role, ())]


READER = CsvReader()
