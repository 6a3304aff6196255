"""``--log-json``: one JSON object per event, with a stable ``event`` name; never a secret."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any

SECRET_KEYS = frozenset(
    {"authorization", "access_token", "client_secret", "app_secret", "token", "refresh_token"}
)


class EventLog:
    """Writes events as JSON lines; a no-op without a file."""

    def __init__(self, path: Path | None) -> None:
        self._handle: IO[str] | None = path.open("a", encoding="utf-8") if path else None
        self._lock = threading.Lock()

    def emit(self, event: str, fields: dict[str, Any] | None = None) -> None:
        """Write one event; keys that could hold a secret are dropped."""
        if self._handle is None:
            return
        body = {"ts": round(time.time(), 3), "event": event}
        for key, value in (fields or {}).items():
            if key.lower() not in SECRET_KEYS:
                body[key] = value
        with self._lock:
            self._handle.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
            self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
