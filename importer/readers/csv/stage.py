"""Staging a CSV export on disk, then giving its conversations one at a time in source order.

Rows may come in any order and the files may not fit in memory, so every row is first staged
(:class:`~importer.readers.grouped_rows.GroupedRows`: conversation rows as parents, message rows as
their children, keyed by conversation id, without a look-up per row); then one sorted pass gives
the conversations in the order they first appear (conversation files first; with messages
alone, the first message row of each), each with its message rows in file order. Rows that
cannot make a conversation (broken, repeated, orphaned) are invalid records here; the others are
built by :class:`~importer.readers.csv.conversation.ConversationBuilder`, in a worker as a rule.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from importer.errors import FormatError
from importer.findings import Finding
from importer.model import RAW_TEXT_KEY
from importer.readers.csv.conversation import ConversationBuilder
from importer.readers.csv.mapping import CsvColumns
from importer.readers.csv.rows import LARGE_RECORD, CsvRow, CsvRows
from importer.readers.csv.staged import (
    BrokenRow,
    GoodRow,
    UnbuiltConversation,
    cells_of,
    decoded_row,
    file_columns,
    row_encoder,
    row_text,
)
from importer.readers.grouped_rows import GroupedRow, GroupedRows
from importer.readers.inputs import InputFile
from importer.readers.source import SourceRecord


class CsvStage(ConversationBuilder):
    """The staging of one CSV export in a :class:`GroupedRows` store of ``folder``: conversation
    rows are parent rows, message rows children, keyed by conversation id. Pickled (to a
    planning worker, which builds conversations) without its store."""

    def __init__(self, folder: Path, files: Sequence[tuple[InputFile, str]], columns: CsvColumns):
        super().__init__(files, columns)
        self.store = GroupedRows(folder, "csv-stage.sqlite")

    def close(self) -> None:
        self.store.close()

    def __getstate__(self) -> dict[str, Any]:
        """What a planning worker is sent to build conversations (:class:`CsvGroups`): all but
        the store, which stays with the process that staged it.

        Speed trick: the main process only stages, sorts and sends rows' bytes; the workers
        decode and build (commit 5f8283a). Benchmark: ``make bench``'s offline "generic CSV,
        the same as message rows in random order", 100,000 conversations: 3,465
        conversations/s with the workers on 2 cores, 2,165 with ``--jobs 1`` (CHANGELOG).
        """
        return {**self.__dict__, "store": None}

    # -- staging -------------------------------------------------------------------------------
    def stage(self) -> None:
        """Read every file into the store: conversation files first, then message files."""
        # csv is given no record over LARGE_RECORD (larger ones are parsed by CsvRows)
        csv.field_size_limit(max(csv.field_size_limit(), LARGE_RECORD + 1))
        order = sorted(range(len(self.files)), key=lambda i: self.kinds[i] != "conversations")
        for index in order:
            self._stage_file(index)
        self.conversation_columns = len(
            {name for layout in self.layout if layout for name, _ in layout.conversation_cells}
        )

    def _stage_file(self, index: int) -> None:
        input_file, kind = self.files[index], self.kinds[index]
        id_column = (
            self.columns.conversation["source_id"]
            if kind == "conversations"
            else self.columns.message["conversation_id"]
        )
        with input_file.open() as stream:
            rows = iter(CsvRows(stream, self.columns.delimiter, input_file.limits))
            first = next(rows, None)
            if first is None or first.fields is None:
                why = first.problem if first is not None else "the file is empty"
                line = first.line if first is not None else 1
                raise FormatError(
                    f"{input_file.name}:{line}: the header row cannot be read: {why}; "
                    "fix the header row, nothing in the file can be read without it"
                )
            # read as detection read it: NUL bytes dropped (a NUL is a row's problem, and the
            # header's names are what recognised the file)
            self.headers[index] = [name.replace("\0", "").strip() for name in first.fields]
            if id_column not in self.headers[index]:
                raise FormatError(
                    f"{input_file.name}:{first.line}: the header row has no {id_column!r} column "
                    "(it holds "
                    + ", ".join(repr(name) for name in self.headers[index][:8])
                    + "); name the columns with --mapping (see mappings/csv.toml)"
                )
            self._stage_rows(index, rows, id_column, conversations=kind == "conversations")

    def _stage_rows(
        self, index: int, rows: Iterator[CsvRow], id_column: str, *, conversations: bool
    ) -> None:
        input_file = self.files[index]
        header = self.headers[index]
        self.layout[index] = file_columns(header, self.columns, self.message_owned)
        id_index = header.index(id_column)
        width = len(header)
        # a good row as GoodRow, a broken one as BrokenRow: told apart by length
        add, encode = self.store.add, row_encoder()
        for line, row, replaced, nuls, problem, text, known in rows:
            cid = None
            if row is not None and id_index < len(row):
                cid = row[id_index].strip() or None
            if row is not None and len(row) == width and cid is not None:
                add(cid, conversations, encode((index, line, replaced, nuls, row)))  # a GoodRow
                continue
            location = f"{input_file.name}:{line}"
            error_at = location
            if row is None:
                # the cells read before the trouble name its conversation, when they can
                if known is not None and id_index < len(known):
                    cid = known[id_index].strip() or None
                error = problem or "the CSV row cannot be parsed"
            elif len(row) != width:
                error = (
                    f"the row has {len(row)} fields, the header has {width}: "
                    "a field holding the delimiter, a quote or a line break needs double "
                    "quotes"
                )
                error_at = f"{location}:{min(len(row), width) + 1}"  # first odd field
            else:
                error = f"the conversation id (column {id_column!r}) is empty"
                error_at = f"{location}:{id_index + 1}"
            # the row's text goes with the invalid record
            raw = text if row is None else row_text(row, self.columns.delimiter)
            broken = BrokenRow(index, line, replaced, error, error_at, raw)
            # a row without a conversation id is an invalid conversation of its own
            add(cid, conversations or cid is None, encode(tuple(broken)))

    # -- emitting ------------------------------------------------------------------------------
    def records(self) -> Iterator[SourceRecord]:
        """One :class:`SourceRecord` per conversation, in the order each first appears
        (conversation files first; with messages alone, the first message row of each), then
        one per conversation id that message rows name but no conversation row has."""
        for item in self.items():
            yield item if isinstance(item, SourceRecord) else self.built(item)

    def items(self) -> Iterator[SourceRecord | UnbuiltConversation]:
        """:meth:`records`, the conversations to build still as their rows' bytes."""
        for group in self.store.groups(orphans_last=not self.messages_only):
            head = group[0]
            if head.parent:
                row = decoded_row(head.payload)
                location = self._location(row)
                if isinstance(row, BrokenRow):
                    yield _invalid(
                        location, head.key, row.error, error_at=row.error_at, raw=row.raw
                    )
                elif head.first_parent != head.seq:
                    yield self._repeated(head, row)
                else:
                    assert head.key is not None
                    payloads = [child.payload for child in group]
                    yield UnbuiltConversation(head.key, location, payloads)
            elif self.messages_only:
                assert head.key is not None
                payloads = [child.payload for child in group]
                location = self._location(decoded_row(payloads[0]))
                yield UnbuiltConversation(head.key, location, payloads)
            else:
                yield self._orphan(head, group)

    def _repeated(self, head: GroupedRow, row: GoodRow) -> SourceRecord:
        """The invalid record of a conversation row whose id an earlier row has."""
        assert head.first_parent is not None
        payload = self.store.payload(head.first_parent)
        assert payload is not None
        location = self._location(row)
        first_at = self._location(decoded_row(payload))
        error = f"conversation id {head.key!r} appears again (first at {first_at})"
        cells = cells_of(self.headers[row.file], row.fields)
        return _invalid(location, head.key, error, error_at=location, raw=cells.get(RAW_TEXT_KEY))

    def _orphan(self, head: GroupedRow, group: Sequence[GroupedRow]) -> SourceRecord:
        conversation_files = ", ".join(
            f.name for f, k in zip(self.files, self.kinds, strict=True) if k == "conversations"
        )
        count = len(group)
        rows = "a message row names" if count == 1 else f"{count} message rows name"
        error = (
            f"{rows} conversation {head.key!r}, which is not in {conversation_files}; "
            "add its row there or correct the id"
        )
        location = self._location(decoded_row(head.payload))
        return _invalid(location, head.key, error, error_at=location)


def _invalid(
    location: str, cid: str | None, error: str, *, error_at: str | None, raw: str | None = None
) -> SourceRecord:
    finding = Finding("read", "parse", error, error_at or location, cid)
    return SourceRecord(location, None, cid, error=finding, raw_text=raw)


def read_generic_csv(
    files: Sequence[tuple[InputFile, str]], columns: CsvColumns, folder: Path
) -> Iterator[SourceRecord]:
    """Stage ``files`` (each with its kind) in ``folder``, then yield their conversations."""
    stage = CsvStage(folder, files, columns)
    try:
        stage.stage()
        yield from stage.records()
    finally:
        stage.close()
