"""What only Zendesk writes: the signs its reader's ``owns`` goes by (what makes a record
plainly Zendesk's, see :mod:`importer.readers.signs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ZENDESK_KEYS = frozenset(
    {
        "raw_subject",
        "html_body",
        "plain_body",
        "submitter_id",
        "metric_set",
        "ticket_form_id",
        "collaborator_ids",
        "email_cc_ids",
        "follower_ids",
        "has_incidents",
        "child_events",
        "iana_time_zone",
        "user_fields",
        "shared_phone_number",
        "custom_field_options",
        "system_field_options",
        "raw_title",
        "title_in_portal",
    }
)
ZENDESK_USER_ROLES = frozenset({"end-user", "agent", "admin"})


#: a record with none of these keys is never Zendesk's (what :func:`is_zendesk` looks at)
ZENDESK_SIGN_KEYS = ZENDESK_KEYS | {"via", "role"}


def is_zendesk(record: Mapping[str, Any]) -> bool:
    """A Zendesk record: a ``via`` object with its ``channel``, a Zendesk user ``role``, keys
    only Zendesk writes."""
    via = record.get("via")
    if isinstance(via, Mapping) and "channel" in via:
        return True
    role = record.get("role")
    if isinstance(role, str) and role in ZENDESK_USER_ROLES:
        return True
    return not ZENDESK_KEYS.isdisjoint(record.keys())
