"""The Help Scout mapping (``mappings/helpscout.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Help Scout reader lives in that file; :func:`helpscout_mapping` turns
it into a :class:`HelpScoutMapping` or raises a ``MappingError`` that names the key and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from importer.errors import MappingError
from importer.model import AUTHOR_ROLES, CONVERSATION_TYPES

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
    }
)
DRAFT_CHOICES = ("leave_out", "note")


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


def _choice(mapping: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = mapping.get(key, default)
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise MappingError(
            f"{key} in the helpscout mapping must be one of {', '.join(choices)}, not {value!r}"
        )
    return value.strip().lower()


def _table(mapping: dict[str, Any], name: str) -> dict[str, Any]:
    table = mapping.get(name, {})
    if not isinstance(table, dict):
        raise MappingError(f"[{name}] in the helpscout mapping must be a table, not {table!r}")
    return table


def _words(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise MappingError(f"{where} in the helpscout mapping must be a list of words in quotes")
    return [word.strip().lower() for word in value if word.strip()]


def _lists(mapping: dict[str, Any], name: str, targets: tuple[str, ...]) -> dict[str, str]:
    """A ``target = ["word", ...]`` table turned into word -> target."""
    indexed: dict[str, str] = {}
    for target, listed in _table(mapping, name).items():
        if target not in targets:
            raise MappingError(
                f"[{name}] in the helpscout mapping has keys among {', '.join(targets)}, "
                f"not {target!r}"
            )
        for word in _words(listed, f"[{name}] {target}"):
            indexed[word] = target
    return indexed


def _value_map(
    mapping: dict[str, Any], name: str, targets: tuple[str, ...] | None
) -> dict[str, str]:
    """A ``word = "target"`` table, keys lower-cased, targets checked when ``targets`` is given."""
    indexed: dict[str, str] = {}
    for word, target in _table(mapping, name).items():
        if not isinstance(target, str) or (targets is not None and target not in targets):
            allowed = f"one of {', '.join(targets)}" if targets else "a word in quotes"
            raise MappingError(
                f"[{name}] {word} in the helpscout mapping must be {allowed}, not {target!r}"
            )
        indexed[word.strip().lower()] = target
    return indexed


def helpscout_mapping(mapping: dict[str, Any]) -> HelpScoutMapping:
    """Check the helpscout mapping and index it; a wrong mapping is a ``MappingError``."""
    unknown = sorted(set(mapping) - KNOWN_KEYS)
    if unknown:
        raise MappingError(
            f"the helpscout mapping names unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_KEYS))}"
        )
    names = _table(mapping, "custom_field_names")
    for name, target in names.items():
        if not isinstance(target, str) or not target.strip():
            raise MappingError(
                f"[custom_field_names] {name!r} in the helpscout mapping must be a field name "
                f"in quotes, not {target!r}"
            )
    return HelpScoutMapping(
        default_type=_choice(mapping, "default_type", CONVERSATION_TYPES, "email"),
        unknown_author_role=_choice(mapping, "unknown_author_role", AUTHOR_ROLES, "agent"),
        custom_field_value=_choice(mapping, "custom_field_value", CUSTOM_FIELD_VALUES, "text"),
        drafts=_choice(mapping, "drafts", DRAFT_CHOICES, "leave_out"),
        kind_by_thread_type=_lists(mapping, "thread_types", THREAD_KINDS),
        role_by_person_type=_lists(mapping, "author_roles", AUTHOR_ROLES),
        type_by_conversation_type=_value_map(mapping, "conversation_types", CONVERSATION_TYPES),
        status_by_status=_value_map(mapping, "statuses", None),
        custom_field_names={name: str(target).strip() for name, target in names.items()},
    )
