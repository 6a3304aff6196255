"""Recognise an export's format, and each file's role, from content: never from names.

Every file is peeked at: a CSV header is matched against the csv mapping's columns; a JSON file's
first records are matched against the hints of ``source-formats.md`` §14. Files that match
nothing (attachments, read-me files) are left aside; a file that looks like another format than
the one asked for is refused, naming the likely format.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from importer.errors import FormatError
from importer.readers.containers import iter_json_records
from importer.readers.csv_mapping import CsvColumns
from importer.readers.generic_csv import read_header
from importer.readers.inputs import InputFile

PEEK_RECORDS = 20
PEEK_BYTES = 4096
NESTED_DEPTH = 3

# platforms the importer recognises but does not read: the message names them
UNSUPPORTED = {
    "front": "Front",
    "gorgias": "Gorgias",
    "zoho": "Zoho Desk",
    "hubspot": "HubSpot",
    "helpscout": "Help Scout",
    "kayako": "Kayako",
}
_FORMAT_OF_KIND = {"csv-conversations": "csv", "csv-messages": "csv"}


@dataclass(frozen=True)
class DetectedFile:
    """One input file and what it looks like: a format name, ``csv-*``, or ``None``."""

    file: InputFile
    kind: str | None

    @property
    def format(self) -> str | None:
        return _FORMAT_OF_KIND.get(self.kind or "", self.kind)


def _objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """``value`` and, for a wrapper without an id, the objects nested in it."""
    if not isinstance(value, dict):
        return
    yield value
    if depth >= NESTED_DEPTH or "id" in value or "source_id" in value:
        return
    for inner in value.values():
        if isinstance(inner, dict):
            yield from _objects(inner, depth + 1)
        elif isinstance(inner, list):
            for item in inner[:3]:
                yield from _objects(item, depth + 1)


def _json_kind(record: dict[str, Any]) -> str | None:
    keys = record.keys()
    if {"source_id", "customer", "messages"} <= keys:
        return "canonical"
    kind = record.get("type")
    if kind == "conversation" and ("conversation_parts" in keys or "source" in keys):
        return "intercom"
    if kind == "conversation_part" or "part_type" in keys:
        return "intercom"
    via = record.get("via")
    if isinstance(via, dict) and "channel" in via and ({"requester_id", "raw_subject"} & keys):
        return "zendesk"
    if {"html_body", "plain_body"} <= keys or "child_events" in keys:
        return "zendesk"
    status = record.get("status")
    if isinstance(status, int) and not isinstance(status, bool):
        if {"fr_due_by", "fr_escalated"} & keys:
            return "freshdesk"
        custom = record.get("custom_fields")
        if isinstance(custom, dict) and any(str(k).startswith("cf_") for k in custom):
            return "freshdesk"
    if {"incoming", "private", "body_text"} <= keys:
        return "freshdesk"
    if {"primaryCustomer"} & keys or (
        isinstance(record.get("_embedded"), dict) and "threads" in record["_embedded"]
    ):
        return "helpscout"
    record_id = str(record.get("id", ""))
    if record_id.startswith(("cnv_", "msg_", "tea_", "tag_")) and "_links" in keys:
        return "front"
    if str(record.get("uri", "")).startswith("/api/tickets/") or any(
        k.endswith("_datetime") for k in keys
    ):
        return "gorgias"
    if {"ticketNumber", "statusType", "isDescriptionThread"} & keys:
        return "zoho"
    properties = record.get("properties")
    if isinstance(properties, dict) and "hs_pipeline_stage" in properties:
        return "hubspot"
    if record.get("resource_type") in ("case", "post"):
        return "kayako"
    return None


def _starts_like_json(input_file: InputFile) -> bool | None:
    """True for JSON, False for text, None for binary content."""
    with input_file.open() as stream:
        head = stream.read(PEEK_BYTES)
    if b"\0" in head:
        return None
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return body[:1] in (b"{", b"[")


def file_kind(input_file: InputFile, columns: CsvColumns) -> str | None:
    """What one file looks like (see :class:`DetectedFile`)."""
    looks_json = _starts_like_json(input_file)
    if looks_json is None:
        return None
    if looks_json:
        for record in islice(iter_json_records(input_file), PEEK_RECORDS):
            for candidate in _objects(record.data):
                kind = _json_kind(candidate)
                if kind is not None:
                    return kind
        return None
    header = read_header(input_file, columns.delimiter)
    if header is None:
        return None
    kind = columns.kind_of(header)
    return f"csv-{kind}" if kind else None


def _unsupported(detected: DetectedFile) -> FormatError:
    platform = UNSUPPORTED[detected.kind or ""]
    return FormatError(
        f"{detected.file.name} looks like a {platform} export, which the importer does not "
        "read; convert it to canonical JSONL (`importer convert --schema` prints the shape) "
        "or to the generic CSV layout"
    )


def choose_format(
    detected: Sequence[DetectedFile], format_name: str | None, explicit: set[str]
) -> tuple[str, list[DetectedFile]]:
    """The format of the export and the files it reads; ``explicit`` names files given alone."""
    if not detected:
        raise FormatError("the input holds no files; give the export's file, folder or .zip")
    known = [d for d in detected if d.format is not None]
    if format_name is None:
        for d in known:
            if d.kind in UNSUPPORTED:
                raise _unsupported(d)
        formats = sorted({d.format for d in known if d.format})
        if not formats:
            names = ", ".join(d.file.name for d in detected[:3])
            more = f" and {len(detected) - 3} more" if len(detected) > 3 else ""
            raise FormatError(
                f"cannot recognise the format of {names}{more}: no canonical, csv, zendesk, "
                "freshdesk or intercom records found; run with --format, or check that these "
                "are the export's files"
            )
        if len(formats) > 1:
            examples = "; ".join(
                f"{next(d.file.name for d in known if d.format == f)} looks like {f}"
                for f in formats
            )
            raise FormatError(
                f"the input mixes formats ({examples}); import one export at a time, "
                "or give --format to choose"
            )
        format_name = formats[0]
        return format_name, [d for d in known if d.format == format_name]
    chosen = [d for d in known if d.format == format_name]
    for d in known:
        if d.format != format_name:
            if d.kind in UNSUPPORTED:
                raise _unsupported(d)
            raise FormatError(
                f"--format {format_name} does not fit {d.file.name}: it looks like {d.format}; "
                f"run with --format {d.format} or leave --format out"
            )
    if not chosen:
        trusted = [d for d in detected if d.file.name in explicit and format_name != "csv"]
        if trusted:
            return format_name, trusted
        names = ", ".join(d.file.name for d in detected[:3])
        if format_name == "csv":
            raise FormatError(
                f"--format csv does not fit {names}: no header has the conversation id column "
                "and conversation or message columns of the csv mapping; name your columns "
                "with --mapping (see mappings/csv.toml)"
            )
        raise FormatError(
            f"--format {format_name} does not fit {names}: no {format_name} records found; "
            "check the files, or leave --format out to have the format recognised"
        )
    return format_name, chosen
