"""The generic CSV reader: ``conversations.csv`` + ``messages.csv``, or ``messages.csv`` alone.

Files are told apart by their header (see :meth:`CsvColumns.kind_of`), never by name. Rows may
come in any order and the files may not fit in memory, so every row is first staged in the
readers' join store (:mod:`importer.readers.staging`), keyed by conversation id; then
conversations are emitted one at a time, in the order they first appear (conversation files
first; with messages alone, the first message row of each), each with its message rows in file
order.

Parsing uses the standard library's ``csv`` module rather than pandas: ``reader.line_num`` gives
the physical line of every record, also when a quoted field spans several lines, which pandas'
chunked reader cannot report; locations (``file:line``, ``file:line:column``) depend on it.
Each physical line is decoded on its own (UTF-8, stray bytes as cp1252, see
:mod:`importer.readers.text`), so an encoding warning lands on the conversation holding the bytes.
"""

from __future__ import annotations

import csv
import io
import mimetypes
import posixpath
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from importer.findings import Finding
from importer.model import RAW_TEXT_KEY
from importer.readers.base import Reader, RoleFile
from importer.readers.csv_mapping import CsvColumns, csv_columns
from importer.readers.inputs import AttachmentPathError, InputFile, attachment_size
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import Staged, StagingStore
from importer.readers.text import DecodedLines, encoding_message

FIELD_SIZE_LIMIT = 64 << 20  # a message body may be far larger than csv's 128 KiB default


