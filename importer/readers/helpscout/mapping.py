"""The Help Scout mapping (``mappings/helpscout.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Help Scout reader lives in that file; :func:`helpscout_mapping` turns
it into a :class:`HelpScoutMapping` or raises a ``MappingError`` that names the key and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from importer.errors import MappingError
from importer.model import AUTHOR_ROLES, CONVERSATION_TYPES
from importer.readers.mapping_rules import KeyChecks

#: what a thread type can be read as: a customer message, an agent's public reply, a private
#: note, or a public message whose author (``createdBy.type``) says customer or agent
THREAD_KINDS = ("customer", "reply", "note", "by_author")
CUSTOM_FIELD_VALUES = ("text", "value")
KNOWN_KEYS = frozenset(
    {
        "default_type",
        "unknown_author_role",
        "custom_field_value",
        "drafts",
        "thread_types",
        "author_roles",
        "conversation_types",
        "statuses",
        "custom_field_names",
        "source_api_url",
    }
)
DRAFT_CHOICES = ("leave_out", "note")
DEFAULT_SOURCE_API = "https://api.helpscout.net"


@dataclass(frozen=True)
class HelpScoutMapping:
    """The Help Scout reader's value choices, indexed for lookups (keys lower-cased)."""

    default_type: str = "email"
    unknown_author_role: str = "agent"
    custom_field_value: str = "text"
    drafts: str = "leave_out"
    kind_by_thread_type: dict[str, str] = field(
        default_factory=lambda: {
            "customer": "customer",
            "message": "reply",
            "reply": "reply",
            "note": "note",
            "forwardparent": "note",
            "forwardchild": "note",
            "chat": "by_author",
            "phone": "by_author",
            "beaconchat": "by_author",
        }
    )
    role_by_person_type: dict[str, str] = field(
        default_factory=lambda: {"customer": "customer", "user": "agent", "system_user": "agent"}
    )
    type_by_conversation_type: dict[str, str] = field(
        default_factory=lambda: {"email": "email", "chat": "chat", "phone": "phone"}
    )
    status_by_status: dict[str, str] = field(
        default_factory=lambda: {
            "active": "active",
            "open": "active",
            "pending": "pending",
            "closed": "closed",
            "spam": "spam",
        }
    )
    custom_field_names: dict[str, str] = field(default_factory=dict)
    #: the OLD account's API, where the attachments tap-helpscout names by id are fetched
    source_api_url: str = DEFAULT_SOURCE_API

    def thread_kind(self, thread_type: Any) -> str | None:
        """How a thread ``type`` is read (:data:`THREAD_KINDS`); ``None``: an event, left out."""
        word = str(thread_type).strip().lower() if thread_type is not None else ""
        return self.kind_by_thread_type.get(word)

    def author_role(self, person_type: Any) -> str:
        """The canonical role of a ``createdBy.type``."""
        word = str(person_type).strip().lower() if person_type is not None else ""
        return self.role_by_person_type.get(word, self.unknown_author_role)

    def conversation_type(self, kind: Any) -> str:
        """The canonical type of a conversation ``type``."""
        word = str(kind).strip().lower() if kind is not None else ""
        return self.type_by_conversation_type.get(word, self.default_type)


CHECKS = KeyChecks("helpscout")


def _api_url(mapping: dict[str, Any]) -> str:
    """``source_api_url``: an http(s) address, without its trailing slash."""
    value = mapping.get("source_api_url", DEFAULT_SOURCE_API)
    if not isinstance(value, str) or not value.strip().lower().startswith(("https://", "http://")):
        raise MappingError(
            f"source_api_url in the helpscout mapping must be the old account's API address "
            f"(such as {DEFAULT_SOURCE_API!r}), not {value!r}"
        )
    return value.strip().rstrip("/")


def helpscout_mapping(mapping: dict[str, Any]) -> HelpScoutMapping:
    """Check the helpscout mapping and index it; a wrong mapping is a ``MappingError``."""
    CHECKS.known(mapping, KNOWN_KEYS)
    names = CHECKS.field_names(mapping)
    return HelpScoutMapping(
        default_type=CHECKS.choice(mapping, "default_type", CONVERSATION_TYPES, default="email"),
        unknown_author_role=CHECKS.choice(
            mapping, "unknown_author_role", AUTHOR_ROLES, default="agent"
        ),
        custom_field_value=CHECKS.choice(
            mapping, "custom_field_value", CUSTOM_FIELD_VALUES, default="text"
        ),
        drafts=CHECKS.choice(mapping, "drafts", DRAFT_CHOICES, default="leave_out"),
        kind_by_thread_type=CHECKS.lists(mapping, "thread_types", THREAD_KINDS),
        role_by_person_type=CHECKS.lists(mapping, "author_roles", AUTHOR_ROLES),
        type_by_conversation_type=CHECKS.value_map(
            mapping, "conversation_types", CONVERSATION_TYPES
        ),
        status_by_status=CHECKS.value_map(mapping, "statuses", None),
        custom_field_names=names,
        source_api_url=_api_url(mapping),
    )
