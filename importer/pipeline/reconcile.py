"""Find out whether a part whose answer was lost exists in Help Scout, before sending it again.

Lookup: ``GET /v2/conversations?mailbox=M&status=all&modifiedSince=<first send - margin>``
and an exact client-side match on subject and customer email (every page). Subject and email do
not tell apart a customer's many "Order issue" conversations, so a candidate must also be
unclaimed (no other part of the checkpoint holds its id) and have the part's threads: its
``GET /v2/conversations/{id}/threads`` gives the same number of threads at the same ``createdAt``
times (an imported thread keeps the time it was sent with). With a source-id custom field,
``customFieldsByIds=<field>:<source id>`` instead (plus the subject for split parts, which share
the source id), an exact key. The search index lags behind writes, so "absent" is only
concluded once ``wait_s`` seconds have passed since the first send attempt; until then the
lookup is repeated every ``poll_s`` seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from importer.clock import WALL_CLOCK, Clock
from importer.pipeline.polling import DEFAULT_POLL_S, poll_until
from importer.transform import times

__all__ = [
    "DEFAULT_MARGIN_S",
    "PartRef",
    "SearchClient",
    "format_api_time",
    "matches",
    "reconcile_part",
]

#: How far before the first send attempt ``modifiedSince`` looks (clock skew, queueing).
DEFAULT_MARGIN_S = 120.0


@dataclass(frozen=True)
class PartRef:
    """What identifies a sent part in Help Scout (from the checkpoint's intent row)."""

    source_id: str
    part: int
    part_count: int
    subject: str
    customer_email: str | None
    first_sent_at: float  # UTC epoch seconds
    #: the ``createdAt`` of every thread the part was sent with, sorted (empty: not compared)
    thread_times: tuple[str, ...] = ()
    #: the Help Scout id of its customer when the importer created it (customers without email)
    customer_id: int | None = None


class SearchClient(Protocol):
    """The client methods reconciliation needs (paging is the client's)."""

    def iter_conversations(
        self,
        mailbox: int,
        *,
        status: str = "all",
        modified_since: str | None = None,
        query: str | None = None,
        custom_fields_by_ids: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]: ...

    async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]: ...


def format_api_time(epoch: float) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC, no fraction), the only form the API accepts."""
    return times.format_api_time(datetime.fromtimestamp(epoch, UTC))


def _norm(text: Any) -> str:
    return " ".join(text.split()) if isinstance(text, str) else ""


def _conversation_customer_ids(conv: dict[str, Any]) -> set[int]:
    found = set()
    for key in ("primaryCustomer", "customer"):
        person = conv.get(key)
        if isinstance(person, dict) and isinstance(person.get("id"), int):
            found.add(person["id"])
    return found


def _conversation_emails(conv: dict[str, Any]) -> set[str]:
    found = []
    for key in ("primaryCustomer", "customer", "createdBy"):
        person = conv.get(key)
        if isinstance(person, dict) and isinstance(person.get("email"), str):
            found.append(person["email"])
    if isinstance(conv.get("customerEmail"), str):
        found.append(conv["customerEmail"])
    return {e.strip().lower() for e in found}


def matches(conv: dict[str, Any], part: PartRef, *, by_field: bool = False) -> bool:
    """Whether a listed conversation is this part.

    By field (the source id already matched on the server): a single-part conversation
    matches, a split part must also have its subject. Otherwise: exact subject (whitespace
    runs collapsed) and the customer: its email (case-insensitive) when the part has one, else
    the id of the customer the importer created for it."""
    subject_ok = _norm(conv.get("subject")) == _norm(part.subject)
    if by_field:
        return part.part_count == 1 or subject_ok
    if not subject_ok:
        return False
    if part.customer_email:
        return part.customer_email.strip().lower() in _conversation_emails(conv)
    if part.customer_id is not None:
        return part.customer_id in _conversation_customer_ids(conv)
    return True


#: thread types Help Scout may add on its own (status and assignment line items): not compared
_ADDED_THREAD_TYPES = frozenset({"lineitem"})


def same_threads(threads: list[dict[str, Any]], part: PartRef) -> bool:
    """Whether a conversation's listed threads are the ones ``part`` was sent with: as many, at
    the same ``createdAt`` times (API order is newest first; compared sorted)."""
    times = sorted(
        _moment(thread.get("createdAt"))
        for thread in threads
        if isinstance(thread, dict) and thread.get("type") not in _ADDED_THREAD_TYPES
    )
    return times == sorted(_moment(t) for t in part.thread_times)


def _moment(value: Any) -> str:
    """A time in one spelling (``2024-01-01T10:00:00.000Z`` and ``…:00Z`` compare equal)."""
    try:
        return times.format_api_time(times.parse_timestamp(value))
    except times.TimestampError:
        return str(value)


async def _verified(
    client: SearchClient,
    candidates: list[int],
    part: PartRef,
    *,
    claimed: Callable[[int], bool] | None,
) -> int | None:
    """The oldest candidate no other part holds whose threads are the part's."""
    for conversation_id in sorted(set(candidates)):
        if claimed is not None and claimed(conversation_id):
            continue
        if not part.thread_times or same_threads(await client.list_threads(conversation_id), part):
            return conversation_id
    return None


