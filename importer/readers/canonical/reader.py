"""The canonical reader: one conversation per JSON record, already in the canonical shape.

Usually JSONL (the output of ``importer convert``), read line by line; the other JSON containers
of :mod:`importer.readers.records` are accepted too. The reader only rewrites what depends on
where the file lies: a relative attachment ``path`` becomes a resolved reference, or the
attachment is left out with an ``attachment`` finding when the path leaves the export or names
no file. Every record of a canonical file is read, recognised or not (a broken line is an invalid
conversation, never passed over).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, files_in_order
from importer.readers.batches import ReadRecords, RecordBatch
from importer.readers.containers import JsonLines, JsonRecord, iter_json_records, json_line_runs
from importer.readers.inputs import AttachmentPathError, InputFile
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.text import encoding_message


def _source_id(data: dict[str, Any]) -> str | None:
    value = data.get("source_id")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _resolve_attachments(
    data: dict[str, Any], input_file: InputFile, location: str, *, source_id: str | None
) -> list[Finding]:
    """Rewrite relative attachment paths in place; the findings of those left out."""
    left_out: list[Finding] = []
    messages = data.get("messages")
    if not isinstance(messages, list):
        return left_out
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("attachments"), list):
            continue
        kept: list[Any] = []
        for attachment in message["attachments"]:
            path = attachment.get("path") if isinstance(attachment, dict) else None
            if not isinstance(path, str) or not path.strip():
                kept.append(attachment)
                continue
            try:
                attachment["path"] = input_file.resolve(path)
            except AttachmentPathError as exc:
                name = attachment.get("file_name") or path
                left_out.append(
                    Finding(
                        stage="attachment",
                        code="path",
                        message=f"attachment {name!r} is left out: {exc}",
                        location=location,
                        source_id=source_id,
                    )
                )
                continue
            kept.append(attachment)
        message["attachments"] = kept
    return left_out


def source_record(record: JsonRecord, input_file: InputFile) -> SourceRecord:
    """The :class:`SourceRecord` of one canonical JSON record."""
    warnings: list[Finding] = []
    if record.data is None:
        source_id = record.id_hint
        error = Finding(
            stage="read",
            code="parse",
            message=record.error or "the record cannot be parsed",
            location=record.location,
            source_id=source_id,
        )
        return SourceRecord(record.location, None, source_id, error=error, raw_text=record.raw_text)
    data = record.data
    source_id = _source_id(data)
    if record.replaced_bytes:
        warnings.append(
            Finding(
                stage="read",
                code="encoding",
                message=encoding_message(record.replaced_bytes),
                location=record.location,
                source_id=source_id,
            )
        )
    left_out = _resolve_attachments(data, input_file, record.location, source_id=source_id)
    messages = data.get("messages")
    count = len(messages) if isinstance(messages, list) else 0
    return SourceRecord(
        location=record.location,
        data=data,
        source_id=source_id,
        warnings=warnings,
        left_out=left_out,
        message_locations=[record.location] * count,
    )


def _source_records(records: Iterable[JsonRecord], input_file: InputFile) -> Iterator[SourceRecord]:
    for record in records:
        build = partial(source_record, record, input_file)
        known = _source_id(record.data) if isinstance(record.data, dict) else record.id_hint
        yield read_safely(build, record.location, known)


def read_canonical(files: Iterable[InputFile]) -> Iterator[SourceRecord]:
    """Every conversation of the canonical files, in file order."""
    for input_file in files:
        yield from _source_records(iter_json_records(input_file), input_file)


@dataclass
class CanonicalLines(RecordBatch):
    """Lines of a canonical JSONL file, read into records by the worker that plans them."""

    file: InputFile
    lines: JsonLines

    def records(self) -> Iterator[SourceRecord]:
        return _source_records(self.lines.json_records(), self.file)

    @property
    def weight(self) -> int:
        return self.lines.weight


def canonical_batches(files: Iterable[InputFile], size: int) -> Iterator[RecordBatch]:
    """:func:`read_canonical` in batches of at most ``size``: JSONL as raw lines, other
    containers read here."""
    read: list[SourceRecord] = []
    for input_file in files:
        for item in json_line_runs(input_file, size):
            if isinstance(item, JsonLines):
                if read:
                    yield ReadRecords(read)
                    read = []
                yield CanonicalLines(input_file, item)
                continue
            read.extend(_source_records([item], input_file))
            if len(read) >= size:
                yield ReadRecords(read)
                read = []
    if read:
        yield ReadRecords(read)


class CanonicalReader(Reader):
    """The importer's own JSONL (one role: conversations)."""

    detection_place = 10
    info = FormatInfo(
        "canonical",
        "the importer's own JSONL, one conversation per line (output of `importer convert`)",
        '*.jsonl (also a JSON array or {"conversations": [...]})',
        True,
        "canonical",
    )
    roles = ("conversations",)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return "conversations" if {"source_id", "customer", "messages"} <= record.keys() else None

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        yield from read_canonical(files_in_order(files, self.roles))

    def record_batches(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        mapping: dict[str, Any],
        workdir: Path,
        *,
        size: int,
    ) -> Iterator[RecordBatch]:
        return canonical_batches(files_in_order(files, self.roles), size)


READER = CanonicalReader()
