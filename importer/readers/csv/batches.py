"""A staged CSV export in batches for the planning workers, which build its conversations.

The main process stages the rows, sorts them and sends each conversation as its rows' bytes; a
worker decodes and builds them (:class:`CsvGroups`). A batch ends at ``size`` conversations or at
:data:`~importer.readers.batches.BATCH_BYTES` of staged rows, whichever comes first, so a batch
of very large rows does not hold gigabytes in flight.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from importer.readers.batches import BATCH_BYTES, RecordBatch
from importer.readers.csv.mapping import CsvColumns
from importer.readers.csv.stage import CsvStage
from importer.readers.csv.staged import UnbuiltConversation
from importer.readers.inputs import InputFile
from importer.readers.source import SourceRecord


@dataclass
class CsvGroups(RecordBatch):
    """Conversations of a staged CSV export for a planning worker: those to build as their rows'
    bytes (the worker builds them), the invalid ones already read."""

    stage: CsvStage
    items: list[SourceRecord | UnbuiltConversation]
    #: the bytes of the staged rows it sends (summed as the batch was made: asked again by the
    #: pool for every batch, summing them cost 5% of the main process)
    sent_bytes: int

    def records(self) -> Iterator[SourceRecord]:
        for item in self.items:
            yield item if isinstance(item, SourceRecord) else self.stage.built(item)

    @property
    def weight(self) -> int:
        """The bytes of the staged rows this batch sends."""
        return self.sent_bytes


def generic_csv_batches(
    files: Sequence[tuple[InputFile, str]], columns: CsvColumns, folder: Path, *, size: int
) -> Iterator[CsvGroups]:
    """:func:`~importer.readers.csv.stage.read_generic_csv` in batches of ``size``
    conversations, built where planned."""
    stage = CsvStage(folder, files, columns)
    try:
        stage.stage()
        items: list[SourceRecord | UnbuiltConversation] = []
        weight = 0
        for item in stage.items():
            items.append(item)
            if isinstance(item, UnbuiltConversation):
                weight += sum(map(len, item.payloads))
            if len(items) >= size or weight >= BATCH_BYTES:
                yield CsvGroups(stage, items, weight)
                items, weight = [], 0
        if items:
            yield CsvGroups(stage, items, weight)
    finally:
        stage.close()
