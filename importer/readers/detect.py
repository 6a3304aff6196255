"""Recognise an export's format, and each file's role, from content: never from names.

Every file is peeked at through the registry (:data:`importer.readers.base.READERS`): a CSV
header is offered to each reader that reads CSV (``sniff_csv``); a JSON file's first records,
read through :mod:`importer.readers.containers` with ETL envelopes unwrapped, are offered to each
reader's ``role_of`` in registry order, then matched against the hints of ``source-formats.md``
§14 for the platforms without a reader (named in the refusal) or whose reader is not built yet.
Files that match nothing (attachments, read-me files) are left aside; records of a stream no
reader uses are passed over with one warning per stream; a file that looks like another format
than the one asked for is refused, naming the likely format.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from importer.errors import FormatError
from importer.findings import Finding
from importer.readers.base import READERS, Reader, RoleFile, unused_records_warning
from importer.readers.containers import iter_json_records
from importer.readers.extractor_files import airbyte_csv_columns
from importer.readers.foreign import FOREIGN, foreign_platform, refusal
from importer.readers.inputs import InputFile
from importer.readers.signs import other_platform
from importer.readers.text import read_header

PEEK_RECORDS = 20
PEEK_BYTES = 4096
NESTED_DEPTH = 3

#: a CSV-reading reader and the mapping its ``sniff_csv`` judges headers with
CsvSniffer = tuple[Reader, dict[str, Any]]


@dataclass(frozen=True)
class DetectedFile:
    """One input file and what it looks like: its format (``None``: nothing known), the roles of
    its first records in that format, and its first record's stream and location."""

    file: InputFile
    format: str | None
    roles: tuple[str, ...] = ()
    stream: str | None = None
    location: str | None = None
    #: for records several readers claim: each format that may be meant, with its roles
    candidates: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: a JSON file none of whose first records could be parsed: the first one's place and why
    unreadable: tuple[str, str] | None = None


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


def _platform_hint(record: dict[str, Any]) -> str | None:
    """The platform a record plainly is: a registered reader's by its signs
    (:func:`~importer.readers.signs.other_platform`), else one without a reader by the hints
    of ``source-formats.md`` §14 (:mod:`importer.readers.foreign`)."""
    return other_platform(record, None) or foreign_platform(record)


#: how binary files (attachments lying in an export) start: images, PDF, archives, Office
BINARY_SIGNATURES = (
    b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF-", b"PK\x03\x04", b"PK\x05\x06",
    b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"\xd0\xcf\x11\xe0", b"II*\x00",
    b"MM\x00*", b"RIFF", b"\x00\x00\x01\x00", b"SQLite format 3\x00", b"\xff\xfe",
    b"\xfe\xff",
)  # fmt: skip
#: the bytes a line of text holds (every byte but the control characters)
_TEXT_BYTES = bytes([9, 10, 12, 13, 27, *range(32, 127), *range(128, 256)])


def _starts_like_json(input_file: InputFile) -> bool | None:
    """True for JSON records (also an Airbyte raw CSV file: its header names the raw columns),
    False for text, None for binary content: a file that starts with a binary signature, or
    whose first line is more than a tenth control characters. One NUL or undecodable byte does
    not make a file binary: it is its record's problem."""
    with input_file.open() as stream:
        head = stream.read(PEEK_BYTES)
    first_line = head.split(b"\n", 1)[0]
    control = len(first_line.translate(None, _TEXT_BYTES))
    if head.startswith(BINARY_SIGNATURES) or control * 10 > len(first_line):
        return None
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n\0")  # a NUL before the first record is its own
    if body[:1] in (b"{", b"["):
        return True
    return airbyte_csv_columns(body.split(b"\n", 1)[0]) is not None


def _claims(
    record: dict[str, Any], stream: str | None, readers: Sequence[Reader]
) -> list[tuple[str, str | None]]:
    """Every ``(format, role)`` a record may be (role ``None``: a record of a format that no
    reader reads). Readers are asked first; when several claim the record, the §14 hints choose
    among them; a hint naming a platform whose reader is not built overrides them."""
    built = {reader.info.name for reader in readers}
    for candidate in _objects(record):
        hint_stream = stream if candidate is record else None
        claims: list[tuple[str, str | None]] = []
        for reader in readers:
            role = reader.role_of(candidate, hint_stream)
            if role is not None:
                claims.append((reader.info.name, role))
        platform = _platform_hint(candidate)
        claimed = {name for name, _ in claims}
        if platform is not None and platform not in claimed and platform not in built:
            return [(platform, None)]
        if claims:
            return [c for c in claims if c[0] == platform] or claims
    return []


