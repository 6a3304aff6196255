"""The Zendesk mapping (``mappings/zendesk.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Zendesk reader lives in the TOML file; this module turns it into one
frozen :class:`ZendeskMapping`, or raises a :class:`MappingError` naming the table and key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import Field, ValidationError, field_validator

from importer.errors import MappingError
from importer.model import CLOSED_LIKE, OPEN_LIKE, PENDING_LIKE
from importer.readers.mapping_rules import BodyFormat, Table

CONVERSATION_TYPES = ("email", "chat", "phone")


class _Channels(Table):
    default: str = "email"
    email: list[str] = Field(default_factory=list)
    chat: list[str] = Field(default_factory=list)
    phone: list[str] = Field(default_factory=list)

    @field_validator("default")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in CONVERSATION_TYPES:
            raise ValueError(f"must be one of {', '.join(CONVERSATION_TYPES)}")
        return value


class _Roles(Table):
    customer: list[str] = Field(default_factory=list)
    agent: list[str] = Field(default_factory=list)
    system: list[str] = Field(default_factory=list)


class _Authors(Table):
    system_ids: list[str] = Field(default_factory=list)
    private_by_agent: bool = True


class _Privacy(Table):
    private_when_not_public: bool = True


class _Description(Table):
    use_when_first_comment_missing: bool = True
    first_comment_within_s: int = Field(default=5, ge=0)


class _Tags(Table):
    drop: list[str] = Field(default_factory=list)


class _CustomFields(Table):
    unnamed: str = "Zendesk field {id}"
    drop: list[str] = Field(default_factory=list)
    drop_values: list[str] = Field(default_factory=list)
    keep_empty: bool = False
    names: dict[str, str] = Field(default_factory=dict)

    @field_validator("unnamed")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("must contain {id}, where the field's id goes")
        return value


class _MappingFile(Table):
    source: str = "zendesk"
    body_format: BodyFormat = "auto"
    status: dict[str, str] = Field(default_factory=dict)
    channels: _Channels = Field(default_factory=_Channels)
    roles: _Roles = Field(default_factory=_Roles)
    authors: _Authors = Field(default_factory=_Authors)
    privacy: _Privacy = Field(default_factory=_Privacy)
    description: _Description = Field(default_factory=_Description)
    tags: _Tags = Field(default_factory=_Tags)
    custom_fields: _CustomFields = Field(default_factory=_CustomFields)

    @field_validator("status")
    @classmethod
    def _known_words(cls, value: dict[str, str]) -> dict[str, str]:
        known = OPEN_LIKE | PENDING_LIKE | CLOSED_LIKE
        wrong = sorted(word for word in value.values() if word.strip().lower() not in known)
        if wrong:
            raise ValueError(
                f"unknown status word(s) {', '.join(wrong)}; use one of {', '.join(sorted(known))}"
            )
        return value


def _lower_index(lists: Iterable[tuple[str, list[str]]]) -> dict[str, str]:
    return {word.strip().lower(): target for target, words in lists for word in words}


@lru_cache(maxsize=64)
def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression matching what any of the fnmatch ``patterns`` matches."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")


@lru_cache(maxsize=4096)  # tags and field values repeat from ticket to ticket
def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return _pattern(patterns).match(value.lower()) is not None


@dataclass(frozen=True)
class ZendeskMapping:
    """The checked Zendesk mapping, indexed for look-ups."""

    source: str
    status_words: dict[str, str]  # zendesk status -> canonical status word
    channel_types: dict[str, str]  # via.channel -> conversation type
    default_type: str
    role_words: dict[str, str]  # user role -> author role
    system_author_ids: frozenset[str]
    private_by_agent: bool
    private_when_not_public: bool
    description_when_first_missing: bool
    first_comment_within_s: int
    dropped_tags: tuple[str, ...]
    field_names: dict[str, str]  # field id -> name, over the ticket_fields titles
    unnamed_field: str
    dropped_fields: frozenset[str]  # lower-cased titles or ids
    dropped_values: tuple[str, ...]
    keep_empty_fields: bool
    body_format: str = "auto"  # "text": plain_body, else body as text, before html_body

    def status(self, word: str | None) -> str | None:
        """The canonical status word of a Zendesk status (unknown words kept as written)."""
        if word is None or not str(word).strip():
            return None
        return self.status_words.get(str(word).strip().lower(), str(word))

    def type_of(self, channel: str | None) -> str:
        """The conversation type of a ``via.channel`` value."""
        if channel is None:
            return self.default_type
        return self.channel_types.get(str(channel).strip().lower(), self.default_type)

    def role(self, user_role: str | None) -> str | None:
        """The author role of a user ``role``, ``None`` when the mapping does not list it."""
        if user_role is None:
            return None
        return self.role_words.get(str(user_role).strip().lower())

    def drops_tag(self, tag: str) -> bool:
        """True for a tag the mapping drops."""
        return _matches(tag, self.dropped_tags)

    def drops_field(self, field_id: str, name: str, value: Any) -> bool:
        """True for a custom field the mapping leaves out (by id, title or value)."""
        if field_id.lower() in self.dropped_fields or name.lower() in self.dropped_fields:
            return True
        if value is None or value == "" or value == []:
            return not self.keep_empty_fields
        if isinstance(value, str):
            return _matches(value, self.dropped_values)
        return False

    def field_name(self, field_id: str, title: str | None) -> str:
        """The name of custom field ``field_id``: the mapping's, the title, else ``unnamed``."""
        return self.field_names.get(field_id) or title or self.unnamed_field.format(id=field_id)


def _problem(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def zendesk_mapping(mapping: dict[str, Any]) -> ZendeskMapping:
    """Check the zendesk mapping and index it; a wrong mapping is a ``MappingError``."""
    try:
        checked = _MappingFile.model_validate(mapping)
    except ValidationError as exc:
        raise MappingError(
            f"the zendesk mapping is wrong: {_problem(exc)}; "
            "mappings/zendesk.toml lists every key with its meaning"
        ) from exc
    channels = checked.channels
    roles = checked.roles
    fields = checked.custom_fields
    return ZendeskMapping(
        source=checked.source,
        status_words={k.strip().lower(): v for k, v in checked.status.items()},
        channel_types=_lower_index((kind, getattr(channels, kind)) for kind in CONVERSATION_TYPES),
        default_type=channels.default,
        role_words=_lower_index(
            (role, getattr(roles, role)) for role in ("customer", "agent", "system")
        ),
        system_author_ids=frozenset(checked.authors.system_ids),
        private_by_agent=checked.authors.private_by_agent,
        private_when_not_public=checked.privacy.private_when_not_public,
        description_when_first_missing=checked.description.use_when_first_comment_missing,
        first_comment_within_s=checked.description.first_comment_within_s,
        dropped_tags=tuple(p.lower() for p in checked.tags.drop),
        field_names={str(k): v for k, v in fields.names.items()},
        unnamed_field=fields.unnamed,
        dropped_fields=frozenset(str(name).lower() for name in fields.drop),
        dropped_values=tuple(p.lower() for p in fields.drop_values),
        keep_empty_fields=fields.keep_empty,
        body_format=checked.body_format,
    )
