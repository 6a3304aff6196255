"""What only Help Scout writes: the signs its reader's ``owns`` goes by (what makes a record
plainly Help Scout's, see :mod:`importer.readers.signs`).

Two shapes: the Mailbox API's own (camelCase, HAL), and what the Singer tap ``tap-helpscout``
writes of it (every key snake_case, ``_embedded`` and ``_links`` removed; its ``users`` and
``customers`` streams too, so that they are never taken for another platform's people)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
#: the same keys as tap-helpscout writes them (snake_case); ``mailbox_id`` and ``folder_id``
#: alone are not among them (other records may name a mailbox or a folder)
TAP_KEYS = frozenset(
    {
        "primary_customer",
        "customer_waiting_since",
        "user_updated_at",
        "closed_by_user",
        "saved_reply_id",
    }
)
HELPSCOUT_PERSON_TYPES = frozenset({"customer", "user"})
#: the person objects of a thread (Help Scout's name their parts ``first`` and ``last``)
THREAD_PEOPLE = ("created_by", "customer", "assigned_to")


def _person(value: Any) -> bool:
    """A Help Scout person object: ``first`` or ``last`` (no other platform names them so)."""
    return isinstance(value, Mapping) and ("first" in value or "last" in value)


def is_tap_thread(record: Mapping[str, Any]) -> bool:
    """A thread of tap-helpscout's ``conversation_threads`` stream: ``conversation_id`` and a
    Help Scout person object (``created_by``, ``customer`` or ``assigned_to``)."""
    if "conversation_id" not in record:
        return False
    return any(_person(record.get(key)) for key in THREAD_PEOPLE)


def is_tap_person(record: Mapping[str, Any]) -> bool:
    """A record of tap-helpscout's ``users`` or ``customers`` stream: ``photo_url`` or
    ``photo_type`` (Help Scout's ``photoUrl``/``photoType``; Zendesk writes ``photo``, Freshdesk,
    Intercom and Front an avatar) beside ``first_name`` or ``last_name``."""
    has_photo = "photo_url" in record or "photo_type" in record
    return has_photo and ("first_name" in record or "last_name" in record)


#: the tap's other streams, by their schema's keys (the tap writes no key outside its schema)
#: and the keys that tell each apart from another platform's record: ``(schema, distinctive)``
TAP_OTHER_STREAMS: tuple[tuple[frozenset[str], frozenset[str]], ...] = (
    (  # mailboxes
        frozenset({"id", "name", "slug", "email", "created_at", "updated_at"}),
        frozenset({"slug", "email"}),
    ),
    (  # mailbox_folders
        frozenset(
            {"id", "mailbox_id", "name", "type", "user_id", "total_count", "active_count",
             "updated_at"}
        ),
        frozenset({"mailbox_id", "active_count"}),
    ),
    (  # mailbox_fields
        frozenset({"id", "mailbox_id", "name", "options", "order", "required", "type"}),
        frozenset({"mailbox_id", "required"}),
    ),
    (  # workflows
        frozenset(
            {"id", "mailbox_id", "name", "type", "status", "order", "created_at", "modified_at"}
        ),
        frozenset({"mailbox_id", "modified_at"}),
    ),
    (  # teams
        frozenset(
            {"id", "name", "initials", "mention", "photo_url", "timezone", "created_at",
             "updated_at"}
        ),
        frozenset({"initials", "mention"}),
    ),
    (frozenset({"team_id", "user_id"}), frozenset({"team_id", "user_id"})),  # team_members
    (  # happiness_ratings_report
        frozenset(
            {"conversation_id", "rating_comments", "rating_created_at", "rating_customer_id",
             "rating_customer_name", "rating_id", "rating_user_id", "rating_user_name",
             "thread_created_at", "thread_id", "type"}
        ),
        frozenset({"rating_id", "rating_customer_id"}),
    ),
)  # fmt: skip
_TAP_OTHER_MAX_KEYS = max(len(schema) for schema, _ in TAP_OTHER_STREAMS)


def is_tap_other(record: Mapping[str, Any]) -> bool:
    """A record of one of tap-helpscout's other streams (mailboxes, their folders, fields and
    workflows, teams and their members, happiness ratings): its keys all of that stream's
    schema, its distinctive keys among them. Not read, but never another platform's (a
    mailbox ``{id, name, slug, email, ...}`` looks like a person of several)."""
    if len(record) > _TAP_OTHER_MAX_KEYS:  # most records of other platforms: one comparison
        return False
    keys = record.keys()
    return any(wanted <= keys and keys <= schema for schema, wanted in TAP_OTHER_STREAMS)


#: keys records of many platforms have: not the one key a tap's other stream is asked for
_SHARED_KEYS = frozenset({"email", "user_id", "mailbox_id", "id", "name", "type"})
#: a record with none of these keys is never Help Scout's (what :func:`is_helpscout` looks at:
#: a record of a tap's other stream has every key of one of its ``wanted`` sets, so one key of
#: each, the rarest, is enough)
HELPSCOUT_SIGN_KEYS = (
    HELPSCOUT_KEYS
    | TAP_KEYS
    | {"_embedded", "createdBy", "created_by", "conversation_id", "photo_url", "photo_type"}
    | {min(wanted, key=lambda key: (key in _SHARED_KEYS, key)) for _, wanted in TAP_OTHER_STREAMS}
)


def is_helpscout(record: Mapping[str, Any]) -> bool:
    """A Help Scout record: HAL's ``_embedded`` object, keys only Help Scout writes (either
    spelling), a ``createdBy``/``created_by`` person object of type ``customer`` or ``user``
    (Zoho's is an id), or a thread, user or customer as tap-helpscout writes them."""
    if isinstance(record.get("_embedded"), Mapping):
        return True
    if not HELPSCOUT_KEYS.isdisjoint(record.keys()) or not TAP_KEYS.isdisjoint(record.keys()):
        return True
    created_by = record.get("createdBy", record.get("created_by"))
    kind = created_by.get("type") if isinstance(created_by, Mapping) else None
    if isinstance(kind, str) and kind in HELPSCOUT_PERSON_TYPES:
        return True
    return is_tap_thread(record) or is_tap_person(record) or is_tap_other(record)
