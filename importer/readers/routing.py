"""The records of a reader's JSON files, each file read once and each record given its role.

Every staged reader reads its files through :class:`RoutedItems`, so that reading, counting
(:mod:`importer.readers.read_counts`) and the warnings of records no role takes are the same
for every platform; :func:`no_conversations` is what a reader yields when the export held none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING

from importer.errors import FormatError
from importer.findings import Finding
from importer.readers.containers import JsonRecord, iter_json_records
from importer.readers.inputs import InputFile
from importer.readers.read_counts import PASSED_OVER, STAGED, UNPARSED, current_read_counts
from importer.readers.source import SourceRecord

#: records read, by (stream or role listed, outcome): the read counts' tally
Tally = MutableMapping[tuple[str, str], int]

if TYPE_CHECKING:  # base imports this module: the Reader interface is only named here
    from importer.readers.base import Reader, RoleFile


def files_in_order(
    files: Mapping[str, Sequence[RoleFile]], roles: Sequence[str]
) -> list[InputFile]:
    """Each input file once: the files of ``roles[0]`` first, then of the next roles."""
    ordered: dict[str, InputFile] = {}
    for role in [*roles, *(r for r in files if r not in roles)]:
        for role_file in files.get(role, ()):
            ordered.setdefault(role_file.file.name, role_file.file)
    return list(ordered.values())


class RoutedItems:
    """The records of a reader's files, each file read once, each record with its role.

    Iterating gives ``(role, item)``: a record ``role_of`` names, or a record that could not be
    parsed (``item.data is None``) with the first role its file is listed under. Records of no
    role are passed over; :meth:`take_warnings` gives one warning per stream (or file) passed.
    Inside :func:`~importer.readers.read_counts.counting_reads`, every record read is counted:
    staged (given by its role), passed over or unparsed, by its stream (else the role its file
    is listed under).
    """

    def __init__(self, reader: Reader, files: Mapping[str, Sequence[RoleFile]]) -> None:
        self.reader = reader
        self.files = files
        self._passed: dict[str, Finding] = {}
        self._taken: set[str] = set()

    def __iter__(self) -> Iterator[tuple[str, JsonRecord]]:
        tally = self.start_counting()
        for listed, input_file in self.listed_files():
            for item in iter_json_records(input_file):
                role = self.route(item, listed, input_file.name, tally=tally)
                if role is not None:
                    yield role, item

    def start_counting(self) -> Tally | None:
        """The read counts' tally this read counts into (``None``: not counting)."""
        counts = current_read_counts()
        if counts is None:
            return None
        counts.by_records = True
        return counts.tally

    def listed_files(self) -> Iterator[tuple[str, InputFile]]:
        """Each input file once, in reading order, with the first role it is listed under."""
        first_role: dict[str, str] = {}
        for listed, role_files in self.files.items():
            for role_file in role_files:
                first_role.setdefault(role_file.file.name, listed)
        for input_file in files_in_order(self.files, self.reader.roles):
            yield first_role[input_file.name], input_file

    def route(
        self, item: JsonRecord, listed: str, file_name: str, *, tally: Tally | None
    ) -> str | None:
        """The role of one record read from ``file_name`` (listed under ``listed``): ``listed``
        for a record that could not be parsed, ``None`` for one passed over; counted."""
        if item.data is None:
            if tally is not None:
                tally[item.stream or listed, UNPARSED] += 1
            return listed
        role = self.reader.role_of(item.data, item.stream)
        if role is None:
            if tally is not None:
                tally[item.stream or listed, PASSED_OVER] += 1
            self._pass_over(file_name, item)
        elif tally is not None:
            tally[item.stream or listed, STAGED] += 1
        return role

    def passed_over(self) -> dict[str, Finding]:
        """The warning of each stream (or file) passed over so far, by stream (or file)."""
        return dict(self._passed)

    def add_passed_over(self, passed: Mapping[str, Finding]) -> None:
        """Streams passed over elsewhere (a staging worker), after those passed here."""
        for key, finding in passed.items():
            self._passed.setdefault(key, finding)

    def _pass_over(self, file_name: str, item: JsonRecord) -> None:
        key: str = item.stream or file_name
        if key not in self._passed:
            self._passed[key] = unused_records_warning(
                self.reader.info.name, item.stream, file_name, location=item.location
            )

    def take_warnings(self) -> list[Finding]:
        """The warnings of streams passed over since the last call."""
        fresh = [f for key, f in self._passed.items() if key not in self._taken]
        self._taken.update(self._passed)
        return fresh


def unused_records_warning(
    format_name: str, stream: str | None, file_name: str, *, location: str
) -> Finding:
    """The one warning of a stream (or a file) whose records a reader does not use."""
    what = f"records of stream {stream!r}" if stream else f"records of {file_name}"
    return Finding(
        "read",
        "unused_records",
        f"{what} are not read by the {format_name} reader (first at {location}); passed over",
        location,
    )


def no_conversations(
    reader: Reader, files: Mapping[str, Sequence[RoleFile]], warnings: Sequence[Finding]
) -> Iterator[SourceRecord]:
    """What a reader yields when the export held no conversation at all: with warnings (streams
    passed over, records that could not be joined), one invalid record carrying them, so that
    they reach the report; without, a :class:`FormatError` (exit 2) saying which file to add."""
    main = reader.roles[0]
    found = [role for role in reader.roles if files.get(role) and role != main]
    held = f"only {', '.join(found)}" if found else "no record read is one"
    read = list(dict.fromkeys(rf.file.name for role_files in files.values() for rf in role_files))
    more = f" and {len(read) - 3} more" if len(read) > 3 else ""
    named = f" (read: {', '.join(read[:3])}{more})" if read else ""
    message = (
        f"the export holds no {reader.info.label} {main} ({held}): give the {main} file "
        f"(or stream) of the export with the others{named}"
    )
    if not warnings:
        raise FormatError(message)
    yield without_conversations(message, warnings)


def without_conversations(message: str, warnings: Sequence[Finding]) -> SourceRecord:
    """The invalid record of an export that yields no conversation, carrying its warnings."""
    location = next((w.location for w in warnings if w.location), None) or "export"
    error = Finding("read", "no_conversations", message, location)
    return SourceRecord(location, None, None, error=error, warnings=list(warnings))


def with_warnings_first(
    records: Iterable[SourceRecord],
    pending: list[Finding],
    reader: Reader,
    *,
    files: Mapping[str, Sequence[RoleFile]],
) -> Iterator[SourceRecord]:
    """``records``, the first one carrying ``pending`` before its own warnings; none at all:
    :func:`~importer.readers.base.no_conversations` (the warnings still reach the report)."""
    yielded = False
    for record in records:
        record.warnings[:0] = pending
        pending = []
        yielded = True
        yield record
    if not yielded:
        yield from no_conversations(reader, files, pending)
