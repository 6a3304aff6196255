"""A CSV row as it is staged on disk, and where the mapped columns sit in each file's header.

Rows are staged as ``marshal`` bytes of plain tuples (a good row's fields as one list) and read
back as named tuples, told apart by their length; cells are picked by column positions worked
out once per file (:class:`FileColumns`). Both keep the per-row work of a large export in C.
"""

from __future__ import annotations

import csv
import io
import marshal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from importer.readers.csv.mapping import CsvColumns


class GoodRow(NamedTuple):
    """A row that was read: its file (index), line, bytes read as cp1252, NUL bytes removed,
    and its fields."""

    file: int
    line: int
    replaced: int
    nuls: int
    fields: list[str]


class BrokenRow(NamedTuple):
    """A row that cannot be used: its file (index), line, bytes read as cp1252, why and where,
    and its text (``None`` when it could not be parsed at all)."""

    file: int
    line: int
    replaced: int
    error: str
    error_at: str
    raw: str | None


class UnbuiltConversation(NamedTuple):
    """A conversation's rows as staged (its conversation row first, if any), to build."""

    key: str
    location: str
    payloads: list[bytes]


def row_encoder() -> Callable[[tuple[Any, ...]], bytes]:
    """The encoder of a staged row's tuple (a :class:`GoodRow` or :class:`BrokenRow`'s values):
    ``marshal.dumps``, returned to be bound once before the staging loop.

    Speed trick: ``marshal`` is the fastest codec of tuples of str and int, and safe here: the
    file is written and read back by this program (the same Python). It came in with commit
    9e05f23 (rows staged as their list of fields, without a look-up each), measured by ``make
    bench``'s offline "generic CSV, the same as message rows in random order": reader CPU about
    150 s to about 17 s for the whole commit; no recorded benchmark of the codec alone.
    """
    return marshal.dumps


def decoded_row(payload: bytes) -> GoodRow | BrokenRow:
    """A staged row read back: a :class:`GoodRow` (5 values) or a :class:`BrokenRow` (6).

    Speed trick: the named tuple is made by ``tuple.__new__`` over the decoded values, without
    a Python call to its constructor; each staged row is decoded once (commit e2cf198). No
    recorded benchmark of its own: it is part of the "generic CSV, the same as message rows in
    random order" figure of ``make bench`` (3,465 conversations/s when it was recorded).
    """
    values = marshal.loads(payload)
    return tuple.__new__(GoodRow if len(values) == 5 else BrokenRow, values)  # type: ignore[return-value]


def row_text(row: list[str], delimiter: str) -> str:
    """A parsed row written back as CSV text, kept with an invalid record to fix and re-feed."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(row)
    return out.getvalue()


def cells_of(header: list[str], fields: list[str]) -> dict[str, str]:
    """A row's non-empty cells by column (a column named twice: its last non-empty cell)."""
    return {name: value for name, value in zip(header, fields, strict=True) if value.strip()}


@dataclass
class FileColumns:
    """Where the mapped columns sit in one file's header, worked out once per file."""

    header: list[str]
    #: column -> its first position (1-based), for ``file:line:column``
    positions: dict[str, int]
    #: (field, its column's indexes last first, ``:column`` of its location) of each message
    #: field whose column is present (a column named twice: its last non-empty cell is read)
    message_fields: list[tuple[str, list[int], str]]
    #: (column, index) of the columns a messages-alone conversation takes from its rows
    conversation_cells: list[tuple[str, int]]
    has_body_column: bool


def file_columns(header: list[str], columns: CsvColumns, message_owned: set[str]) -> FileColumns:
    """Where the columns of ``columns`` sit in ``header`` (``message_owned``: the columns that,
    with messages alone, belong to the message rather than the conversation).

    Speed trick: a message's cells are then picked by index, with no per-row dict of the row's
    cells. It came in with commit 9e05f23, measured by ``make bench``'s offline "generic CSV,
    the same as message rows in random order" (reader CPU about 150 s to about 17 s for the
    whole commit); no recorded benchmark of this step alone.
    """
    positions: dict[str, int] = {}
    for position, name in enumerate(header, 1):
        positions.setdefault(name, position)
    message_fields = [
        (
            field_name,
            [i for i in reversed(range(len(header))) if header[i] == column],
            f":{positions[column]}",
        )
        for field_name, column in columns.message.items()
        if column and column in positions
    ]
    wanted = {
        column for column in columns.conversation.values() if column and column not in message_owned
    }
    prefix = columns.custom_field_prefix
    conversation_cells = [
        (name, i) for i, name in enumerate(header) if name in wanted or name.startswith(prefix)
    ]
    body_columns = {columns.message["body_html"], columns.message["body_text"]}
    return FileColumns(
        header,
        positions,
        message_fields,
        conversation_cells,
        bool((body_columns - {""}) & set(header)),
    )
