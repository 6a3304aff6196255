"""Building one conversation's record from its staged CSV rows, in a planning worker as a rule.

A conversation comes as its conversation row then its message rows (or, with ``messages.csv``
alone, its message rows: the first stands for the conversation, a column left empty there taken
from a later row). Every field found is given its ``file:line:column``, so a later finding names
the cell to fix. What the builder needs of the export (each file's header and where its mapped
columns sit) is learnt while staging, and travels to the workers with it.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Sequence
from functools import partial
from typing import Any

from importer.findings import Finding
from importer.model import RAW_TEXT_KEY
from importer.readers.csv.decoding import nul_message
from importer.readers.csv.mapping import CsvColumns
from importer.readers.csv.staged import (
    BrokenRow,
    FileColumns,
    GoodRow,
    UnbuiltConversation,
    cells_of,
    decoded_row,
)
from importer.readers.inputs import AttachmentPathError, InputFile, attachment_size
from importer.readers.source import SourceRecord, read_safely
from importer.readers.text import encoding_message


class ConversationBuilder:
    """Builds conversations of a CSV export (``files``, each with its kind) from their rows;
    ``headers`` and ``layout`` are filled in as each file is staged."""

    def __init__(self, files: Sequence[tuple[InputFile, str]], columns: CsvColumns) -> None:
        self.files = [input_file for input_file, _ in files]
        self.kinds = [kind for _, kind in files]
        self.names = [input_file.name for input_file in self.files]
        self.columns = columns
        self.headers: list[list[str]] = [[] for _ in files]
        self.layout: list[FileColumns | None] = [None for _ in files]
        self.messages_only = "conversations" not in self.kinds
        # with messages alone, a column both tables name (created_at) is the message's
        self.message_owned = (
            set(columns.message.values()) - {columns.message["conversation_id"], ""}
            if self.messages_only
            else set()
        )
        #: how many columns a messages-alone conversation may take from its rows, in all files
        self.conversation_columns = 0
        #: (field, column, path in ``field_locations``) of the conversation fields read
        self.conversation_fields = [
            (field_name, column, field_name.replace("customer_", "customer.", 1))
            for field_name, column in columns.conversation.items()
            if column and column not in self.message_owned
        ]

    def _location(self, row: GoodRow | BrokenRow) -> str:
        return f"{self.files[row.file].name}:{row.line}"

    def built(self, unbuilt: UnbuiltConversation) -> SourceRecord:
        """The record of a conversation from its rows."""
        rows = [decoded_row(payload) for payload in unbuilt.payloads]
        build = partial(self._conversation, unbuilt.key, rows)
        return read_safely(build, unbuilt.location, unbuilt.key)

    def _merged_cells(self, rows: list[GoodRow | BrokenRow]) -> dict[str, str]:
        """With ``messages.csv`` alone, the conversation's cells: those of its first good row,
        a column left empty there taken from a later good row (the first non-empty value wins)."""
        merged: dict[str, str] = {}
        for row in rows:
            if len(merged) == self.conversation_columns:
                break  # every column has its value
            if isinstance(row, BrokenRow):
                continue
            layout = self.layout[row.file]
            assert layout is not None
            cells: dict[str, str] = {}
            fields = row.fields
            for name, i in layout.conversation_cells:
                if fields[i].strip():
                    cells[name] = fields[i]
            for name, value in cells.items():
                if name not in merged:
                    merged[name] = value
        return merged

    def _conversation(self, cid: str, rows: list[GoodRow | BrokenRow]) -> SourceRecord:
        """The conversation of the rows of a group: its conversation row then its message rows,
        or with messages alone, its message rows (the first stands for the conversation)."""
        if self.messages_only:
            file, line, replaced, nuls = rows[0].file, rows[0].line, 0, 0
            cells = self._merged_cells(rows)
        else:
            head, *rows = rows
            assert isinstance(head, GoodRow)
            file, line, replaced, nuls = head.file, head.line, head.replaced, head.nuls
            cells = cells_of(self.headers[file], head.fields)
        location = f"{self.files[file].name}:{line}"
        record = SourceRecord(location, None, cid)
        data = self._conversation_data(cells, file, line, record=record)
        messages: list[dict[str, Any]] = []
        bad_rows: list[Finding] = []
        raw_rows: list[str] = []
        for message in rows:
            if isinstance(message, BrokenRow):  # the conversation is invalid; its good rows kept
                bad_rows.append(Finding("read", "parse", message.error, message.error_at, cid))
                raw_rows.append(message.raw or "")
                continue
            replaced += message.replaced
            nuls += message.nuls
            where = f"{self.names[message.file]}:{message.line}"
            messages.append(self._message_data(message, record, where))
            record.message_locations.append(where)
        data["messages"] = messages
        if bad_rows:
            record.error, record.left_out[:0] = bad_rows[0], bad_rows[1:]
            data[RAW_TEXT_KEY] = "\n".join(raw_rows)
        if replaced:
            record.warnings.append(
                Finding("read", "encoding", encoding_message(replaced), location, cid)
            )
        if nuls:
            record.warnings.append(Finding("read", "nul", nul_message(nuls), location, cid))
        record.data = data
        return record

    def _at(self, file: int, line: int, column: str) -> str:
        layout = self.layout[file]
        assert layout is not None
        position = layout.positions.get(column) or self.headers[file].index(column) + 1
        return f"{self.files[file].name}:{line}:{position}"

    def _conversation_data(
        self, cells: dict[str, str], file: int, line: int, *, record: SourceRecord
    ) -> dict[str, Any]:
        value = {f: cells[c] for f, c, _ in self.conversation_fields if c in cells}
        layout = self.layout[file]
        assert layout is not None
        positions = layout.positions
        where = f"{self.names[file]}:{line}:"
        for field_name, column, path in self.conversation_fields:
            if field_name in value:
                if column in positions:
                    record.field_locations[path] = f"{where}{positions[column]}"
                else:  # a column of another file's header only
                    record.field_locations[path] = self._at(file, line, column)
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
            self._channel(value["type"], data, record, file=file, line=line)
        if "tags" in value:
            data["tags"] = self._split(value["tags"])
        prefix = self.columns.custom_field_prefix
        custom = {k[len(prefix) :]: v for k, v in cells.items() if k.startswith(prefix)}
        if custom:
            data["custom_fields"] = custom
        return data

    def _channel(
        self, cell: str, data: dict[str, Any], record: SourceRecord, *, file: int, line: int
    ) -> None:
        """The conversation's type from its channel word ``cell``, or a warning naming it."""
        word = cell.strip().lower()
        if word in self.columns.channel_words:
            data["type"] = self.columns.channel_words[word]
            return
        record.warnings.append(
            Finding(
                "read",
                "type",
                f"channel {cell!r} is not a channel word of the mapping; "
                "the conversation is read as email (add the word to [channel_words])",
                self._at(file, line, self.columns.conversation["type"]),
                record.source_id,
            )
        )

    def _split(self, cell: str) -> list[str]:
        return [item.strip() for item in cell.split(self.columns.list_separator) if item.strip()]

    def _message_data(self, row: GoodRow, record: SourceRecord, where: str) -> dict[str, Any]:
        """The message of ``row`` (at ``where``, ``file:line``)."""
        layout = self.layout[row.file]
        assert layout is not None
        fields = row.fields
        value: dict[str, str] = {}
        path = f"messages[{len(record.message_locations)}]."  # its place in data["messages"]
        locations = record.field_locations
        for field_name, indexes, column in layout.message_fields:
            for i in indexes:
                if fields[i].strip():
                    value[field_name] = fields[i]
                    locations[path + field_name] = where + column
                    break
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
            location = self._at(row.file, row.line, self.columns.message["attachments"])
            message["attachments"] = self._attachments(
                value["attachments"], row.file, location, record=record
            )
        if layout.has_body_column and "body_html" not in message and "body_text" not in message:
            # empty body cells: an empty body, as in canonical input (left out, or "(attachment)")
            message["body_text"] = ""
        return message

    def _attachments(
        self, cell: str, file: int, location: str, *, record: SourceRecord
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
