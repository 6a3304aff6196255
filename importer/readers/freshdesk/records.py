"""The records of a Freshdesk export: ids, people (contacts, agents), ticket fields, roles.

A file's records are recognised by content, never by file or stream name (``source-formats.md``
§14): no single key is required, since exports and ETL tools drop empty fields. A stream named
``conversations`` may be Intercom's, so the record decides; the stream name only settles a record
that fits two roles equally.
"""

from __future__ import annotations

from collections.abc import KeysView
from dataclasses import dataclass, field
from typing import Any, Protocol

from importer.readers.common import id_text
from importer.readers.signs import other_platform

ROLES = ("tickets", "conversations", "contacts", "agents", "ticket_fields")
# ``type`` values of other platforms' records (Intercom, Help Scout) that share key names
_FOREIGN_TYPES = frozenset(
    {"conversation", "conversation_part", "contact", "admin", "user", "lead", "team", "bot"}
)
_TICKET_KEYS = frozenset(
    [
        "requester_id",
        "responder_id",
        "fr_due_by",
        "fr_escalated",
        "nr_due_by",
        "due_by",
        "description_text",
        "requester",
        "is_escalated",
        "email_config_id",
        "reply_cc_emails",
        "ticket_cc_emails",
        "fwd_emails",
        "association_type",
        "stats",
    ]
)
_CONVERSATION_KEYS = frozenset(
    [
        "incoming",
        "private",
        "body_text",
        "from_email",
        "support_email",
        "thread_id",
        "auto_response",
        "bcc_emails",
        "email_failure_count",
        "source_additional_info",
    ]
)
_AGENT_KEYS = frozenset(
    ["occasional", "ticket_scope", "available_since", "signature", "available", "focus_mode"]
)
# contact keys only Freshdesk writes, and those any person record may have
_CONTACT_KEYS = frozenset(
    [
        "twitter_id",
        "facebook_id",
        "unique_external_id",
        "other_emails",
        "other_companies",
        "csat_rating",
        "view_all_tickets",
        "preferred_source",
        "twitter_profile_status",
    ]
)
_PERSON_KEYS = frozenset(["phone", "mobile", "address", "job_title", "time_zone", "company_id"])
# keys of other platforms' records (Zendesk, Intercom, Gorgias, Help Scout, Zoho, Kayako,
# HubSpot) that a Freshdesk record never has
_FOREIGN_KEYS = frozenset(
    [
        "via",
        "raw_subject",
        "html_body",
        "plain_body",
        "public",
        "author_id",
        "from_agent",
        "body_html",
        "sender",
        "uri",
        "part_type",
        "conversation_parts",
        "workspace_id",
        "role",
        "url",
        "_links",
        "_embedded",
        "primaryCustomer",
        "ticketNumber",
        "isDescriptionThread",
        "resource_type",
        "properties",
    ]
)
_FIELD_KEYS = frozenset(
    [
        "label",
        "position",
        "required_for_agents",
        "required_for_closure",
        "label_for_customers",
        "customers_can_edit",
        "displayed_to_customers",
        "required_for_customers",
        "choices",
    ]
)


