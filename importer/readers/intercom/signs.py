"""What only Intercom writes: the signs its reader's ``owns`` goes by (what makes a record
plainly Intercom's, see :mod:`importer.readers.signs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Intercom's ``type`` words (a Zendesk comment says ``Comment``, a ticket ``question``)
INTERCOM_TYPES = frozenset(
    {
        "conversation",
        "conversation_part",
        "conversation.list",
        "conversation_part.list",
        "admin",
        "admin.list",
        "contact",
        "contact.list",
        "user",
        "lead",
        "team",
        "team.list",
        "bot",
        "tag",
        "tag.list",
    }
)
INTERCOM_KEYS = frozenset(
    {
        "conversation_parts",
        "conversation_message",
        "part_type",
        "workspace_id",
        "admin_assignee_id",
        "team_assignee_id",
        "waiting_since",
        "snoozed_until",
        "conversation_rating",
        "away_mode_enabled",
        "away_mode_reassign",
        "has_inbox_seat",
        "team_ids",
        "admin_ids",
        "signed_up_at",
        "last_seen_at",
        "has_hard_bounced",
        "marked_email_as_spam",
        "unsubscribed_from_emails",
    }
)


#: a record with none of these keys is never Intercom's (what :func:`is_intercom` looks at)
INTERCOM_SIGN_KEYS = INTERCOM_KEYS | {"type", "source"}


def is_intercom(record: Mapping[str, Any]) -> bool:
    """An Intercom record: one of its ``type`` words, keys only Intercom writes, or a ``source``
    object saying how the conversation was ``delivered_as``."""
    kind = record.get("type")
    if isinstance(kind, str) and kind in INTERCOM_TYPES:
        return True
    if not INTERCOM_KEYS.isdisjoint(record.keys()):
        return True
    source = record.get("source")
    return isinstance(source, Mapping) and "delivered_as" in source
