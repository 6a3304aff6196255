"""What a stage found wrong with a conversation: an error (left out) or a warning (changed to fit).

Every stage reports through ``Finding`` so the report and the dead-letter file read one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One entry of the report's ``errors`` or ``warnings`` list."""

    stage: str  # read, normalise, map, validate, split, attachment, send, reconcile
    code: str  # a field path ("customer.firstName") or a short reason ("threads", "parse")
    message: str
    location: str | None = None
    source_id: str | None = None
    part: int | None = None

    def as_error(self) -> dict[str, Any]:
        """The report's shape of an ``errors`` entry."""
        return {
            "source_id": self.source_id,
            "part": self.part,
            "stage": self.stage,
            "code": self.code,
            "message": self.message,
            "location": self.location,
        }

    def as_warning(self) -> dict[str, Any]:
        """The report's shape of a ``warnings`` entry."""
        return {
            "source_id": self.source_id,
            "stage": self.stage,
            "code": self.code,
            "message": self.message,
            "location": self.location,
        }
