"""Each conversation of a mail archive, built from its final thread's staged heads and bodies.

Once every mail is staged and threaded (:mod:`importer.readers.mail.thread`), each final thread
becomes one conversation (:func:`conversations`): the mails of it that are read (not a repeated
Message-ID, not left out by their reading, not the team writing to itself), each a message of
its staged body; the customer its first outside party. A thread whose every mail is left out
makes no conversation: the warnings of its mails are carried by the next conversation, by the
last one when none follows (:func:`last_carries`). The main process builds them all
(``--jobs 1``) or the planning workers build a slice of threads each
(:mod:`importer.readers.mail.slices`): the same conversations, carrying the same warnings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from importer.findings import Finding
from importer.model import CLOSED_LIKE
from importer.readers.base import without_conversations
from importer.readers.mail.mapping import MailMapping
from importer.readers.mail.thread import Threads
from importer.readers.source import SourceRecord, read_safely
from importer.readers.staging import StagingStore

BODY = "body"
#: the kind of the addresses learned to be the team's (senders of mails labelled ``Sent``)
LEARNED = "learned"
#: addresses whose answer from the mapping is kept (the team's and the customers' of the day)
TEAM_CACHE_SIZE = 50_000


class Team:
    """The team's addresses: the mapping's, and the senders of mails labelled ``Sent``."""

    def __init__(self, rules: MailMapping) -> None:
        self.rules = rules
        self.learned: set[str] = set()
        #: the mapping's answer for the addresses asked about lately (every head asks of each
        #: of its addresses, a domain at a time: a fifth of building the conversations)
        self._by_mapping: dict[str, bool] = {}

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        if address in self.learned:
            return True
        known = self._by_mapping.get(address)
        if known is None:
            if len(self._by_mapping) >= TEAM_CACHE_SIZE:
                self._by_mapping.clear()  # bounded: recent addresses are asked again
            known = self._by_mapping[address] = self.rules.is_team(address)
        return known

    @classmethod
    def of_store(cls, rules: MailMapping, store: StagingStore) -> Team:
        """The team as the main process learned it, read from ``store`` (:data:`LEARNED`, put
        by :meth:`keep`): how a planning worker knows it."""
        team = cls(rules)
        team.learned.update(str(staged.key) for staged in store.of_kind(LEARNED))
        return team

    def keep(self, store: StagingStore) -> None:
        """Put the addresses learned in ``store``, for :meth:`of_store`."""
        for address in sorted(self.learned):
            store.put(LEARNED, address, "learned", record=None)

    def internal(self, head: dict[str, Any]) -> bool:
        """Whether a mail went from the team to the team only."""
        sender = head["from"][0] if head["from"] else None
        return sender in self and all(address in self for address, _ in head["rcpt"])

    def customer_of(self, heads: list[dict[str, Any]]) -> tuple[str, str] | None:
        """The first outside party of a conversation: a sender, else a recipient."""
        for head in heads:
            sender = head["from"]
            if sender and sender[0] not in self:
                return sender[0], sender[1]
            for address, name in head["rcpt"]:
                if address not in self:
                    return address, name
        return None


def _mail_id(head: dict[str, Any]) -> str:
    return f"<{head['id']}>" if head["id"] else "(no Message-ID)"


def _left_out(head: dict[str, Any], code: str, why: str, *, source_id: str | None) -> Finding:
    message = f"the mail {_mail_id(head)} is left out: {why}"
    return Finding("read", f"mail.{code}", message, head["loc"], source_id)


def _source_id(head: dict[str, Any]) -> str:
    if head["id"]:
        return str(head["id"])
    sender = head["from"][0] if head["from"] else ""
    digest = hashlib.sha1(f"{sender}\n{head['at']}\n{head['subject']}".encode()).hexdigest()
    return f"mail-{digest[:20]}"


def _kept_and_skipped(
    heads: list[dict[str, Any]], rules: MailMapping, team: Team
) -> tuple[list[tuple[dict[str, Any], bool]], list[tuple[dict[str, Any], str, str]]]:
    """The mails of a thread that are read, ``(head, a private note)``, and those left out,
    ``(head, code, why)``: a repeated Message-ID, a mail its reading left out, the team
    writing to itself (unless ``keep_team_internal``)."""
    kept: list[tuple[dict[str, Any], bool]] = []
    skipped: list[tuple[dict[str, Any], str, str]] = []
    seen: set[str] = set()
    for head in heads:
        if head["id"] and head["id"] in seen:
            why = "the same Message-ID is in the archive twice (several files?); one is read"
            skipped.append((head, "duplicate", why))
            continue
        if head["id"]:
            seen.add(head["id"])
        if head["out"] not in (None, "note"):
            skipped.append((head, head["out"], head["why"]))
            continue
        internal = team.internal(head)
        if internal and not rules.keep_team_internal:
            why = "the team sent it to itself only (keep_team_internal)"
            skipped.append((head, "internal", why))
        else:
            kept.append((head, head["out"] == "note" or internal))
    return kept, skipped


def _message(
    head: dict[str, Any],
    private: bool,
    store: StagingStore,
    *,
    team: Team,
    notes: list[Finding],
    source_id: str | None,
) -> dict[str, Any]:
    """The message of one mail read: its head and its staged body; the notes of its reading
    (its time, its encoding) added to ``notes``."""
    staged = store.first(BODY, str(head["n"]))
    body: dict[str, Any] = staged.record if staged is not None else {"body_text": ""}
    for note in [*head["notes"], *body.pop("notes", [])]:
        code = "mail.time" if "Date" in note or "the mail has no" in note else "encoding"
        notes.append(Finding("read", code, f"{_mail_id(head)}: {note}", head["loc"], source_id))
    sender = head["from"] or [None, None]
    return {
        "source_id": head["id"],
        "created_at": head["at"],
        "author_role": "agent" if private or sender[0] in team else "customer",
        "author_email": sender[0],
        "author_name": sender[1] or None,
        "private": private,
        **body,
    }


def _conversation(
    heads: list[dict[str, Any]],
    store: StagingStore,
    rules: MailMapping,
    *,
    team: Team,
    pending: list[Finding],
) -> SourceRecord:
    """One conversation of a thread's mail heads; ``data`` ``None`` (and no error) when every
    mail was left out, their warnings then added to ``pending``."""
    kept, skipped = _kept_and_skipped(heads, rules, team)
    source_id = _source_id(kept[0][0]) if kept else None
    notes = [_left_out(head, code, why, source_id=source_id) for head, code, why in skipped]
    if not kept:
        pending.extend(notes)
        return SourceRecord(heads[0]["loc"], None, None)
    customer = team.customer_of([head for head, _ in kept])
    messages = [
        _message(head, private, store, team=team, notes=notes, source_id=source_id)
        for head, private in kept
    ]
    first = kept[0][0]
    data: dict[str, Any] = {
        "source_id": source_id,
        "source": "mail",
        "type": "email",
        "subject": first["subject"] or None,
        "status": rules.status,
        "created_at": first["at"],
        "customer": _customer(customer),
        "messages": messages,
    }
    if rules.status in CLOSED_LIKE:
        data["closed_at"] = kept[-1][0]["at"]
    record = SourceRecord(first["loc"], data, source_id, warnings=notes)
    record.message_locations = [head["loc"] for head, _ in kept]
    return record


def _customer(customer: tuple[str, str] | None) -> dict[str, Any]:
    if customer is None:
        return {}
    address, name = customer
    first, _, last = name.partition(" ")
    found: dict[str, Any] = {"id": address, "email": address}
    if first:
        found["first_name"] = first
    if last.strip():
        found["last_name"] = last.strip()
    return found


def yields_conversation(heads: list[dict[str, Any]], rules: MailMapping, team: Team) -> bool:
    """Whether a thread of these mail heads makes a conversation (one of its mails is read, or
    building it fails: an invalid record). A thread joined of several makes one when any of
    them does: a Message-ID seen twice is always in one thread (its mails share that node)."""
    try:
        kept, _ = _kept_and_skipped(heads, rules, team)
    except Exception:  # building it raises the same: an invalid record of its own
        return True
    return bool(kept)


def conversations(
    threads: Threads,
    store: StagingStore,
    rules: MailMapping,
    *,
    team: Team,
    pending: list[Finding],
) -> Iterator[SourceRecord]:
    """The conversation of each final thread (those of ``store.window``'s threads only), in
    the order the threads began; the warnings of threads left out whole are added to
    ``pending`` and carried by the next conversation (what is left when they end: the caller's)."""
    for heads in threads.conversations():
        build = partial(_conversation, heads, store, rules, team=team, pending=pending)
        record = read_safely(build, heads[0]["loc"], heads[0]["id"])
        if record.data is None and record.error is None:
            continue  # nothing kept: its warnings wait in ``pending``
        record.warnings[:0] = pending
        pending.clear()
        yield record


def last_carries(records: Iterable[SourceRecord], pending: list[Finding]) -> Iterator[SourceRecord]:
    """``records``, the last one carrying what ``pending`` holds once they end (``pending`` is
    left as it was when there is no record)."""
    held: SourceRecord | None = None
    for record in records:
        if held is not None:
            yield held
        held = record
    if held is not None:
        held.warnings.extend(pending)
        pending.clear()
        yield held


def finished(records: Iterable[SourceRecord], pending: list[Finding]) -> Iterator[SourceRecord]:
    """``records``, the last one carrying ``pending``; when there is none, the invalid record of
    an archive of which no mail makes a conversation, carrying them."""
    yield from last_carries(records, pending)
    if pending:
        yield without_conversations(
            "no mail of the archive makes a conversation: every one was left out "
            "(see the warnings)",
            pending,
        )
