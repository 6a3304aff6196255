"""Conversations in batches that another process can turn into records on its own.

``validate`` and ``convert`` plan conversations in worker processes (``--jobs``). What crosses to
a worker must be cheap to send: a batch of records already read here is pickled whole (which
costs about a quarter of planning them), so a reader whose records stand alone in the file (one
line, one conversation) sends the raw lines instead and the worker reads them
(:class:`~importer.readers.canonical.reader.CanonicalLines`). Either way :meth:`RecordBatch.records`
gives the same records in the same order as :meth:`Reader.read` would, and gives them again
when asked twice (the main process reads a batch again to put a repeated conversation in the
dead-letter file).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from importer.readers.source import SourceRecord

#: Conversations in one batch: enough that sending it costs little beside planning it, few
#: enough that every worker has work and a stop waits for little.
BATCH_SIZE = 200
#: Bytes of one batch a reader cuts by size (raw lines): past them the batch ends before
#: ``BATCH_SIZE``, so a run of large records costs a few batches' bytes, not 200 records' each.
BATCH_BYTES = 8 << 20


class RecordBatch(ABC):
    """A run of consecutive conversations of the export, in source order."""

    @abstractmethod
    def records(self) -> Iterator[SourceRecord]:
        """The batch's records, in order; the same each time it is called."""

    @property
    def weight(self) -> int:
        """The bytes this batch holds, where known (raw lines); 0 when not measured."""
        return 0


@dataclass
class ReadRecords(RecordBatch):
    """Records already read in this process (any format)."""

    items: list[SourceRecord]

    def records(self) -> Iterator[SourceRecord]:
        return iter(self.items)


def batched(records: Iterable[SourceRecord], size: int) -> Iterator[ReadRecords]:
    """``records`` in batches of at most ``size``."""
    items: list[SourceRecord] = []
    for record in records:
        items.append(record)
        if len(items) >= size:
            yield ReadRecords(items)
            items = []
    if items:
        yield ReadRecords(items)