def text_of(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def items_of(value: Any) -> list[Any]:
    """A list field, ``null`` or missing read as empty."""
    return value if isinstance(value, list) else []


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """``"Matt Rogers"`` -> ``("Matt", "Rogers")``; one word is a first name."""
    words = (name or "").split()
    if not words:
        return None, None
    return words[0], " ".join(words[1:]) or None


@dataclass(frozen=True)
class Person:
    """A contact or an agent, as far as messages and the customer need them."""

    id: str | None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    job_title: str | None = None
    is_agent: bool = False


def contact_person(record: dict[str, Any]) -> Person:
    """The person of a contact record (or of a ticket's embedded ``requester``)."""
    return Person(
        id=id_text(record.get("id")),
        name=text_of(record.get("name")),
        email=text_of(record.get("email")),
        phone=text_of(record.get("phone")) or text_of(record.get("mobile")),
        job_title=text_of(record.get("job_title")),
    )


def agent_person(record: dict[str, Any]) -> Person:
    """The person of an agent record: name and email sit in its ``contact``."""
    contact = record.get("contact")
    details = contact if isinstance(contact, dict) else record
    return Person(
        id=id_text(record.get("id")),
        name=text_of(details.get("name")),
        email=text_of(details.get("email")),
        phone=text_of(details.get("phone")) or text_of(details.get("mobile")),
        job_title=text_of(details.get("job_title")),
        is_agent=True,
    )


class People(Protocol):
    """Contacts and agents by id (the reader keeps them in its staging store)."""

    @property
    def has_contacts(self) -> bool: ...

    @property
    def has_agents(self) -> bool: ...

    def agent(self, user_id: str) -> Person | None: ...

    def contact(self, user_id: str) -> Person | None: ...


@dataclass
class PeopleInMemory:
    """:class:`People` from dicts: for tests and small exports."""

    agents: dict[str, Person] = field(default_factory=dict)
    contacts: dict[str, Person] = field(default_factory=dict)

    @property
    def has_contacts(self) -> bool:
        return bool(self.contacts)

    @property
    def has_agents(self) -> bool:
        return bool(self.agents)

    def agent(self, user_id: str) -> Person | None:
        return self.agents.get(user_id)

    def contact(self, user_id: str) -> Person | None:
        return self.contacts.get(user_id)


@dataclass
class TicketFields:
    """What the ticket_fields records say: custom status labels and custom field labels."""

    status_labels: dict[str, str] = field(default_factory=dict)  # "6" -> "Waiting on Third Party"
    field_labels: dict[str, str] = field(default_factory=dict)  # "cf_order_number" -> "Order no."

    def add(self, record: dict[str, Any]) -> None:
        """Take in one ticket_fields record."""
        name = text_of(record.get("name"))
        if name == "status" or record.get("type") == "default_status":
            choices = record.get("choices")
            if isinstance(choices, dict):
                for code, labels in choices.items():
                    label = labels[0] if isinstance(labels, list) and labels else labels
                    if text_of(label) and id_text(code):
                        self.status_labels[str(id_text(code))] = str(text_of(label))
            return
        label = text_of(record.get("label"))
        if name and label and record.get("default") is not True:
            self.field_labels[name] = label


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: the scores a record's keys alone give (before its values are looked at), by its keys in
#: order: an export's records of one kind have the same keys, so each set is scored once
_KEY_SCORES: dict[tuple[str, ...], tuple[int, int, int, int, int]] = {}
_KEY_SCORES_KEPT = 4096


def _key_scores(keys: KeysView[str]) -> tuple[int, int, int, int, int]:
    """Tickets, conversations, agents, contacts and ticket fields: the telling keys of each."""
    known = tuple(keys)
    scores = _KEY_SCORES.get(known)
    if scores is None:
        tickets = len(_TICKET_KEYS & keys)
        conversations = len(_CONVERSATION_KEYS & keys)
        if "ticket_id" in keys and ({"body", "body_text"} & keys):
            conversations += 2
        if "ticket_id" in keys or "body" in keys:
            tickets = 0  # a ticket has no ticket id; its text is ``description``
        contacts = 2 * len(_CONTACT_KEYS & keys) + (1 if _PERSON_KEYS & keys else 0)
        agents, fields = len(_AGENT_KEYS & keys), len(_FIELD_KEYS & keys)
        scores = (tickets, conversations, agents, contacts, fields)
        if len(_KEY_SCORES) >= _KEY_SCORES_KEPT:
            _KEY_SCORES.clear()
        _KEY_SCORES[known] = scores
    return scores


def _scores(record: dict[str, Any], stream: str) -> dict[str, int]:
    """How many of each role's telling keys (and values) the record has."""
    keys = record.keys()
    tickets, conversations, agents, contacts, fields = _key_scores(keys)
    scores = {
        "tickets": tickets,
        "conversations": conversations,
        "agents": agents,
        "contacts": contacts,
        "ticket_fields": fields,
    }
    if _is_number(record.get("status")) and "subject" in keys:
        scores["tickets"] += 2
    custom = record.get("custom_fields")
    if isinstance(custom, dict) and any(str(key).startswith("cf_") for key in custom):
        scores["tickets"] += 1
    contact = record.get("contact")
    if isinstance(contact, dict) and ({"email", "name"} & contact.keys()):
        scores["agents"] += 2
    field_type = str(record.get("type") or "")
    if field_type.startswith(("default_", "custom_", "nested_")) and "name" in keys:
        scores["ticket_fields"] += 2
    others = max(scores["tickets"], scores["conversations"], scores["agents"])
    if others >= 2 or "subject" in keys or "ticket_id" in keys:
        scores["contacts"] = 0  # a ticket's, reply's or agent's emails are not a contact's
    elif "email" in keys:
        scores["contacts"] += 1 + (1 if stream in ("contacts", "requesters") else 0)
    return scores


def record_role(record: Any, stream: str | None = None) -> str | None:
    """The role of one record (one of :data:`ROLES`), ``None`` for a record the reader passes over.

    ``stream`` (an ETL stream or container key) is a hint only: it breaks a tie between two
    roles, and lets a bare ``{id, name, email}`` record of a ``contacts`` stream be a contact.
    """
    if not isinstance(record, dict):
        return None
    if str(record.get("type") or "").lower() in _FOREIGN_TYPES:
        return None
    if not _FOREIGN_KEYS.isdisjoint(record.keys()):
        return None
    if other_platform(record, "freshdesk") is not None:
        return None
    hinted = (stream or "").strip().lower()
    scores = _scores(record, hinted)
    best = max(scores.values())
    if best < 2:
        return None
    leaders = [role for role, score in scores.items() if score == best]
    if len(leaders) > 1 and hinted in leaders:
        return hinted
    return leaders[0]
