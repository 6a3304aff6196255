"""The dead-letter file: one JSON line per invalid or failed conversation, fit to fix and re-feed.

Each line is the canonical record itself (so ``--format canonical`` reads the file back) with one
extra key, ``_dead_letter``, that says why it is there. A record that could not be parsed at all
keeps its text under ``_raw``. Attachments given by a path in the export are written inline
(``data_base64``) while they are small enough: the reader resolved their paths against the
export's folder, and a path that leaves the folder of the file that names it is refused on
re-feed. Small enough means at most Help Scout's largest attachment (10 MiB) and a line that
stays within ``--max-record-bytes``, so that the line can be read back under the same bounds;
the size is taken from the file (or archive entry) before any byte is read. An attachment not
inlined keeps its ``path`` as read, and the line's ``_dead_letter`` lists it under
``attachments_not_inlined`` (file name, path, size, why). A record without ``source`` gets the
export's format (placeholder addresses made on re-feed are then the ones the export gives), and
times that can be read are written in UTC (a re-feed no longer needs the run's
``--source-tz``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any

from importer.attachment_refs import attachment_size, read_attachment_bytes
from importer.errors import ImporterError
from importer.outputs import OutputFile
from importer.readers.limits import DEFAULT_LIMITS, ReadLimits, size_text
from importer.settings import DEFAULT_DOWNLOAD_MAX_BYTES
from importer.transform.times import times_in_utc

DEAD_LETTER_KEY = "_dead_letter"
NOT_INLINED_KEY = "attachments_not_inlined"
#: the largest attachment written inline: Help Scout's largest attachment
MAX_INLINE_BYTES = DEFAULT_DOWNLOAD_MAX_BYTES


class DeadLetterFile:
    """Appends dead letters to a JSONL file, flushed after every line. ``limits`` are the read
    bounds of the command: a line is kept within ``limits.max_record_bytes`` by inlining only
    the attachments it has room for (see the module doc)."""

    def __init__(
        self,
        path: Path | None,
        source_name: str | None = None,
        source_tz: tzinfo | None = None,
        *,
        limits: ReadLimits = DEFAULT_LIMITS,
        max_inline_bytes: int = MAX_INLINE_BYTES,
    ) -> None:
        self.path = path
        self.source_name = source_name
        self.source_tz = source_tz
        self.limits = limits
        self.max_inline_bytes = max_inline_bytes
        self._handle: OutputFile | None = None
        self.count = 0

    def __enter__(self) -> DeadLetterFile:
        if self.path is not None:  # 0600; a line that cannot be written stops the run (exit 4)
            self._handle = OutputFile(self.path)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            if value is None:
                handle.close()
            else:  # what is raising already says why the command stops
                with suppress(ImporterError):
                    handle.close()

    def write(self, record: dict[str, Any] | None, entry: dict[str, Any]) -> None:
        """Write ``record`` with the report ``entry`` that explains it."""
        self.count += 1
        if self._handle is None:
            return
        if isinstance(record, dict):
            body = written_back(record, self.source_name, self.source_tz)
        else:
            body = {"source_id": entry.get("source_id")}
        body[DEAD_LETTER_KEY] = dict(entry)
        messages = body.get("messages")
        if isinstance(messages, list):
            budget = _InlineBudget(_json_bytes(body), self.limits, self.max_inline_bytes)
            body["messages"] = budget.inline(messages)
            if budget.not_inlined:
                body[DEAD_LETTER_KEY][NOT_INLINED_KEY] = budget.not_inlined
        self._handle.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")


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


def _json_bytes(value: Any) -> int:
    """The size in bytes of ``value`` as the dead-letter file writes it (UTF-8 JSON)."""
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))


def _inline_growth(size: int) -> int:
    """How many bytes inlining a file of ``size`` bytes adds to a line at most (its base64 text
    and the keys that hold it; the ``path`` it replaces is not counted off)."""
    return 4 * ((size + 2) // 3) + len(f', "data_base64": "", "size": {size}')


@dataclass
class _PathAttachment:
    """An attachment given by a path (message ``message``, place ``index``), with its size as
    the file system or the archive says (``None``: it cannot be found), or as read."""

    message: int
    index: int
    attachment: dict[str, Any]
    size: int | None


#: room for the digits of a file that grew between measuring and reading it
_SIZE_SLACK = 16


class _InlineBudget:
    """Which path attachments of one dead letter are inlined: in order, each of at most
    ``max_inline`` bytes while the line stays within the record bound; a note for each other."""

    def __init__(self, line_bytes: int, limits: ReadLimits, max_inline: int) -> None:
        self.line_bytes = line_bytes  # the line as it stands, paths and all
        self.limits = limits
        self.max_inline = max_inline
        self.not_inlined: list[dict[str, Any]] = []

    def inline(self, messages: list[Any]) -> list[Any]:
        """``messages`` with the attachments that fit inlined (the record itself is not
        changed: the messages changed are copies)."""
        found = list(_path_attachments(messages))
        # Room for a note on every one of them, and for the list that holds the notes, is kept
        # up front: the line stays within the bound whichever are inlined.
        room = self.limits.max_record_bytes - self.line_bytes - len(f', "{NOT_INLINED_KEY}": []')
        room -= sum(self._note_room(item) for item in found)
        inlined: dict[int, dict[int, dict[str, Any]]] = {}
        for item in found:
            data, why = self._bytes_to_inline(item, room)
            if data is None:
                self.not_inlined.append(self._note(item, why))
                continue
            room -= _inline_growth(len(data))
            copy = {key: value for key, value in item.attachment.items() if key != "path"}
            copy["data_base64"] = base64.b64encode(data).decode("ascii")
            copy.setdefault("size", len(data))
            inlined.setdefault(item.message, {})[item.index] = copy
        if not inlined:
            return messages
        result = list(messages)
        for position, copies in inlined.items():
            message = messages[position]
            attachments = [copies.get(i, a) for i, a in enumerate(message["attachments"])]
            result[position] = {**message, "attachments": attachments}
        return result

    def _bytes_to_inline(self, item: _PathAttachment, room: int) -> tuple[bytes | None, str]:
        """The bytes of ``item`` when they are inlined (read only once its size says they
        fit), else ``None`` and why not."""
        why = self._why_not(item.size, room)
        if why is not None:
            return None, why
        try:
            data = read_attachment_bytes(item.attachment["path"])
        except (ImporterError, OSError, ValueError):
            return None, _UNREADABLE
        item.size = len(data)  # the file may have changed since it was measured
        why = self._why_not(item.size, room)
        return (data, "") if why is None else (None, why)

    def _why_not(self, size: int | None, room: int) -> str | None:
        """Why a file of ``size`` bytes is not inlined with ``room`` bytes left; ``None``: it is."""
        if size is None:
            return _UNREADABLE
        if size > self.max_inline:
            return _OVER_HELP_SCOUT
        if _inline_growth(size) > room:
            return _OVER_RECORD
        return None

    def _note(self, item: _PathAttachment, why: str) -> dict[str, Any]:
        reason = why.format(
            size=size_text(item.size or 0),
            limit=size_text(self.max_inline),
            bound=self.limits.max_record_bytes,
        )
        return {
            "file_name": item.attachment.get("file_name"),
            "path": item.attachment["path"],
            "size": item.size,
            "reason": reason,
        }

    def _note_room(self, item: _PathAttachment) -> int:
        """The most bytes a note on ``item`` takes in the line (with its separator)."""
        return (
            2
            + max(
                _json_bytes(self._note(item, why))
                for why in (_OVER_HELP_SCOUT, _OVER_RECORD, _UNREADABLE)
            )
            + _SIZE_SLACK
        )


_KEPT = (
    "its path is kept as read, and a re-feed reads it only from inside the folder the "
    "dead-letter file is read from (put the file beside it and make the path relative)"
)
_UNREADABLE = (
    "cannot be read now (moved or removed since the export was read), so it is not written "
    "inline: " + _KEPT
)
_OVER_HELP_SCOUT = (
    "{size}, over Help Scout's largest attachment ({limit}), is not written inline: " + _KEPT
)
_OVER_RECORD = (
    "{size} written inline would take this line over --max-record-bytes {bound}: "
    + _KEPT
    + ", or raise --max-record-bytes"
)


def _path_attachments(messages: list[Any]) -> Iterator[_PathAttachment]:
    """Every attachment given by a path, in order, with its size (measured, not read)."""
    for m, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("attachments"), list):
            continue
        for i, attachment in enumerate(message["attachments"]):
            if isinstance(attachment, dict) and isinstance(attachment.get("path"), str):
                try:
                    size: int | None = attachment_size(attachment["path"])
                except (ImporterError, OSError, ValueError, KeyError):
                    size = None  # KeyError: an archive member no longer there
                yield _PathAttachment(m, i, attachment, size)
