"""Attachments uploaded after their part was created: one row each, ``pending`` until done or
failed, noted before the part's POST so a stop cannot lose them."""

from __future__ import annotations

from importer.pipeline.checkpoint.store import Log


class UploadsLog(Log):
    """The ``uploads`` table."""

    def record_uploads(self, source_id: str, part: int, count: int) -> None:
        """Note that a created part has ``count`` attachments to upload (kept if noted before)."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT OR IGNORE INTO uploads (source_id, part, attachment, state) "
                "VALUES (?, ?, ?, 'pending')",
                [(source_id, part, index) for index in range(count)],
            )

    def record_upload(self, source_id: str, part: int, attachment: int, *, done: bool) -> None:
        """An attachment was uploaded (``done``) or given up on."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "UPDATE uploads SET state = ? WHERE source_id = ? AND part = ? AND attachment = ?",
                ("done" if done else "failed", source_id, part, attachment),
            )
            if done:  # the importer's last write to the conversation (``undo`` compares it)
                self._conn.execute(
                    "UPDATE parts SET last_write_at = ? WHERE source_id = ? AND part = ?",
                    (self._clock(), source_id, part),
                )

    def upload_states(self, source_id: str, part: int) -> dict[int, str]:
        """Every noted attachment of a part with its state (pending, done, failed)."""
        rows = self._conn.execute(
            "SELECT attachment, state FROM uploads WHERE source_id = ? AND part = ?",
            (source_id, part),
        ).fetchall()
        return {int(row[0]): str(row[1]) for row in rows}

    def has_pending_uploads(self, source_id: str) -> bool:
        """Whether a conversation still has attachments to upload."""
        row = self._conn.execute(
            "SELECT 1 FROM uploads WHERE source_id = ? AND state = 'pending' LIMIT 1", (source_id,)
        ).fetchone()
        return row is not None

    def upload_counts(self) -> dict[str, int]:
        """Attachments to upload after creation, per state (pending, done, failed)."""
        counts = {"pending": 0, "done": 0, "failed": 0}
        for state, n in self._conn.execute("SELECT state, COUNT(*) FROM uploads GROUP BY state"):
            counts[state] = n
        return counts