async def _find(
    client: SearchClient,
    mailbox: int,
    part: PartRef,
    *,
    source_id_field: int | None,
    margin_s: float,
    claimed: Callable[[int], bool] | None = None,
) -> int | None:
    kwargs: dict[str, Any] = {"status": "all"}
    if source_id_field is not None:
        kwargs["custom_fields_by_ids"] = f"{int(source_id_field)}:{part.source_id}"
    else:
        kwargs["modified_since"] = format_api_time(part.first_sent_at - margin_s)
    found: list[int] = []
    async for conv in client.iter_conversations(mailbox, **kwargs):
        if (
            isinstance(conv, dict)
            and isinstance(conv.get("id"), int)
            and matches(conv, part, by_field=source_id_field is not None)
        ):
            found.append(conv["id"])
    if source_id_field is not None:  # an exact key; several means a duplicate exists already
        return min(found) if found else None
    return await _verified(client, found, part, claimed=claimed)


async def reconcile_part(
    client: SearchClient,
    mailbox: int,
    part: PartRef,
    *,
    wait_s: float,
    source_id_field: int | None = None,
    clock: Clock = WALL_CLOCK,
    poll_s: float = DEFAULT_POLL_S,
    margin_s: float = DEFAULT_MARGIN_S,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    lost_at: float | None = None,
    claimed: Callable[[int], bool] | None = None,
) -> int | None:
    """The Help Scout id of ``part`` if it exists, else None once ``wait_s`` seconds have
    passed since its answer was lost (``lost_at``, default: now); the caller may then send it.
    The search looks back to a little before its first send attempt. ``claimed(id)`` says
    whether another part already holds a conversation id (it is then not this part).

    ``clock`` must be wall-clock epoch seconds, like ``part.first_sent_at``."""
    # The index is given ``wait_s`` from the latest moment the part can have been created: when
    # its answer was lost (or, on resume, now), not when its intent was first committed (a
    # request may wait in the pacer, behind a 429 pause, long after its intent).
    #
    # Only a lookup that *started* at or after the deadline can prove absence: a walk over
    # several pages that began earlier may have passed the part's place in the listing before
    # the part became visible there (a newly visible conversation lands anywhere in the
    # ``createdAt`` order, possibly on a page already read).
    deadline = max(part.first_sent_at, lost_at if lost_at is not None else clock.time()) + wait_s

    async def lookup() -> int | None:
        return await _find(
            client,
            mailbox,
            part,
            source_id_field=source_id_field,
            margin_s=margin_s,
            claimed=claimed,
        )

    found, lookups = await poll_until(lookup, deadline, clock=clock, poll_s=poll_s)
    if on_event is not None:
        on_event(
            "reconcile.result",
            {
                "source_id": part.source_id,
                "part": part.part,
                "found": found is not None,
                "conversation_id": found,
                "lookups": lookups,
            },
        )
    return found
