"""The dead-letter file: one JSON line per invalid or failed conversation, fit to fix and re-feed.

Each line is the canonical record itself (so ``--format canonical`` reads the file back) with one
extra key, ``_dead_letter``, that says why it is there. A record that could not be parsed at all
keeps its location and reason with ``source_id`` null.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

DEAD_LETTER_KEY = "_dead_letter"


class DeadLetterFile:
    """Appends dead letters to a JSONL file, flushed after every line."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle: IO[str] | None = None
        self.count = 0

    def __enter__(self) -> DeadLetterFile:
        if self.path is not None:
            self._handle = self.path.open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.close()

    def write(self, record: dict[str, Any] | None, entry: dict[str, Any]) -> None:
        """Write ``record`` with the report ``entry`` that explains it."""
        self.count += 1
        if self._handle is None:
            return
        body = dict(record) if isinstance(record, dict) else {"source_id": entry.get("source_id")}
        body[DEAD_LETTER_KEY] = entry
        self._handle.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()
