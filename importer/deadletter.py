"""The dead-letter file: one JSON line per invalid or failed conversation, fit to fix and re-feed.

Each line is the canonical record itself (so ``--format canonical`` reads the file back) with one
extra key, ``_dead_letter``, that says why it is there. A record that could not be parsed at all
keeps its text under ``_raw``. Attachments given by a path in the export are written inline
(``data_base64``): the reader resolved their paths against the export's folder, and a path that
leaves the folder of the file that names it is refused on re-feed. A record without ``source``
gets the export's format (placeholder addresses made on re-feed are then the ones the export
gives), and times that can be read are written in UTC (a re-feed no longer needs the run's
``--source-tz``).
"""

from __future__ import annotations

import base64
import json
from datetime import tzinfo
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from importer.errors import ImporterError
from importer.readers.inputs import read_attachment_bytes
from importer.transform.times import times_in_utc

DEAD_LETTER_KEY = "_dead_letter"


class DeadLetterFile:
    """Appends dead letters to a JSONL file, flushed after every line."""

    def __init__(
        self, path: Path | None, source_name: str | None = None, source_tz: tzinfo | None = None
    ) -> None:
        self.path = path
        self.source_name = source_name
        self.source_tz = source_tz
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
        if isinstance(record, dict):
            body = written_back(record, self.source_name, self.source_tz)
        else:
            body = {"source_id": entry.get("source_id")}
        messages = body.get("messages")
        if isinstance(messages, list):
            body["messages"] = [_inline_attachments(m) for m in messages]
        body[DEAD_LETTER_KEY] = entry
        self._handle.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()


def written_back(
    record: dict[str, Any], source_name: str | None, source_tz: tzinfo | None
) -> dict[str, Any]:
    """A copy of ``record`` as written out to be fed again (dead letters, ``convert``): its
    ``source`` named (the export's format when it has none, so placeholder addresses made on
    re-feed are the ones the export gives), its readable times in UTC (no ``--source-tz``
    needed on re-feed)."""
    body = dict(record)
    if source_name and not body.get("source"):
        body["source"] = source_name
    return times_in_utc(body, source_tz) if source_tz is not None else body


def _inline_attachments(message: Any) -> Any:
    """The message with each readable path attachment turned into ``data_base64``."""
    if not isinstance(message, dict) or not isinstance(message.get("attachments"), list):
        return message
    attachments = []
    for attachment in message["attachments"]:
        if isinstance(attachment, dict) and isinstance(attachment.get("path"), str):
            try:
                data = read_attachment_bytes(attachment["path"])
            except (ImporterError, OSError, ValueError):
                attachments.append(attachment)  # unreadable: the reason is in the entry
                continue
            inlined = {k: v for k, v in attachment.items() if k != "path"}
            inlined["data_base64"] = base64.b64encode(data).decode("ascii")
            inlined.setdefault("size", len(data))
            attachments.append(inlined)
        else:
            attachments.append(attachment)
    return {**message, "attachments": attachments}
