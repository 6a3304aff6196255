"""The Reader interface and the registry of formats.

Writing a platform reader (the whole job: this module plus ``mappings/<name>.toml``). A reader
of JSON records joined across files subclasses :class:`~importer.readers.common.StagedReader`,
which does the read (every file once, each record routed by its role and staged on disk, records
that cannot be parsed as invalid records first, the pending warnings on the first record,
:func:`no_conversations` when there is none); the reader writes only its own logic::

    # importer/readers/zendesk.py
    from importer.readers.common import (StagedLookup, StagedReader, id_text, orphan_records,
                                         stage_once, staged_notes)
    from importer.readers.mapping_rules import Table, checked   # the mapping, checked
    from importer.readers.source import FormatInfo, SourceRecord, read_safely

    class ZendeskReader(StagedReader[ZendeskMapping]):
        info = FormatInfo("zendesk", "Zendesk JSON export or API dumps", "tickets, ...", True)
        roles = ("tickets", "comments", "users", "ticket_fields")   # roles[0]: the main one
        unjoined_warning = ("ticket_id", "{count} comment(s) name no ticket (first at {first})...")
        unparsed_loss = "a ticket may miss a message, a name or a field"  # a broken comment...

        def role_of(self, record, stream):      # one JSON record (envelope already unwrapped)
            if "via" in record and "requester_id" in record:   # by content; stream a hint only
                return "tickets"
            ...
            return None                           # not a record this reader uses

        def mapping_rules(self, mapping):         # also the check_mapping hook
            return checked(ZendeskMapping, mapping, "zendesk")

        def stage(self, store, role, item, data): # one parsed record (containers.JsonRecord)
            if role == "tickets":                 # listed twice: one copy read, one warning
                stage_once(store, "tickets", id_text(data.get("id")), item, data, later_wins)
            elif role == "comments":
                ...                               # store.put(kind, parent id, location, record)
                return 1                          # how many name no parent: unjoined_warning
            return 0

        def records(self, store, rules):          # every file read; the conversations
            users = StagedLookup(store, "users", convert, cached=4096)
            for ticket in store.of_kind("tickets"):
                yield read_safely(partial(build, ...), ticket.record[2], ticket.key)
                # build: the record, then record.warnings[:0] = staged_notes(...) (encoding,
                # duplicates); common.Conversion holds a conversation's messages and findings
            yield from orphan_records(store, "comments", "tickets", "comment", "ticket")

    READER = ZendeskReader()   # the registry takes ``READER`` from the module

Hooks of ``StagedReader`` to override where a format differs: ``parent_id_patterns`` (the parent
id in the text of a child that cannot be parsed), ``unparsed_hint``, ``unparsed_message``,
``stage_unparsed`` (e.g. a warning instead of an invalid record). A reader of other files (mail)
implements ``read(files by role, mapping, work folder)`` of :class:`Reader` itself, with
:class:`RoutedItems` (JSON records, each with its role), :func:`files_in_order` and
:func:`no_conversations`. Mappings: :mod:`importer.readers.mapping_rules` (a pydantic model of
``Table`` checked by ``checked``, or hand-written checks through ``KeyChecks("<name>")``).

Optional hooks: ``check_mapping(mapping)`` raises ``MappingError`` (file and key named) before
anything is read; ``sniff_csv(header, mapping)`` gives the role of a CSV file from its header
(read with the mapping's top-level ``delimiter``, default ``,``); ``sniff_text(head)`` gives the
role of a text file that is neither JSON nor a CSV any reader knows (mail: an mbox by its
``From `` line and headers, an .eml by its headers) from its first bytes.

Nothing else is edited: :data:`FORMAT_TABLE` below already lists zendesk, freshdesk and intercom
with the module name they will have; while that module does not exist the format is listed as
"not yet available" (its ``planned`` FormatInfo). Import other reader modules by their full name
(``importer.readers.containers``), never ``from importer.readers import ...`` (the package imports
this registry).

How detection uses a reader: every JSON file of the export is read through
:mod:`importer.readers.containers` (ETL envelopes unwrapped); ``role_of`` is asked about its first
records, in registry order; the first reader that names a role gives the file its format, and the
roles of its first records list it in ``files`` (a file that holds several streams is listed
under each role seen; a reader must route every record with :class:`RoutedItems`, never assume a
file holds one role). A CSV file is offered to every reader with ``sniff_csv``; a text file no
CSV reader takes is then offered, by its first 4 KB, to every reader with ``sniff_text``.
"""

