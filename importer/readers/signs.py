"""What makes a JSON record plainly one platform's: keys and values no other platform writes.

A reader recognises its own records tolerantly (no single key required), so on its own it may
take another platform's record for one of its own: an Intercom conversation with a ``title`` and
a ``type`` looks like a Zendesk ticket field, an Intercom admin ``{type, id, email, name}`` like
a Zendesk user. Each reader's ``role_of`` first asks :func:`other_platform` and refuses a record
that plainly belongs to another platform, whatever its stream is named.

Front's prefixed ids (``cnv_``, ``msg_``, ``tea_``...) and Gorgias's ``/api/`` uris and
``*_datetime`` keys are decisive (:data:`DECISIVE`): they are asked first, and a record bearing
them is that platform's alone, whatever keys it shares with others (a Front teammate may say
``type: user`` like an Intercom contact, a Front conversation has Intercom's ``waiting_since``, a
Gorgias message Freshdesk's ``body_text``).

The signs here are only what a platform alone writes (``source-formats.md`` §2 to §4, §11, §14),
never what records of several platforms share (``id``, ``email``, ``requester_id``,
``subject``...). A new platform adds its signs to :data:`SIGNS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
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
#: Front's resource ids: conversation, message, comment, teammate, contact, tag, inbox, channel...
FRONT_ID = re.compile(
    r"^(?:cnv|msg|com|tea|crd|ctc|tag|inb|cha|tim|acc|fil|top|lnk|rul|evt|shf|cmp|rsp|sig|hdl)"
    r"_[0-9a-z]+$"
)
FRONT_KEYS = frozenset(
    {
        "is_inbound",
        "blurb",
        "draft_mode",
        "is_draft",
        "posted_at",
        "scheduled_reminders",
        "is_available",
        "is_blocked",
        "is_spammer",
    }
)
GORGIAS_KEYS = frozenset(
    {
        "from_agent",
        "stripped_text",
        "stripped_html",
        "stripped_signature",
        "assignee_user",
        "assignee_team",
        "is_retriable",
        "last_sending_error",
    }
)
#: keys only Help Scout's Mailbox API writes (camelCase, HAL); ``createdBy``, ``customFields``
#: and ``createdAt`` are not among them (Zoho Desk and HubSpot write them too)
HELPSCOUT_KEYS = frozenset(
    {
        "primaryCustomer",
        "customerWaitingSince",
        "mailboxId",
        "folderId",
        "userUpdatedAt",
        "closedByUser",
        "savedReplyId",
    }
)
HELPSCOUT_PERSON_TYPES = frozenset({"customer", "user"})


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


def is_freshdesk(record: Mapping[str, Any]) -> bool:
    """A Freshdesk record: an integer ``status`` or ``source`` code, ``cf_`` custom fields, an
    agent's ``contact`` object, keys only Freshdesk writes."""
    if _is_number(record.get("status")) or _is_number(record.get("source")):
        return True
    if not FRESHDESK_KEYS.isdisjoint(record.keys()):
        return True
    custom = record.get("custom_fields")
    if isinstance(custom, Mapping) and any(str(key).startswith("cf_") for key in custom):
        return True
    contact = record.get("contact")
    return isinstance(contact, Mapping) and not {"email", "name"}.isdisjoint(contact.keys())


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


def is_helpscout(record: Mapping[str, Any]) -> bool:
    """A Help Scout record: HAL's ``_embedded`` object, keys only Help Scout writes, or a
    ``createdBy`` person object of type ``customer`` or ``user`` (Zoho's is an id)."""
    if isinstance(record.get("_embedded"), Mapping):
        return True
    if not HELPSCOUT_KEYS.isdisjoint(record.keys()):
        return True
    created_by = record.get("createdBy")
    kind = created_by.get("type") if isinstance(created_by, Mapping) else None
    return isinstance(kind, str) and kind in HELPSCOUT_PERSON_TYPES


def is_front(record: Mapping[str, Any]) -> bool:
    """A Front record: a Front resource id, keys only Front writes, or links to frontapp.com."""
    if FRONT_ID.match(str(record.get("id") or "")):
        return True
    if not FRONT_KEYS.isdisjoint(record.keys()):
        return True
    links = record.get("_links")
    own = links.get("self") if isinstance(links, Mapping) else None
    return isinstance(own, str) and ".frontapp.com/" in own


def is_gorgias(record: Mapping[str, Any]) -> bool:
    """A Gorgias record: an ``/api/...`` uri, ``*_datetime`` keys, keys only Gorgias writes."""
    uri = record.get("uri")
    if isinstance(uri, str) and uri.startswith("/api/"):
        return True
    if _has_key_ending(record, "_datetime"):
        return True
    return not GORGIAS_KEYS.isdisjoint(record.keys())


def _has_key_ending(record: Mapping[str, Any], suffix: str) -> bool:
    """Whether a key of ``record`` ends with ``suffix`` (every record is asked: one search in
    the keys joined, not one call per key)."""
    try:
        keys = "\0".join(record) + "\0"
    except TypeError:  # keys that are not text (never from JSON)
        return any(str(key).endswith(suffix) for key in record)
    return suffix + "\0" in keys


#: each platform with a reader, and what makes a record plainly its own
SIGNS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "zendesk": is_zendesk,
    "freshdesk": is_freshdesk,
    "intercom": is_intercom,
    "helpscout": is_helpscout,
    "front": is_front,
    "gorgias": is_gorgias,
}
#: the platforms whose signs are asked first and decide alone (see the module's docstring)
DECISIVE: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "front": is_front,
    "gorgias": is_gorgias,
}


def other_platform(record: Mapping[str, Any], own: str) -> str | None:
    """The platform other than ``own`` whose record ``record`` plainly is, else ``None``."""
    for platform, signs in DECISIVE.items():
        if signs(record):
            return None if platform == own else platform
    for platform, signs in SIGNS.items():
        if platform != own and signs(record):
            return platform
    return None
