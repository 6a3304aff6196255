"""The checkpoint's error log: what went wrong, for ``importer status`` (last 20)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from importer.pipeline.checkpoint.store import Log


@dataclass(frozen=True)
class ErrorEntry:
    """One row of the errors log."""

    at: float
    source_id: str | None
    part: int | None
    stage: str
    code: str
    message: str

    @property
    def at_iso(self) -> str:
        """``at`` as ``YYYY-MM-DDTHH:MM:SSZ``."""
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ErrorLog(Log):
    """The ``errors`` table."""

    def log_error(
        self,
        *,
        stage: str,
        code: str,
        message: str,
        source_id: str | None = None,
        part: int | None = None,
    ) -> None:
        """Append to the errors log (invalid records, left-out attachments...)."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._insert_error(source_id, part, stage, code=code, message=message)

    def last_errors(self, n: int = 20) -> list[ErrorEntry]:
        """The ``n`` most recent errors, newest first."""
        rows = self._conn.execute(
            "SELECT at, source_id, part, stage, code, message FROM errors ORDER BY id DESC LIMIT ?",
            (n,),
        ).fetchall()
        return [ErrorEntry(*row) for row in rows]
