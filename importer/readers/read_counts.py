"""What one read of an export met, record by record: the ``read_counts`` event of ``--log-json``.

Apart from the readers so that the commands (validate, plan, run) count a read without knowing
how a reader reads: they open :func:`counting_reads`, and :class:`~importer.readers.routing.
RoutedItems` adds each record it routes to the counts of the context it runs in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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

    A reader whose records go through :class:`~importer.readers.routing.RoutedItems` (every
    staged reader) is counted record by record as it reads: every record read is staged, passed
    over or unparsed, by stream (the ETL stream or the key of the list that held it, else the
    role of its file). The other readers (those that read whole conversations: canonical JSON,
    CSV, mail) are counted at the conversations they give (``counted`` says which): each is one
    record, read directly into it or unparsed (no data), under the format's main role; for
    canonical JSON that is every record, for CSV and mail one per conversation, not per row or
    message. ``conversations`` counts every conversation the reader gave, valid or not.
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
    """While inside, every :class:`~importer.readers.routing.RoutedItems` iterated in this
    context (this thread, this task) counts its records into ``counts``; outside, nothing is
    counted."""
    token = _COUNTS.set(counts)
    try:
        yield counts
    finally:
        _COUNTS.reset(token)


def current_read_counts() -> ReadCounts | None:
    """The counts of the :func:`counting_reads` this code runs inside, if any."""
    return _COUNTS.get()