def _detect_json(input_file: InputFile, readers: Sequence[Reader]) -> DetectedFile:
    """The file's format from its first records: the first format that was the only one to
    claim a record; when every record could be several formats, it stays open (``format``
    ``None``, the choices in ``candidates``) until the rest of the export decides."""
    roles: dict[str, list[str]] = {}
    decisive: list[str] = []
    first: tuple[str | None, str] | None = None
    broken: tuple[str, str] | None = None
    for item in islice(iter_json_records(input_file), PEEK_RECORDS):
        if item.data is None:
            broken = broken or (item.location, item.error or "not a record")
            continue
        first = first or (item.stream, item.location)
        claims = _claims(item.data, item.stream, readers)
        for name, role in claims:
            seen = roles.setdefault(name, [])
            if role is not None and role not in seen:
                seen.append(role)
        if len(claims) == 1 and claims[0][0] not in decisive:
            decisive.append(claims[0][0])
    stream, location = first if first else (None, None)
    if first is None and broken is not None:
        return DetectedFile(input_file, None, unreadable=broken)
    if decisive or len(roles) == 1:
        found = decisive[0] if decisive else next(iter(roles))
        return DetectedFile(input_file, found, tuple(roles[found]), stream, location)
    candidates = tuple((name, tuple(found_roles)) for name, found_roles in roles.items())
    return DetectedFile(input_file, None, (), stream, location, candidates)


def settle_open_files(
    detected: Sequence[DetectedFile], format_name: str | None
) -> list[DetectedFile]:
    """The files whose records could be several formats, given one: the asked ``format_name``,
    else the one format the other files have, else the first candidate (registry order)."""
    decided = {d.format for d in detected if d.format is not None}
    settled: list[DetectedFile] = []
    for d in detected:
        if not d.candidates:
            settled.append(d)
            continue
        options = dict(d.candidates)
        if format_name is not None:
            pick = format_name if format_name in options else next(iter(options))
        else:
            fitting = [name for name in options if name in decided]
            pick = fitting[0] if len(fitting) == 1 else next(iter(options))
        settled.append(DetectedFile(d.file, pick, options[pick], d.stream, d.location))
    return settled


def detect_file(input_file: InputFile, sniffers: Sequence[CsvSniffer]) -> DetectedFile:
    """What one file looks like, judged by every reader of the registry."""
    looks_json = _starts_like_json(input_file)
    if looks_json is None:
        return DetectedFile(input_file, None)
    if looks_json:
        return _detect_json(input_file, list(READERS))
    headers: dict[str, list[str] | None] = {}  # by delimiter: each reader's mapping names one
    for reader, mapping in sniffers:
        delimiter = _delimiter(mapping)
        if delimiter not in headers:
            headers[delimiter] = read_header(input_file, delimiter)
        header = headers[delimiter]
        role = reader.sniff_csv(header, mapping) if header is not None else None
        if role is not None:
            return DetectedFile(input_file, reader.info.name, (role,))
    return _detect_text(input_file)


def _detect_text(input_file: InputFile) -> DetectedFile:
    """A text file no CSV reader takes, offered by its first bytes to each ``sniff_text``."""
    text_readers = [reader for reader in READERS if reader.sniffs_text]
    if text_readers:
        with input_file.open() as stream:
            head = stream.read(PEEK_BYTES)
        for reader in text_readers:
            role = reader.sniff_text(head)
            if role is not None:
                return DetectedFile(input_file, reader.info.name, (role,))
    return DetectedFile(input_file, None)


def _delimiter(mapping: dict[str, Any]) -> str:
    delimiter = mapping.get("delimiter", ",")
    return delimiter if isinstance(delimiter, str) and len(delimiter) == 1 else ","


class HeaderKinds(Protocol):
    """What judges a CSV header: its delimiter, and the kind of file a header names."""

    delimiter: str

    def kind_of(self, header: list[str]) -> str | None: ...


