"""``--log-json``: one JSON object per event, with a stable ``event`` name; never a secret.

Every event has ``ts`` (epoch seconds) and ``event``. Among them, ``read_counts`` is emitted once
per read of the export by ``validate``, ``convert``, ``plan`` and ``run``, when the reading ends
(:class:`~importer.readers.base.ReadCounts`): ``format``; ``counted`` (``records``: counted record
by record as read, the staged readers; ``conversations``: counted at the conversations the reader
gave, one record each, the canonical, CSV and mail readers); ``records_read``, which equals
``records_staged + records_direct + records_passed_over + records_unparsed`` (staged for joining,
read straight into a conversation, of no role the reader uses, not parsed); ``conversations``
(every conversation the reader gave, valid or not); and ``by_stream``, the same counts (``read``,
``staged``, ``direct``, ``passed_over``, ``unparsed``) by stream (the ETL stream or the key of the
list that held the records, else the role of their file). With ``--limit`` the reading stops
early: the counts are of what was read until then.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from importer.outputs import OutputFile

SECRET_KEYS = frozenset(
    {"authorization", "access_token", "client_secret", "app_secret", "token", "refresh_token"}
)


class EventLog:
    """Writes events as JSON lines (the file created 0600); a no-op without a file.

    A line that cannot be written (disk full, file size limit) raises
    :class:`~importer.errors.OutputWriteError` once, from the ``emit`` that met it, which stops
    the run; later events are dropped, so that the stop itself (whose steps emit events too)
    is never interrupted by the same failure again."""

    def __init__(self, path: Path | None) -> None:
        self._handle = OutputFile(path, "a") if path else None
        self._lock = threading.Lock()

    def emit(self, event: str, fields: dict[str, Any] | None = None) -> None:
        """Write one event; keys that could hold a secret are dropped."""
        if self._handle is None or self._handle.failed is not None:
            return
        body = {"ts": round(time.time(), 3), "event": event}
        for key, value in (fields or {}).items():
            if key.lower() not in SECRET_KEYS:
                body[key] = value
        with self._lock:
            self._handle.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        """Close the file."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()
