"""The Gorgias mapping (``mappings/gorgias.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Gorgias reader lives in that file; :func:`gorgias_mapping` checks it
with pydantic (a wrong key or value is one :class:`~importer.errors.MappingError` naming the table
and key) and hands the reader a frozen :class:`GorgiasMapping` whose words are lower-cased.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from importer.readers.mapping_rules import BodyFormat, Table, checked, lowered_keys

ConversationType = Literal["email", "chat", "phone"]


class GorgiasMapping(Table):
    """The Gorgias reader's value choices (the keys of ``mappings/gorgias.toml``)."""

    source: str = "gorgias"
    default_type: ConversationType = "email"
    body_format: BodyFormat = "auto"
    spam_tag: str = "spam"
    note_channels: list[str] = Field(default_factory=lambda: ["internal-note"])
    conversation_types: dict[str, ConversationType] = Field(default_factory=dict)
    statuses: dict[str, str] = Field(default_factory=dict)

    @field_validator("conversation_types", "statuses", mode="before")
    @classmethod
    def _lower_keys(cls, value: Any) -> Any:
        return lowered_keys(value)

    @field_validator("note_channels", mode="after")
    @classmethod
    def _lower_words(cls, value: list[str]) -> list[str]:
        return [word.strip().lower() for word in value if word.strip()]

    def conversation_type(self, channel: Any) -> str:
        """The canonical type of a ticket ``channel``."""
        word = str(channel).strip().lower() if channel is not None else ""
        return self.conversation_types.get(word, self.default_type)

    def status(self, status: Any) -> str | None:
        """The canonical status word of a ticket ``status`` (unlisted: as written)."""
        if not isinstance(status, str) or not status.strip():
            return None
        return self.statuses.get(status.strip().lower(), status.strip())


def gorgias_mapping(mapping: dict[str, Any]) -> GorgiasMapping:
    """Check the Gorgias mapping; a wrong mapping is a ``MappingError`` naming the key."""
    return checked(GorgiasMapping, mapping, "gorgias")