from __future__ import annotations

import logging
import sys
import tomllib
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from importer.errors import FormatError
from importer.findings import Finding
from importer.readers.batches import RecordBatch, batched
from importer.readers.containers import JsonRecord, iter_json_records
from importer.readers.inputs import InputFile
from importer.readers.source import FormatInfo, SourceRecord


@dataclass(frozen=True)
class RoleFile:
    """One input file of the export and the role it was recognised in (tickets, comments...)."""

    file: InputFile
    role: str


class Reader(ABC):
    """One input format: what it is, how it recognises its records, how it reads them."""

    info: FormatInfo
    roles: tuple[str, ...]  # every role this reader reads; the first is the main one
    #: where detection asks it, lower first (the built-in readers: 10 to 90); a plug-in keeps
    #: 100 unless its records could be taken for another format's
    detection_place: int = 100
    #: whether :meth:`owns` decides alone: asked before every other reader's signs, a record
    #: bearing them is this platform's whatever keys it shares with others
    decisive_signs: bool = False
    #: whether a file given alone with ``--format`` is read though none of its first records is
    #: recognised (each of them then reported); a reader that knows a file only by its CSV
    #: header says no
    reads_files_given: bool = True

    @abstractmethod
    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        """The role of one JSON record, judged by its content; ``stream`` (the ETL stream or
        wrapping key) is a hint only. ``None``: not a record of this format that it reads."""

    def sniff_csv(self, header: Sequence[str], mapping: dict[str, Any]) -> str | None:
        """The role of a CSV file from its header (and this format's mapping); ``None``: not
        one of this format's. Formats without CSV files keep this default."""
        return None

    def sniff_text(self, head: bytes) -> str | None:
        """The role of a text file (neither JSON nor a CSV file any reader takes) from its
        first bytes; ``None``: not one of this format's. Formats of JSON or CSV files keep
        this default."""
        return None

    def owns(self, record: Mapping[str, Any], stream: str | None) -> bool:
        """Whether ``record`` bears what only this platform writes: keys, values or ids no
        other platform's records have (:mod:`importer.readers.signs`; every reader's
        ``role_of`` refuses a record another reader owns). The default: no such signs (a
        format whose records no other platform's look like)."""
        return False

    def does_not_fit(self, names: str) -> str:
        """The message when ``--format`` names this format and none of the files ``names``
        holds its records."""
        name = self.info.name
        return (
            f"--format {name} does not fit {names}: no {name} records found; check the files, "
            "or leave --format out to have the format recognised"
        )

    @property
    def has_signs(self) -> bool:
        """Whether this reader declares its platform's signs (overrides :meth:`owns`)."""
        return type(self).owns is not Reader.owns

    def check_mapping(self, mapping: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Raise :class:`~importer.errors.MappingError` (naming the file and key) when the
        mapping cannot be used; called before anything is read. The default accepts it."""

    def default_mapping(self) -> dict[str, Any]:
        """This format's default mapping: the ``mapping.toml`` of the reader's package (package
        data, so it travels with a plug-in); ``{}`` for a reader without one."""
        package = sys.modules[type(self).__module__].__package__
        resource = resources.files(package) / "mapping.toml" if package else None
        if resource is None or not resource.is_file():
            return {}
        return tomllib.loads(resource.read_text(encoding="utf-8"))

    @property
    def sniffs_csv(self) -> bool:
        """Whether this reader recognises CSV files (overrides :meth:`sniff_csv`)."""
        return type(self).sniff_csv is not Reader.sniff_csv

    @property
    def sniffs_text(self) -> bool:
        """Whether this reader recognises other text files (overrides :meth:`sniff_text`)."""
        return type(self).sniff_text is not Reader.sniff_text

    @abstractmethod
    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        """Every conversation of ``files`` (by role), one at a time; ``workdir`` is an empty
        folder of this read for staging (removed afterwards)."""

    def record_batches(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        mapping: dict[str, Any],
        workdir: Path,
        size: int,
    ) -> Iterator[RecordBatch]:
        """:meth:`read` in batches of about ``size`` for worker processes (``--jobs``): by
        default records read here; a reader whose records stand alone in their file sends their
        raw text instead."""
        return batched(self.read(files, mapping, workdir), size)


def files_in_order(
    files: Mapping[str, Sequence[RoleFile]], roles: Sequence[str]
) -> list[InputFile]:
    """Each input file once: the files of ``roles[0]`` first, then of the next roles."""
    ordered: dict[str, InputFile] = {}
    for role in [*roles, *(r for r in files if r not in roles)]:
        for role_file in files.get(role, ()):
            ordered.setdefault(role_file.file.name, role_file.file)
    return list(ordered.values())


#: what became of one record read, as :class:`ReadCounts` counts it
#: given to the reader by its role: a StagedReader stages it (a record that names no parent is
#: given too; the reader passes it over with its one ``unjoined_warning``)
STAGED = "staged"
DIRECT = "direct"  # read straight into a conversation (readers not counted record by record)
PASSED_OVER = "passed_over"  # a record of no role: not one the reader uses
UNPARSED = "unparsed"  # a record that could not be parsed (or read into a conversation)
OUTCOMES = (STAGED, DIRECT, PASSED_OVER, UNPARSED)
#: codes of the invalid records the export itself adds, which are no record of it: an archive
#: member over a bound (not read), an export that holds no conversation
EXPORT_CODES = frozenset({"member_over_bound", "no_conversations"})


class ReadCounts:
    """What one read of an export met (the ``read_counts`` event of ``--log-json``).

    A reader whose records go through :class:`RoutedItems` (the staged readers: zendesk,
    freshdesk, intercom, front, gorgias, helpscout) is counted record by record as it reads:
    every record read is staged, passed over or unparsed, by stream (the ETL stream or the key
    of the list that held it, else the role of its file). The other readers (canonical, CSV,
    mail) are counted at the conversations they give (``counted`` says which): each is one
    record, read directly into it or unparsed (no data), under the format's main role; for the
    canonical reader that is every record, for CSV and mail one per conversation, not per row
    or message. ``conversations`` counts every conversation the reader gave, valid or not.
    """

    def __init__(self, format_name: str, main_role: str) -> None:
        self.format = format_name
        self.main_role = main_role
        self.by_records = False  # set by the first RoutedItems that counts into it
        #: (stream, outcome) -> records; RoutedItems adds to it directly, one increment a record
        self.tally: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.conversations = 0

    def conversation(self, unparsed: bool, code: str | None) -> None:
        """Count one conversation the reader gave (``unparsed``: without data; ``code``: of its
        error, if any). Unless the reader is counted record by record, it is a record too
        (but not the invalid records the export itself adds, :data:`EXPORT_CODES`)."""
        self.conversations += 1
        if not self.by_records and code not in EXPORT_CODES:
            self.tally[self.main_role, UNPARSED if unparsed else DIRECT] += 1

    def event(self) -> dict[str, Any]:
        """The fields of the ``read_counts`` event."""
        totals = dict.fromkeys(OUTCOMES, 0)
        by_stream: dict[str, dict[str, int]] = {}
        for (stream, outcome), count in sorted(self.tally.items()):
            totals[outcome] += count
            entry = by_stream.setdefault(stream, {"read": 0, **dict.fromkeys(OUTCOMES, 0)})
            entry["read"] += count
            entry[outcome] += count
        return {
            "format": self.format,
            "counted": "records" if self.by_records else "conversations",
            "records_read": sum(totals.values()),
            **{f"records_{outcome}": count for outcome, count in totals.items()},
            "conversations": self.conversations,
            "by_stream": by_stream,
        }


_COUNTS: ContextVar[ReadCounts | None] = ContextVar("importer_read_counts", default=None)


@contextmanager
def counting_reads(counts: ReadCounts) -> Iterator[ReadCounts]:
    """While inside, every :class:`RoutedItems` iterated in this context (this thread, this
    task) counts its records into ``counts``; outside, nothing is counted."""
    token = _COUNTS.set(counts)
    try:
        yield counts
    finally:
        _COUNTS.reset(token)


def current_read_counts() -> ReadCounts | None:
    """The counts of the :func:`counting_reads` this code runs inside, if any."""
    return _COUNTS.get()


class RoutedItems:
    """The records of a reader's files, each file read once, each record with its role.

    Iterating gives ``(role, item)``: a record ``role_of`` names, or a record that could not be
    parsed (``item.data is None``) with the first role its file is listed under. Records of no
    role are passed over; :meth:`take_warnings` gives one warning per stream (or file) passed.
    Inside :func:`counting_reads`, every record read is counted: staged (given by its role),
    passed over or unparsed, by its stream (else the role its file is listed under).
    """

    def __init__(self, reader: Reader, files: Mapping[str, Sequence[RoleFile]]) -> None:
        self.reader = reader
        self.files = files
        self._passed: dict[str, Finding] = {}
        self._taken: set[str] = set()

    def __iter__(self) -> Iterator[tuple[str, JsonRecord]]:
        first_role: dict[str, str] = {}
        for listed, role_files in self.files.items():
            for role_file in role_files:
                first_role.setdefault(role_file.file.name, listed)
        counts = _COUNTS.get()
        tally = None
        if counts is not None:
            counts.by_records = True
            tally = counts.tally
        for input_file in files_in_order(self.files, self.reader.roles):
            listed = first_role[input_file.name]
            for item in iter_json_records(input_file):
                if item.data is None:
                    if tally is not None:
                        tally[item.stream or listed, UNPARSED] += 1
                    yield listed, item
                    continue
                role = self.reader.role_of(item.data, item.stream)
                if role is None:
                    if tally is not None:
                        tally[item.stream or listed, PASSED_OVER] += 1
                    self._pass_over(input_file, item)
                else:
                    if tally is not None:
                        tally[item.stream or listed, STAGED] += 1
                    yield role, item

    def _pass_over(self, input_file: InputFile, item: JsonRecord) -> None:
        key: str = item.stream or input_file.name
        if key not in self._passed:
            self._passed[key] = unused_records_warning(
                self.reader.info.name, item.stream, input_file.name, item.location
            )

    def take_warnings(self) -> list[Finding]:
        """The warnings of streams passed over since the last call."""
        fresh = [f for key, f in self._passed.items() if key not in self._taken]
        self._taken.update(self._passed)
        return fresh


def unused_records_warning(
    format_name: str, stream: str | None, file_name: str, location: str
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
    found = ", ".join(role for role in reader.roles if files.get(role)) or "other records"
    message = (
        f"the export holds no {reader.info.name.capitalize()} {main} (only {found}): give the "
        f"{main} file (or stream) of the export with the others"
    )
    if not warnings:
        raise FormatError(message)
    yield without_conversations(message, warnings)


def without_conversations(message: str, warnings: Sequence[Finding]) -> SourceRecord:
    """The invalid record of an export that yields no conversation, carrying its warnings."""
    location = next((w.location for w in warnings if w.location), None) or "export"
    error = Finding("read", "no_conversations", message, location)
    return SourceRecord(location, None, None, error=error, warnings=list(warnings))


# -- the registry -----------------------------------------------------------------------------

#: ``(format name, its reader's owns)`` of the readers that declare signs
SignsList = list[tuple[str, Callable[[Mapping[str, Any], str | None], bool]]]
#: the entry point group readers register under: ``<format name> = "<module>:READER"``
ENTRY_POINT_GROUP = "importer.readers"

log = logging.getLogger("importer.read")


class ReaderRegistry:
    """The readers registered under :data:`ENTRY_POINT_GROUP` (the built-in ones in this
    package's ``pyproject.toml``, a plug-in in its own), loaded on first use; iterating gives
    them in detection order (their ``detection_place``, then their name). A plug-in that cannot
    be loaded, or whose ``READER`` is no :class:`Reader` of the name it registered, is logged and
    left out: one broken plug-in does not stop the formats that work."""

    def __init__(self, group: str = ENTRY_POINT_GROUP) -> None:
        self.group = group
        self._readers: dict[str, Reader] | None = None
        self._signs_of: dict[str, Reader] | None = None  # the readers _signs was worked out for
        self._signs: tuple[SignsList, SignsList] = ([], [])

    @property
    def names(self) -> tuple[str, ...]:
        """Every format name, in detection order."""
        return tuple(self._load())

    def _load(self) -> dict[str, Reader]:
        if self._readers is None:
            found: list[Reader] = []
            for entry in entry_points(group=self.group):
                reader = _loaded(entry)
                if reader is not None and reader.info.name not in {r.info.name for r in found}:
                    found.append(reader)
            found.sort(key=lambda reader: (reader.detection_place, reader.info.name))
            self._readers = {reader.info.name: reader for reader in found}
        return self._readers

    def __iter__(self) -> Iterator[Reader]:
        return iter(self._load().values())

    def get(self, name: str) -> Reader | None:
        """The reader of format ``name``, ``None`` when none is registered under it."""
        return self._load().get(name)

    def infos(self) -> dict[str, FormatInfo]:
        """Every registered format's FormatInfo, in detection order."""
        return {name: reader.info for name, reader in self._load().items()}

    def signs(self) -> tuple[SignsList, SignsList]:
        """The readers that declare signs, as ``(name, owns)``: the decisive ones, then the
        others, each in detection order (worked out once for the readers of the day)."""
        readers = self._load()
        if self._signs_of is not readers:
            declared = [reader for reader in readers.values() if reader.has_signs]
            decisive: SignsList = [(r.info.name, r.owns) for r in declared if r.decisive_signs]
            others: SignsList = [(r.info.name, r.owns) for r in declared if not r.decisive_signs]
            self._signs_of, self._signs = readers, (decisive, others)
        return self._signs


def _loaded(entry: EntryPoint) -> Reader | None:
    """The reader an entry point names, or ``None`` (logged) when it cannot be used."""
    try:
        reader = entry.load()
    except Exception as exc:  # a plug-in's import error is its own; the others still work
        log.warning("the reader %r (%s) cannot be loaded: %s", entry.name, entry.value, exc)
        return None
    if not isinstance(reader, Reader) or reader.info.name != entry.name:
        log.warning(
            "the entry point %r (%s) of group %s is not a Reader named %r; left out",
            entry.name,
            entry.value,
            ENTRY_POINT_GROUP,
            entry.name,
        )
        return None
    return reader


class _FormatNames(Sequence[str]):
    """The registered format names, looked up on first use (``--format``'s choices: the CLI
    imports this module, and no reader is imported until a command needs one)."""

    def __getitem__(self, index: Any) -> Any:
        return READERS.names[index]

    def __len__(self) -> int:
        return len(READERS.names)


READERS = ReaderRegistry()
#: every format name, in detection order (lazy: see :class:`_FormatNames`)
FORMAT_NAMES: Sequence[str] = _FormatNames()