def read_header(input_file: InputFile, delimiter: str) -> list[str] | None:
    """The header row of a CSV file, ``None`` when the file does not start like one."""
    with input_file.open() as stream:
        first = stream.readline(1 << 20)
    if not first or b"\0" in first:
        return None
    lines = DecodedLines([first])
    try:
        header = next(csv.reader(lines, delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    return [name.strip() for name in header]


def _rows(input_file: InputFile, delimiter: str) -> Iterator[tuple[int, list[str] | None, int]]:
    """``(first line, fields, bytes read as cp1252)`` per record; fields ``None`` if unreadable."""
    with input_file.open() as stream:
        lines = DecodedLines(stream)
        reader = csv.reader(lines, delimiter=delimiter)
        previous = 0
        while True:
            try:
                row: list[str] | None = next(reader)
            except StopIteration:
                return
            except csv.Error:
                row = None
            start, previous = previous + 1, reader.line_num
            replaced = lines.take_replaced()
            if row is not None and not any(cell.strip() for cell in row):
                continue  # a blank line, or a row of empty cells as spreadsheets write them
            yield start, row, replaced


def _raw_text(cells: dict[str, str] | None) -> str | None:
    """The text kept of a staged row that could not be read, if any."""
    return cells.get(RAW_TEXT_KEY) if cells else None


def _row_text(row: list[str], delimiter: str) -> str:
    """A parsed row written back as CSV text, kept with an invalid record to fix and re-feed."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(row)
    return out.getvalue()


@dataclass
class _Row:
    """One staged row: its file (index) and line, its cells by column (or the raw text of a
    broken row), why it is broken and where, and how many bytes were read as cp1252."""

    file: int
    line: int
    cells: dict[str, str] | None
    error: str | None = None
    error_at: str | None = None
    replaced: int = 0

    @classmethod
    def of(cls, staged: Staged) -> _Row:
        return cls(**staged.record)


class CsvStage:
    """The staging of one CSV export in a :class:`StagingStore` of ``folder``: kinds
    ``conversations`` and ``messages``, keyed by conversation id."""

    def __init__(self, folder: Path, files: Sequence[tuple[InputFile, str]], columns: CsvColumns):
        self.files = [input_file for input_file, _ in files]
        self.kinds = [kind for _, kind in files]
        self.columns = columns
        self.headers: list[list[str]] = [[] for _ in files]
        self.messages_only = "conversations" not in self.kinds
        # with messages alone, a column both tables name (created_at) is the message's
        self.message_owned = (
            set(columns.message.values()) - {columns.message["conversation_id"], ""}
            if self.messages_only
            else set()
        )
        self.store = StagingStore(folder, "csv-stage.sqlite")

    def close(self) -> None:
        self.store.close()

    def _location(self, row: _Row) -> str:
        return f"{self.files[row.file].name}:{row.line}"

    # -- staging -------------------------------------------------------------------------------
    def stage(self) -> None:
        """Read every file into the store: conversation files first, then message files."""
        csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))
        order = sorted(range(len(self.files)), key=lambda i: self.kinds[i] != "conversations")
        for index in order:
            self._stage_file(index)
            self.store.commit()

    def _stage_file(self, index: int) -> None:
        input_file, kind = self.files[index], self.kinds[index]
        id_column = (
            self.columns.conversation["source_id"]
            if kind == "conversations"
            else self.columns.message["conversation_id"]
        )
        rows = _rows(input_file, self.columns.delimiter)
        for _, header, _ in rows:
            self.headers[index] = [name.strip() for name in header or []]
            break
        header = self.headers[index]
        id_index = header.index(id_column)
        for line, row, replaced in rows:
            location = f"{input_file.name}:{line}"
            cid, error, error_at = None, None, location
            if row is None:
                error = "the CSV row cannot be parsed (a quote is not closed?)"
            else:
                if id_index < len(row) and row[id_index].strip():
                    cid = row[id_index].strip()
                if len(row) != len(header):
                    error = (
                        f"the row has {len(row)} fields, the header has {len(header)}: "
                        "a field holding the delimiter, a quote or a line break needs double "
                        "quotes"
                    )
                    error_at = f"{location}:{min(len(row), len(header)) + 1}"  # first odd field
                elif cid is None:
                    error = f"the conversation id (column {id_column!r}) is empty"
                    error_at = f"{location}:{id_index + 1}"
            cells = None
            if row is not None and error is None:
                cells = {n: v for n, v in zip(header, row, strict=True) if v.strip()}
            elif row is not None:  # the row's text goes with the invalid record
                cells = {RAW_TEXT_KEY: _row_text(row, self.columns.delimiter)}
            staged = _Row(index, line, cells, error, error_at if error else None, replaced)
            if kind == "conversations" or cid is None:
                self._stage_conversation(cid, staged)
            else:
                self._stage_message(cid, staged)

    def _put(self, kind: str, cid: str | None, row: _Row) -> int:
        return self.store.put(kind, cid, self._location(row), asdict(row))

    def _stage_conversation(self, cid: str | None, row: _Row) -> None:
        if cid is not None and row.error is None:
            first = self.store.first("conversations", cid)
            if first is not None:
                row.error = f"conversation id {cid!r} appears again (first at {first.location})"
                row.error_at = self._location(row)
        self._put("conversations", cid, row)

    def _stage_message(self, cid: str, row: _Row) -> None:
        if self.messages_only:
            known = self.store.first("conversations", cid)
            broken = row.error is not None
            if known is None and broken:
                # a broken first row: the conversation takes its columns from later rows, and
                # the row itself makes it invalid (kept in its dead letter with the good rows)
                self._put("conversations", cid, _Row(row.file, row.line, {}))
            elif known is None:
                self._put("conversations", cid, replace(row, replaced=0))
            elif not broken:
                self._fill_conversation_cells(known, row.cells)
        self._put("messages", cid, row)

    def _fill_conversation_cells(self, known: Staged, later: dict[str, str] | None) -> None:
        """With ``messages.csv`` alone, a conversation column left empty on its first row is
        taken from a later row of the same conversation (the first non-empty value wins)."""
        row = _Row.of(known)
        if row.cells is None or later is None:
            return
        missing = {name: value for name, value in later.items() if name not in row.cells}
        if missing:
            row.cells.update(missing)
            self.store.replace(known.seq, asdict(row))

    # -- emitting ------------------------------------------------------------------------------
    def records(self) -> Iterator[SourceRecord]:
        """One :class:`SourceRecord` per conversation, then one per orphan conversation id."""
        for staged in self.store.of_kind("conversations"):
            row = _Row.of(staged)
            if row.error is not None:
                yield _invalid(
                    staged.location, staged.key, row.error, row.error_at, _raw_text(row.cells)
                )
                continue
            assert staged.key is not None
            build = partial(self._conversation, staged.key, row)
            yield read_safely(build, staged.location, staged.key)
        if not self.messages_only:
            yield from self._orphans()

    def _orphans(self) -> Iterator[SourceRecord]:
        conversation_files = ", ".join(
            f.name for f, k in zip(self.files, self.kinds, strict=True) if k == "conversations"
        )
        for cid, first, count in self.store.keys_without("messages", "conversations"):
            rows = "a message row names" if count == 1 else f"{count} message rows name"
            error = (
                f"{rows} conversation {cid!r}, which is not in {conversation_files}; "
                "add its row there or correct the id"
            )
            yield _invalid(first.location, cid, error, first.location)

    def _conversation(self, cid: str, row: _Row) -> SourceRecord:
        location = self._location(row)
        record = SourceRecord(location, None, cid)
        assert row.cells is not None
        data = self._conversation_data(row.cells, row.file, row.line, record)
        messages: list[dict[str, Any]] = []
        bad_rows: list[Finding] = []
        raw_rows: list[str] = []
        replaced = row.replaced
        for staged in self.store.by_key("messages", cid):
            message = _Row.of(staged)
            if message.error is not None:  # the conversation is invalid; its good rows are kept
                bad_rows.append(Finding("read", "parse", message.error, message.error_at, cid))
                raw_rows.append(_raw_text(message.cells) or "")
                continue
            assert message.cells is not None
            replaced += message.replaced
            messages.append(self._message_data(message.cells, message.file, message.line, record))
            record.message_locations.append(staged.location)
        data["messages"] = messages
        if bad_rows:
            record.error, record.left_out[:0] = bad_rows[0], bad_rows[1:]
            data[RAW_TEXT_KEY] = "\n".join(raw_rows)
        if replaced:
            record.warnings.append(
                Finding("read", "encoding", encoding_message(replaced), location, cid)
            )
        record.data = data
        return record

    def _at(self, file: int, line: int, column: str) -> str:
        position = self.headers[file].index(column) + 1
        return f"{self.files[file].name}:{line}:{position}"

    def _conversation_data(
        self, cells: dict[str, str], file: int, line: int, record: SourceRecord
    ) -> dict[str, Any]:
        names = self.columns.conversation
        value = {
            f: cells[c]
            for f, c in names.items()
            if c and c in cells and c not in self.message_owned
        }
        for field_name in value:
            path = field_name.replace("customer_", "customer.", 1)
            record.field_locations[path] = self._at(file, line, names[field_name])
        data: dict[str, Any] = {"source_id": record.source_id}
        for field_name in ("subject", "status", "created_at", "closed_at"):
            if field_name in value:
                data[field_name] = value[field_name]
        for field_name in ("assignee_email", "assignee_id"):
            if field_name in value:
                data[field_name] = value[field_name].strip()
        customer = {
            key: value[f"customer_{key}"].strip()
            for key in ("id", "email", "first_name", "last_name", "phone")
            if f"customer_{key}" in value
        }
        data["customer"] = customer
        if "type" in value:
            word = value["type"].strip().lower()
            if word in self.columns.channel_words:
                data["type"] = self.columns.channel_words[word]
            else:
                record.warnings.append(
                    Finding(
                        "read",
                        "type",
                        f"channel {value['type']!r} is not a channel word of the mapping; "
                        "the conversation is read as email (add the word to [channel_words])",
                        self._at(file, line, names["type"]),
                        record.source_id,
                    )
                )
        if "tags" in value:
            data["tags"] = self._split(value["tags"])
        prefix = self.columns.custom_field_prefix
        custom = {k[len(prefix) :]: v for k, v in cells.items() if k.startswith(prefix)}
        if custom:
            data["custom_fields"] = custom
        return data

    def _split(self, cell: str) -> list[str]:
        return [item.strip() for item in cell.split(self.columns.list_separator) if item.strip()]

    def _message_data(
        self, cells: dict[str, str], file: int, line: int, record: SourceRecord
    ) -> dict[str, Any]:
        names = self.columns.message
        value = {f: cells[c] for f, c in names.items() if c and c in cells}
        index = len(record.message_locations)  # this message's place in data["messages"]
        for field_name in value:
            path = f"messages[{index}].{field_name}"
            record.field_locations[path] = self._at(file, line, names[field_name])
        message: dict[str, Any] = {}
        for field_name in ("created_at", "body_html", "body_text", "author_name"):
            if field_name in value:
                message[field_name] = value[field_name]
        for field_name in ("source_id", "author_id", "author_email"):
            if field_name in value:
                message[field_name] = value[field_name].strip()
        if "author_role" in value:
            word = value["author_role"].strip().lower()
            message["author_role"] = self.columns.role_words.get(word, word)
        if "private" in value:
            message["private"] = value["private"].strip().lower() in self.columns.true_words
        if "attachments" in value:
            location = self._at(file, line, names["attachments"])
            message["attachments"] = self._attachments(value["attachments"], file, location, record)
        body_columns = {names["body_html"], names["body_text"]} - {""}
        if not {"body_html", "body_text"} & message.keys() and body_columns & set(
            self.headers[file]
        ):  # empty body cells: an empty body, as in canonical input (left out, or "(attachment)")
            message["body_text"] = ""
        return message

    def _attachments(
        self, cell: str, file: int, location: str, record: SourceRecord
    ) -> list[dict[str, Any]]:
        attachments: list[dict[str, Any]] = []
        for relative in self._split(cell):
            name = posixpath.basename(relative.replace("\\", "/")) or relative
            try:
                ref = self.files[file].resolve(relative)
            except AttachmentPathError as exc:
                record.left_out.append(
                    Finding(
                        "attachment",
                        "path",
                        f"attachment {name!r} is left out: {exc}",
                        location,
                        record.source_id,
                    )
                )
                continue
            attachments.append(
                {
                    "file_name": name,
                    "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
                    "size": attachment_size(ref),
                    "path": ref,
                }
            )
        return attachments


def _invalid(
    location: str, cid: str | None, error: str, error_at: str | None, raw: str | None = None
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


class CsvReader(Reader):
    """The generic CSV layout: roles ``conversations`` and ``messages``, told apart by header."""

    info = FormatInfo(
        "csv",
        "generic CSV: one row per conversation plus one row per message",
        "conversations.csv + messages.csv, or messages.csv alone (told apart by header)",
        True,
    )
    roles = ("conversations", "messages")

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return None  # no JSON records

    def sniff_csv(self, header: Sequence[str], mapping: dict[str, Any]) -> str | None:
        return csv_columns(mapping).kind_of(list(header))

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        csv_columns(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        by_role = [(rf.file, rf.role) for role in self.roles for rf in files.get(role, ())]
        yield from read_generic_csv(by_role, csv_columns(mapping), workdir)


READER = CsvReader()
