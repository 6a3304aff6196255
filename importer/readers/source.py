"""What a reader hands the next stage: one source conversation, parsed or not, with its findings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from importer.errors import OutputWriteError
from importer.findings import Finding

log = logging.getLogger("importer.read")


@dataclass
class SourceRecord:
    """One conversation of the export as read, before validation."""

    location: str  # "file:line" of the conversation's record
    data: dict[str, Any] | None  # canonical conversation dict, None when unparseable
    source_id: str | None  # best-known id even when data is None
    error: Finding | None = None  # why it could not be parsed (stage "read"): invalid
    warnings: list[Finding] = field(default_factory=list)  # changed to fit (encoding, channel)
    left_out: list[Finding] = field(default_factory=list)  # messages/attachments left out
    message_locations: list[str] = field(default_factory=list)  # one per data["messages"] item
    raw_text: str | None = None  # the record's text when it could not be parsed
    #: ``file:line:column`` of a field, by canonical path (``subject``,
    #: ``messages[2].created_at``), where the export has columns (CSV)
    field_locations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormatInfo:
    """One input format, as ``importer formats`` lists it. ``label`` is the platform's name as
    the platform spells it (``Help Scout``, ``Zendesk``, ``CSV``), for messages to people;
    left out, the format name capitalised."""

    name: str
    description: str
    expected_files: str
    available: bool
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name.capitalize())


def read_safely(
    build: Callable[[], SourceRecord], location: str, source_id: str | None
) -> SourceRecord:
    """``build()``, or, when it raises what no reader expected, an unreadable record naming the
    exception: one record's trouble is that conversation's alone (invalid, with its location),
    never the end of the reading. Every reader builds each record through this. A staging file
    that cannot be written (:class:`~importer.errors.OutputWriteError`: a full disk) is the
    run's stop, never one record's failure: it goes through."""
    try:
        return build()
    except OutputWriteError:
        raise
    except Exception as exc:
        log.error("%s: the reader failed on this record: %s", location, exc)
        message = f"unexpected {type(exc).__name__} while reading this record: {exc}"
        error = Finding("read", "internal", message, location, source_id)
        return SourceRecord(location, None, source_id, error=error)
