"""The Front mapping (``mappings/front.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Front reader lives in that file; :func:`front_mapping` checks it with
pydantic (a wrong key or value is one :class:`~importer.errors.MappingError` naming the table and
key) and hands the reader a frozen :class:`FrontMapping` whose words are lower-cased.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from importer.errors import MappingError

ConversationType = Literal["email", "chat", "phone"]
CommentChoice = Literal["note", "drop"]


def _lowered(table: dict[str, Any]) -> dict[str, Any]:
    return {str(key).strip().lower(): value for key, value in table.items()}


class FrontMapping(BaseModel):
    """The Front reader's value choices (the keys of ``mappings/front.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = "front"
    default_type: ConversationType = "email"
    comments: CommentChoice = "note"
    deleted_tag: str = "deleted"
    conversation_types: dict[str, ConversationType] = Field(default_factory=dict)
    statuses: dict[str, str] = Field(default_factory=dict)
    custom_field_names: dict[str, str] = Field(default_factory=dict)

    @field_validator("conversation_types", "statuses", mode="before")
    @classmethod
    def _lower_keys(cls, value: Any) -> Any:
        return _lowered(value) if isinstance(value, dict) else value

    def conversation_type(self, message_type: Any) -> str:
        """The canonical type of the first message's ``type`` (its channel's kind)."""
        word = str(message_type).strip().lower() if message_type is not None else ""
        return self.conversation_types.get(word, self.default_type)

    def status(self, status: Any) -> str | None:
        """The canonical status word of a conversation ``status`` (unlisted: as written)."""
        if not isinstance(status, str) or not status.strip():
            return None
        return self.statuses.get(status.strip().lower(), status.strip())


def _where(error: dict[str, Any]) -> str:
    path = [str(part) for part in error.get("loc", ())]
    if len(path) > 1:
        return f"[{path[0]}] {'.'.join(path[1:])}"
    return path[0] if path else "the file"


def mapping_problems(error: ValidationError) -> str:
    """The problems of a mapping, each naming its table and key."""
    problems = []
    for item in error.errors():
        found = dict(item)
        if found["type"] == "extra_forbidden":
            problems.append(f"{_where(found)}: unknown key")
        else:
            problems.append(f"{_where(found)}: {found['msg']} (got {found['input']!r})")
    return "; ".join(problems)


def front_mapping(mapping: dict[str, Any]) -> FrontMapping:
    """Check the Front mapping; a wrong mapping is a ``MappingError`` naming the key."""
    try:
        return FrontMapping.model_validate(mapping)
    except ValidationError as exc:
        raise MappingError(
            f"the front mapping (mappings/front.toml with --mapping merged over) is wrong: "
            f"{mapping_problems(exc)}; fix the --mapping file (mappings/front.toml lists every key)"
        ) from exc
