"""The Front mapping (``mappings/front.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Front reader lives in that file; :func:`front_mapping` checks it with
pydantic (a wrong key or value is one :class:`~importer.errors.MappingError` naming the table and
key) and hands the reader a frozen :class:`FrontMapping` whose words are lower-cased.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from importer.readers.mapping_rules import BodyFormat, Table, checked, lowered_keys

ConversationType = Literal["email", "chat", "phone"]
CommentChoice = Literal["note", "drop"]


class FrontMapping(Table):
    """The Front reader's value choices (the keys of ``mappings/front.toml``)."""

    source: str = "front"
    default_type: ConversationType = "email"
    body_format: BodyFormat = "auto"
    comments: CommentChoice = "note"
    deleted_tag: str = "deleted"
    conversation_types: dict[str, ConversationType] = Field(default_factory=dict)
    statuses: dict[str, str] = Field(default_factory=dict)
    custom_field_names: dict[str, str] = Field(default_factory=dict)

    @field_validator("conversation_types", "statuses", mode="before")
    @classmethod
    def _lower_keys(cls, value: Any) -> Any:
        return lowered_keys(value)

    def conversation_type(self, message_type: Any) -> str:
        """The canonical type of the first message's ``type`` (its channel's kind)."""
        word = str(message_type).strip().lower() if message_type is not None else ""
        return self.conversation_types.get(word, self.default_type)

    def status(self, status: Any) -> str | None:
        """The canonical status word of a conversation ``status`` (unlisted: as written)."""
        if not isinstance(status, str) or not status.strip():
            return None
        return self.statuses.get(status.strip().lower(), status.strip())


def front_mapping(mapping: dict[str, Any]) -> FrontMapping:
    """Check the Front mapping; a wrong mapping is a ``MappingError`` naming the key."""
    return checked(FrontMapping, mapping, "front")
