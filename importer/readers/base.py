"""The Reader interface every input format implements, and the registry that finds readers.

A reader is registered under the ``importer.readers`` entry points (the built-in ones in this
package's ``pyproject.toml``, a plug-in in its own), so a platform is added without touching
this repository. What a reader's code imports stays importable from here (reading by role, read
counting and the record types live in modules of their own). The guide to writing a reader is
docs/readers.md.
"""

from __future__ import annotations

import logging
import sys
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from importer.readers.read_counts import (
    DIRECT,
    EXPORT_CODES,
    OUTCOMES,
    PASSED_OVER,
    STAGED,
    UNPARSED,
    ReadCounts,
    counting_reads,
    current_read_counts,
)
from importer.readers.routing import (
    RoutedItems,
    files_in_order,
    no_conversations,
    unused_records_warning,
    without_conversations,
)
from importer.readers.source import FormatInfo, SourceRecord

#: what plug-in readers and the commands import from here, wherever it is defined
__all__ = [
    "DIRECT",
    "ENTRY_POINT_GROUP",
    "EXPORT_CODES",
    "FORMAT_NAMES",
    "OUTCOMES",
    "PASSED_OVER",
    "READERS",
    "STAGED",
    "UNPARSED",
    "Finding",
    "FormatError",
    "FormatInfo",
    "InputFile",
    "JsonRecord",
    "ReadCounts",
    "Reader",
    "ReaderRegistry",
    "RecordBatch",
    "RoleFile",
    "RoutedItems",
    "SignsList",
    "SourceRecord",
    "batched",
    "counting_reads",
    "current_read_counts",
    "files_in_order",
    "iter_json_records",
    "no_conversations",
    "unused_records_warning",
    "without_conversations",
]


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
    #: keys of which a record must have one for :meth:`owns` to say yes: a record with none of
    #: them is never asked (the signs of every reader are asked of every record read, and most
    #: records of another platform share none of these keys); ``None``: ask of every record.
    #: A test checks each built-in reader's set against its ``owns`` on generated records.
    sign_keys: frozenset[str] | None = None
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
        *,
        size: int,
    ) -> Iterator[RecordBatch]:
        """:meth:`read` in batches of about ``size`` for worker processes (``--jobs``): by
        default records read here; a reader whose records stand alone in their file sends their
        raw text instead."""
        return batched(self.read(files, mapping, workdir), size)


# -- the registry -----------------------------------------------------------------------------

#: ``(format name, its reader's owns, its sign_keys)`` of the readers that declare signs
SignsList = list[tuple[str, Callable[[Mapping[str, Any], str | None], bool], frozenset[str] | None]]
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
            decisive: SignsList = [
                (r.info.name, r.owns, r.sign_keys) for r in declared if r.decisive_signs
            ]
            others: SignsList = [
                (r.info.name, r.owns, r.sign_keys) for r in declared if not r.decisive_signs
            ]
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