def file_kind(input_file: InputFile, columns: HeaderKinds) -> str | None:
    """What one file looks like: a format name, ``csv-<role>`` for a generic CSV file, or
    ``None`` (kept for callers that judge CSV headers with given columns)."""
    looks_json = _starts_like_json(input_file)
    if looks_json is None:
        return None
    if looks_json:
        return _detect_json(input_file, list(READERS)).format
    header = read_header(input_file, columns.delimiter)
    kind = columns.kind_of(header) if header is not None else None
    return f"csv-{kind}" if kind else None


def assign_roles(
    reader: Reader, detected: Sequence[DetectedFile], chosen: Sequence[DetectedFile]
) -> tuple[dict[str, list[RoleFile]], list[Finding]]:
    """The chosen files by role for ``reader``, and one warning per stream (or file) of records
    it passes over: files of its format with no role it reads, and files of records no format
    knows that an ETL envelope or a wrapping key names."""
    name = reader.info.name
    by_role: dict[str, list[RoleFile]] = {}
    for d in chosen:
        if d.roles:
            roles = d.roles
        elif d.format is None:  # a file given alone with --format: trusted in the main role
            roles = reader.roles[:1]
        else:  # of this format, but no record it reads: passed over (warned below)
            continue
        for role in roles:
            by_role.setdefault(role, []).append(RoleFile(d.file, role))
    warnings: dict[str, Finding] = {}
    for d in detected:  # records of a stream or a file no reader claims are named, never lost
        unused = (d.format == name and not d.roles) or d.format is None
        if unused and d.location is not None:
            key = d.stream or d.file.name
            warnings.setdefault(
                key, unused_records_warning(name, d.stream, d.file.name, location=d.location)
            )
    return by_role, list(warnings.values())


def unreadable_files(
    detected: Sequence[DetectedFile], chosen: Sequence[DetectedFile]
) -> list[Finding]:
    """One error per JSON file of the export that is not read because none of its first records
    could be parsed (a file given alone with ``--format`` is read, and its records reported)."""
    read = {d.file.name for d in chosen}
    found = []
    for d in detected:
        if d.unreadable is None or d.file.name in read:
            continue
        location, error = d.unreadable
        found.append(
            Finding(
                "read",
                "unreadable_file",
                f"{d.file.name} looks like JSON but none of its first {PEEK_RECORDS} records can "
                f"be read (first at {location}: {error}); the file is not read. Fix it, or give "
                "it alone with --format to have each of its records reported",
                location,
            )
        )
    return found


def _without_reader(format_name: str | None) -> bool:
    return format_name in FOREIGN and format_name not in READERS.names


def _unsupported(detected: DetectedFile) -> FormatError:
    return refusal(detected.format or "", detected.file.name)


def choose_format(
    detected: Sequence[DetectedFile], format_name: str | None, explicit: set[str]
) -> tuple[str, list[DetectedFile]]:
    """The format of the export and the files it reads; ``explicit`` names files given alone."""
    if not detected:
        raise FormatError("the input holds no files; give the export's file, folder or .zip")
    known = [d for d in detected if d.format is not None]
    if format_name is None:
        for d in known:
            if _without_reader(d.format):
                raise _unsupported(d)
        formats = sorted({d.format for d in known if d.format})
        if not formats:
            names = ", ".join(d.file.name for d in detected[:3])
            more = f" and {len(detected) - 3} more" if len(detected) > 3 else ""
            raise FormatError(
                f"cannot recognise the format of {names}{more}: no "
                f"{' or '.join(', '.join(READERS.names).rsplit(', ', 1))} records found; run "
                "with --format, or check that these are the export's files"
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
            if _without_reader(d.format):
                raise _unsupported(d)
            raise FormatError(
                f"--format {format_name} does not fit {d.file.name}: it looks like {d.format}; "
                f"run with --format {d.format} or leave --format out"
            )
    if not chosen:
        reader = READERS.get(format_name)
        if reader is not None and reader.reads_files_given:
            trusted = [d for d in detected if d.file.name in explicit]
            if trusted:
                return format_name, trusted
        names = ", ".join(d.file.name for d in detected[:3])
        if reader is not None:
            raise FormatError(reader.does_not_fit(names))
        raise FormatError(f"--format {format_name} is not a registered format")
    return format_name, chosen
