"""Which ``(kind, key)`` pairs a staging store was given, answered without a query: a Bloom
filter.

Most look-ups a reader makes while it stages are of a key not staged yet: a ticket's id before
its first copy is put (:meth:`~importer.readers.staging.StagingStore.put_once`), a mail's own
Message-ID, a thread never joined into another. Each was an SQLite query that found nothing.
:class:`KeyFilter` says "never given" for certain and "perhaps" otherwise (a query then tells);
in a fixed :data:`FILTER_BITS` bits, whatever the size of the export: at 500,000 pairs about one
"perhaps" in 300 is wrong, at 5,000,000 one in 5, never an answer.
"""

from __future__ import annotations

#: the filter's size in bits (2 MiB)
FILTER_BITS = 1 << 24
_MASK = FILTER_BITS - 1
_SHIFT = FILTER_BITS.bit_length() - 1


class KeyFilter:
    """The ``(kind, key)`` pairs added, by two bits each of one hash (of this process: the
    filter is never written nor sent to another process)."""

    def __init__(self) -> None:
        self.bits = bytearray(FILTER_BITS >> 3)

    def add(self, kind: str, key: str | None) -> None:
        """Remember ``(kind, key)``."""
        code = hash((kind, key))
        first, second = code & _MASK, (code >> _SHIFT) & _MASK
        bits = self.bits
        bits[first >> 3] |= 1 << (first & 7)
        bits[second >> 3] |= 1 << (second & 7)

    def may_hold(self, kind: str, key: str | None) -> bool:
        """``False`` when ``(kind, key)`` was never added; ``True`` when it may have been."""
        code = hash((kind, key))
        first, second = code & _MASK, (code >> _SHIFT) & _MASK
        bits = self.bits
        return bool(
            bits[first >> 3] & (1 << (first & 7)) and bits[second >> 3] & (1 << (second & 7))
        )
