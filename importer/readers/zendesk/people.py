"""Who is who on one Zendesk ticket: its users by id, its requester as the customer, and the
role of each author (the rules are in the docstring of :mod:`importer.readers.zendesk.build`).

A module of its own because people are a concern of their own: what the staging keeps of a user
(:func:`user_summary`), looked up once per ticket, and the fallback rules when the users are not
in the export. The small field readers of the Zendesk records live here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from importer.readers.common import id_text
from importer.readers.zendesk.mapping import ZendeskMapping

UserLookup = Callable[[str], dict[str, Any] | None]


def as_list(value: Any) -> list[Any]:
    """A list field, ``null`` or missing read as empty."""
    return value if isinstance(value, list) else []


def object_field(value: Any) -> dict[str, Any]:
    """A nested object field, ``null`` or missing read as empty."""
    return value if isinstance(value, dict) else {}


def scalar_text(value: Any) -> str | None:
    """A text or number field as text (stripped; blank is ``None``); anything else ``None``."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def user_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The fields of a user record the reader uses (what the staging store keeps)."""
    summary = {
        "id": id_text(record.get("id")),
        "name": scalar_text(record.get("name")),
        "email": scalar_text(record.get("email")),
        "phone": scalar_text(record.get("phone")),
        "role": scalar_text(record.get("role")),
    }
    return {key: value for key, value in summary.items() if value is not None}


class TicketPeople:
    """Who is who on one ticket: users by id, and the ticket's fallback rules."""

    def __init__(self, ticket: dict[str, Any], users: UserLookup, mapping: ZendeskMapping):
        self._users = users
        self._mapping = mapping
        self._cache: dict[str, dict[str, Any] | None] = {}
        self.requester_id = id_text(ticket.get("requester_id"))
        self.submitter_id = id_text(ticket.get("submitter_id"))
        self.assignee_id = id_text(ticket.get("assignee_id"))
        # Zendesk assigns and lets follow only agents: these ids are agents whatever else
        self._sure_agents = {self.assignee_id} | {
            id_text(i) for i in as_list(ticket.get("follower_ids"))
        }
        self._known_agents = self._sure_agents | {self.submitter_id}
        for key in ("requester", "submitter", "assignee"):  # users embedded in the ticket
            embedded = ticket.get(key)
            if isinstance(embedded, dict) and (user_id := id_text(embedded.get("id"))):
                self._cache[user_id] = user_summary(embedded)
        self.unknown_authors: set[str] = set()

    def user(self, user_id: str | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        if user_id not in self._cache:
            self._cache[user_id] = self._users(user_id)
        return self._cache[user_id]

    def role(self, author_id: str | None, private: bool) -> str:
        """The author role of ``author_id`` on this ticket."""
        if author_id is not None and author_id in self._mapping.system_author_ids:
            return "system"
        user = self.user(author_id)
        if user is not None and (role := self._mapping.role(user.get("role"))) is not None:
            return role
        if (private and self._mapping.private_by_agent) or author_id in self._sure_agents:
            return "agent"
        if author_id is not None and author_id == self.requester_id:
            return "customer"
        if author_id not in self._known_agents:
            self.unknown_authors.add(author_id or "(none)")
        return "agent"


def _name_parts(name: str | None) -> tuple[str | None, str | None]:
    if not name:
        return None, None
    first, _, last = name.strip().partition(" ")
    return first or None, last.strip() or None


def ticket_customer(ticket: dict[str, Any], people: TicketPeople) -> dict[str, Any]:
    """The ticket's customer: its requester, from the users or else from where it came."""
    user = people.user(people.requester_id) or {}
    sender = object_field(object_field(object_field(ticket.get("via")).get("source")).get("from"))
    if not user:  # no users file: the address or number the ticket came from
        user = {
            "name": scalar_text(sender.get("name")),
            "email": scalar_text(sender.get("address")),
            "phone": scalar_text(sender.get("phone")) or scalar_text(sender.get("formatted_phone")),
        }
    first_name, last_name = _name_parts(user.get("name"))
    customer = {
        "id": people.requester_id,
        "email": user.get("email"),
        "first_name": first_name,
        "last_name": last_name,
        "phone": user.get("phone"),
    }
    return {key: value for key, value in customer.items() if value is not None}
