"""What a Zendesk record is, by its content: a ticket, a comment, a user, a ticket field or a
ticket's metrics.

Recognition is tolerant: exports and ETL tools drop empty fields, so no single key is required;
the stream name (``tickets``, ``ticket_comments``, ...) only decides when the content does not.
Records of other streams (satisfaction ratings, organizations, groups, macros, ticket skips)
are ``None``: the reader passes over them with one warning per stream, and so are records that
are plainly another platform's (:func:`~importer.readers.signs.other_platform`), whatever their
stream is named.
"""

from __future__ import annotations

from typing import Any

from importer.readers.signs import other_platform

TICKETS = "tickets"
COMMENTS = "comments"
USERS = "users"
TICKET_FIELDS = "ticket_fields"
TICKET_METRICS = "ticket_metrics"
ROLES = (TICKETS, COMMENTS, USERS, TICKET_FIELDS, TICKET_METRICS)

USER_ROLES = frozenset({"end-user", "agent", "admin"})
_COMMENT_BODY_KEYS = frozenset({"html_body", "plain_body"})
_METRIC_KEYS = frozenset(
    {
        "solved_at",
        "reopens",
        "replies",
        "assignee_stations",
        "group_stations",
        "assigned_at",
        "initially_assigned_at",
        "latest_comment_added_at",
        "requester_updated_at",
        "assignee_updated_at",
        "status_updated_at",
        "reply_time_in_minutes",
        "first_resolution_time_in_minutes",
        "full_resolution_time_in_minutes",
        "agent_wait_time_in_minutes",
        "requester_wait_time_in_minutes",
        "on_hold_time_in_minutes",
    }
)
_FIELD_KEYS = frozenset(
    {
        "custom_field_options",
        "system_field_options",
        "title_in_portal",
        "raw_title",
        "raw_title_in_portal",
        "visible_in_portal",
        "editable_in_portal",
        "required_in_portal",
        "agent_description",
        "collapsed_for_agents",
        "regexp_for_validation",
    }
)
_TICKET_KEYS = frozenset(
    {
        "requester_id",
        "submitter_id",
        "assignee_id",
        "raw_subject",
        "metric_set",
        "collaborator_ids",
        "email_cc_ids",
        "follower_ids",
        "ticket_form_id",
        "has_incidents",
        "problem_id",
        "satisfaction_rating",
    }
)
_USER_KEYS = frozenset(
    {
        "iana_time_zone",
        "time_zone",
        "user_fields",
        "last_login_at",
        "shared_phone_number",
        "verified",
        "locale",
        "locale_id",
        "role_type",
        "custom_role_id",
        "moderator",
        "ticket_restriction",
        "only_private_comments",
        "restricted_agent",
        "suspended",
        "signature",
        "alias",
        "photo",
    }
)
#: stream names (ETL streams, list keys of API pages) and the role they suggest
STREAM_ROLES = {
    "tickets": TICKETS,
    "ticket": TICKETS,
    "comments": COMMENTS,
    "ticket_comments": COMMENTS,
    "ticket_audits": COMMENTS,
    "audits": COMMENTS,
    "ticket_events": COMMENTS,
    "ticket_comment_events": COMMENTS,
    "users": USERS,
    "user": USERS,
    "ticket_fields": TICKET_FIELDS,
    "ticket_field": TICKET_FIELDS,
    "ticket_metrics": TICKET_METRICS,
    "ticket_metric": TICKET_METRICS,
    "ticket_metric_sets": TICKET_METRICS,
}


def _has_comment_events(events: Any) -> bool:
    return isinstance(events, list) and any(
        isinstance(event, dict)
        and str(event.get("event_type") or event.get("type") or "").lower()
        in ("comment", "voicecomment")
        for event in events
    )


def _looks_like_ticket(record: dict[str, Any]) -> bool:
    keys = record.keys()
    if "ticket_id" in keys or "score" in keys:  # satisfaction ratings, skips, side conversations
        return False
    if _TICKET_KEYS & keys or isinstance(record.get("comments"), list):
        return True
    via = record.get("via")
    return isinstance(via, dict) and "channel" in via and bool({"subject", "description"} & keys)


def _by_content(record: dict[str, Any]) -> str | None:
    keys = record.keys()
    if "child_events" in keys or (
        "ticket_id" in keys and _has_comment_events(record.get("events"))
    ):
        return COMMENTS  # an incremental ticket event or a ticket audit
    if _COMMENT_BODY_KEYS & keys and "requester_id" not in keys:
        return COMMENTS
    if "ticket_id" in keys and _METRIC_KEYS & keys:
        return TICKET_METRICS
    role = record.get("role")
    if isinstance(role, str) and role in USER_ROLES and "requester_id" not in keys:
        return USERS
    if _FIELD_KEYS & keys or ("title" in keys and "type" in keys and "subject" not in keys):
        return TICKET_FIELDS
    if _looks_like_ticket(record):
        return TICKETS
    if "author_id" in keys and {"body", "public"} & keys:
        return COMMENTS
    if len(_USER_KEYS & keys) >= 2 or ({"email", "name"} <= keys and "subject" not in keys):
        return USERS
    return None


def zendesk_role(record: dict[str, Any], stream: str | None) -> str | None:
    """The role of one Zendesk record (one of :data:`ROLES`), ``None`` for a record the reader
    does not use (also for a record that is plainly another platform's)."""
    if other_platform(record, "zendesk") is not None:
        return None
    role = _by_content(record)
    if role is not None:
        return role
    if stream is None:
        return None
    return STREAM_ROLES.get(stream.strip().lower().rsplit("/", 1)[-1])
