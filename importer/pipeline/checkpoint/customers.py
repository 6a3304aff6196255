"""Customers the importer created (those without email): their Help Scout ids, and the intent
recorded before each creation, so a lost answer is looked up instead of creating them twice."""

from __future__ import annotations

from importer.pipeline.checkpoint.store import Log


class CustomersLog(Log):
    """The ``customers`` and ``customer_intents`` tables."""

    def customer_id(self, source_key: str) -> int | None:
        """The Help Scout customer created for a source customer key, if any."""
        row = self._conn.execute(
            "SELECT customer_id FROM customers WHERE source_key = ?", (source_key,)
        ).fetchone()
        return int(row[0]) if row else None

    def customer_intent(self, source_key: str) -> float | None:
        """When a customer of this key was first asked for, if ever (to look for it first)."""
        row = self._conn.execute(
            "SELECT first_sent_at FROM customer_intents WHERE source_key = ?", (source_key,)
        ).fetchone()
        return float(row[0]) if row else None

    def record_customer_intent(self, source_key: str) -> float:
        """Commit the intent to create a customer before its POST; returns the first time."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT OR IGNORE INTO customer_intents (source_key, first_sent_at) VALUES (?, ?)",
                (source_key, self._clock()),
            )
        first = self.customer_intent(source_key)
        assert first is not None
        return first

    def put_customer(self, source_key: str, customer_id: int) -> None:
        """Remember the Help Scout customer created for a source customer key."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO customers (source_key, customer_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (source_key) DO UPDATE SET customer_id = excluded.customer_id",
                (source_key, int(customer_id), self._clock()),
            )
