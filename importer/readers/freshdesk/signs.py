"""What only Freshdesk writes: the signs its reader's ``owns`` goes by (what makes a record
plainly Freshdesk's, see :mod:`importer.readers.signs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from importer.readers.signs import is_number

FRESHDESK_KEYS = frozenset(
    {
        "fr_due_by",
        "fr_escalated",
        "nr_due_by",
        "nr_escalated",
        "description_text",
        "responder_id",
        "email_config_id",
        "association_type",
        "associated_tickets_count",
        "ticket_cc_emails",
        "reply_cc_emails",
        "fwd_emails",
        "incoming",
        "body_text",
        "from_email",
        "support_email",
        "source_additional_info",
        "twitter_id",
        "facebook_id",
        "unique_external_id",
        "other_emails",
        "other_companies",
        "view_all_tickets",
        "csat_rating",
        "preferred_source",
        "ticket_scope",
        "occasional",
        "label_for_customers",
        "customers_can_edit",
        "required_for_agents",
        "required_for_closure",
    }
)


#: a record with none of these keys is never Freshdesk's (what :func:`is_freshdesk` looks at)
FRESHDESK_SIGN_KEYS = FRESHDESK_KEYS | {"status", "source", "custom_fields", "contact"}


def is_freshdesk(record: Mapping[str, Any]) -> bool:
    """A Freshdesk record: an integer ``status`` or ``source`` code, ``cf_`` custom fields, an
    agent's ``contact`` object, keys only Freshdesk writes."""
    if is_number(record.get("status")) or is_number(record.get("source")):
        return True
    if not FRESHDESK_KEYS.isdisjoint(record.keys()):
        return True
    custom = record.get("custom_fields")
    if isinstance(custom, Mapping) and any(str(key).startswith("cf_") for key in custom):
        return True
    contact = record.get("contact")
    return isinstance(contact, Mapping) and not {"email", "name"}.isdisjoint(contact.keys())
