"""The Intercom mapping (``mappings/intercom.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Intercom reader lives in that file; :func:`intercom_mapping` turns it
into an :class:`IntercomMapping` or raises a ``MappingError`` that names the key and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from importer.errors import MappingError
from importer.model import AUTHOR_ROLES, CONVERSATION_TYPES
from importer.readers.mapping_rules import BODY_FORMATS, KeyChecks

OTHER_PART_CHOICES = ("note", "drop")
KNOWN_KEYS = frozenset(
    {
        "default_type",
        "body_format",
        "unknown_author_role",
        "other_parts_with_body",
        "part_types",
        "conversation_types",
        "author_roles",
        "states",
        "custom_attributes",
        "custom_field_names",
    }
)


@dataclass(frozen=True)
class IntercomMapping:
    """The Intercom reader's value choices, indexed for lookups (keys lower-cased)."""

    default_type: str = "chat"
    body_format: str = "auto"
    unknown_author_role: str = "agent"
    other_parts_with_body: str = "note"
    public_part_types: frozenset[str] = frozenset({"comment"})
    private_part_types: frozenset[str] = frozenset({"note", "note_and_reopen"})
    type_by_source_type: dict[str, str] = field(
        default_factory=lambda: {"email": "email", "phone_call": "phone", "phone_switch": "phone"}
    )
    role_by_author_type: dict[str, str] = field(
        default_factory=lambda: {
            "user": "customer",
            "lead": "customer",
            "contact": "customer",
            "admin": "agent",
            "bot": "agent",
            "team": "agent",
        }
    )
    status_by_state: dict[str, str] = field(
        default_factory=lambda: {"open": "open", "closed": "closed", "snoozed": "snoozed"}
    )
    skipped_attributes: frozenset[str] = frozenset({"_default_title_", "_default_description_"})
    subject_attributes: tuple[str, ...] = ("_default_title_",)
    ticket_attributes: bool = True
    custom_field_names: dict[str, str] = field(default_factory=dict)

    def conversation_type(self, source_type: Any) -> str:
        """The canonical type of a ``source.type``."""
        word = str(source_type).strip().lower() if source_type is not None else ""
        return self.type_by_source_type.get(word, self.default_type)

    def author_role(self, author_type: Any) -> str:
        """The canonical role of an ``author.type``."""
        word = str(author_type).strip().lower() if author_type is not None else ""
        return self.role_by_author_type.get(word, self.unknown_author_role)


CHECKS = KeyChecks("intercom")


def intercom_mapping(mapping: dict[str, Any]) -> IntercomMapping:
    """Check the intercom mapping and index it; a wrong mapping is a ``MappingError``."""
    CHECKS.known(mapping, KNOWN_KEYS)
    parts = CHECKS.table(mapping, "part_types")
    unknown_parts = sorted(set(parts) - {"public", "private"})
    if unknown_parts:
        raise MappingError(
            f"[part_types] in the intercom mapping takes public and private, "
            f"not {', '.join(unknown_parts)}"
        )
    role_by_author_type = CHECKS.lists(mapping, "author_roles", AUTHOR_ROLES)
    attributes = CHECKS.table(mapping, "custom_attributes")
    unknown_attributes = sorted(set(attributes) - {"skipped", "subject_from", "ticket_attributes"})
    if unknown_attributes:
        raise MappingError(
            "[custom_attributes] in the intercom mapping takes skipped, subject_from and "
            f"ticket_attributes, not {', '.join(unknown_attributes)}"
        )
    ticket_attributes = attributes.get("ticket_attributes", True)
    if not isinstance(ticket_attributes, bool):
        raise MappingError(
            "[custom_attributes] ticket_attributes in the intercom mapping must be true or false"
        )
    names = CHECKS.field_names(mapping)
    return IntercomMapping(
        default_type=CHECKS.choice(mapping, "default_type", CONVERSATION_TYPES, default="chat"),
        body_format=CHECKS.choice(mapping, "body_format", BODY_FORMATS, default="auto"),
        unknown_author_role=CHECKS.choice(
            mapping, "unknown_author_role", AUTHOR_ROLES, default="agent"
        ),
        other_parts_with_body=CHECKS.choice(
            mapping, "other_parts_with_body", OTHER_PART_CHOICES, default="note"
        ),
        public_part_types=frozenset(
            w.lower() for w in CHECKS.words(parts.get("public", []), "[part_types] public")
        ),
        private_part_types=frozenset(
            w.lower() for w in CHECKS.words(parts.get("private", []), "[part_types] private")
        ),
        type_by_source_type=CHECKS.value_map(mapping, "conversation_types", CONVERSATION_TYPES),
        role_by_author_type=role_by_author_type,
        status_by_state=CHECKS.value_map(mapping, "states", None),
        skipped_attributes=frozenset(
            CHECKS.words(attributes.get("skipped", []), "[custom_attributes] skipped")
        ),
        subject_attributes=tuple(
            CHECKS.words(attributes.get("subject_from", []), "[custom_attributes] subject_from")
        ),
        ticket_attributes=ticket_attributes,
        custom_field_names=names,
    )
