"""The mail reader: mbox files and .eml files (folders, zips) threaded into conversations.

A shared inbox exported as Google Takeout's ``.mbox``, Thunderbird's folder files, Apple Mail's
``mbox`` or a folder of Outlook ``.eml`` files. Files are recognised by content
(:func:`~importer.readers.mail.parse.sniff_mail` through the ``sniff_text`` hook); every mail is
read once, streamed (:mod:`importer.readers.mail.parse`), turned into a head and a body
(:mod:`importer.readers.mail.message`) staged on disk, and threaded
(:mod:`importer.readers.mail.thread`) by Message-ID, In-Reply-To, References, Gmail's
X-GM-THRID, then by subject and customer for replies whose parent is missing.

Who is the team comes from ``mappings/mail.toml`` (``team_addresses``, ``team_domains``) and from
the senders of mails Gmail labels ``Sent``: mail from the team is an agent's reply, other mail a
customer's message; the customer is the first outside party. (The agents of ``--users`` do not
reach a reader: name them in ``team_addresses``.) Every mail is accounted for: in a
conversation, or left out with a warning (bounce, auto-reply, skipped label, the team writing to
itself, a duplicate) or an error, as an invalid record of its own (a mail that cannot be read, a
mail over ``--max-record-bytes``, text before an mbox's first ``From `` line that is no mail),
that names its Message-ID and its place (``file:line`` of its ``From `` line, or the .eml file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from importer.errors import FormatError
from importer.findings import Finding
from importer.model import CLOSED_LIKE
from importer.readers.base import Reader, RoleFile, files_in_order, without_conversations
from importer.readers.mail.mapping import MailMapping, mail_mapping
from importer.readers.mail.parse import (
    EML,
    MBOX,
    RawMail,
    iter_raw_mails,
    raw_message_id,
    sniff_mail,
)
from importer.readers.mail.read import (
    PARSE,
    MailRead,
    MailRun,
    MailUnread,
    mail_runs,
    read_mail,
    read_mail_run,
)
from importer.readers.mail.thread import Threads
from importer.readers.ordered_work import OrderedWork, current_staging_workers
from importer.readers.source import FormatInfo, SourceRecord, read_safely
from importer.readers.staging import StagingStore

BODY = "body"
UNREAD = "unread"
RAW_TEXT_LIMIT = 20_000
#: addresses whose answer from the mapping is kept (the team's and the customers' of the day)
TEAM_CACHE_SIZE = 50_000


class _Team:
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


class MailReader(Reader):
    """Mail archives: mbox and .eml."""

    detection_place = 80
    info = FormatInfo(
        "mail",
        "mail archives of a shared inbox (Google Takeout or Thunderbird mbox, .eml files)",
        "mbox files (From_ separated) and/or .eml files, in folders or zips",
        True,
        "mail",
    )
    roles = (MBOX, EML)

    def role_of(self, record: dict[str, Any], stream: str | None) -> str | None:
        return None  # mail is never JSON

    def sniff_text(self, head: bytes) -> str | None:
        return sniff_mail(head)

    def check_mapping(self, mapping: dict[str, Any]) -> None:
        mail_mapping(mapping)

    def read(
        self, files: Mapping[str, Sequence[RoleFile]], mapping: dict[str, Any], workdir: Path
    ) -> Iterator[SourceRecord]:
        rules = mail_mapping(mapping)
        team = _Team(rules)
        with StagingStore(workdir) as store:
            threads = Threads(store)
            mails = self._stage(files, rules, team, threads=threads, store=store)
            if not mails:
                names = ", ".join(f.name for f in files_in_order(files, self.roles)[:3])
                raise FormatError(f"no mail found in {names}: give the export's mbox or .eml files")
            store.commit()

            def counts(head: dict[str, Any]) -> bool:
                return head["out"] is None and not team.internal(head)

            threads.join_by_subject(rules.subject_window_days, team.customer_of, counts)
            pending: list[Finding] = []
            if not rules.names_the_team and not team.learned:
                pending.append(
                    Finding(
                        "read",
                        "mail.team",
                        "the mail mapping names no team address and no mail is labelled Sent: "
                        "every mail is read as a customer's; name the shared mailbox and the "
                        "agents in team_addresses or team_domains (--mapping)",
                        files_in_order(files, self.roles)[0].name,
                    )
                )
            held: SourceRecord | None = None
            for staged in store.of_kind(UNREAD):
                record = _unread_record(staged.location, staged.record)
                if held is not None:
                    yield held
                held = record
            for heads in threads.conversations():
                location = heads[0]["loc"]
                build = partial(_conversation, heads, store, rules, team=team, pending=pending)
                record = read_safely(build, location, heads[0]["id"])
                if record.data is None and record.error is None:
                    continue  # nothing kept: its warnings wait in ``pending``
                record.warnings[:0], pending = pending, []
                if held is not None:
                    yield held
                held = record
            if held is not None:
                held.warnings.extend(pending)
                yield held
            elif pending:
                yield without_conversations(
                    "no mail of the archive makes a conversation: every one was left out "
                    "(see the warnings)",
                    pending,
                )

    def _stage(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        rules: MailMapping,
        team: _Team,
        *,
        threads: Threads,
        store: StagingStore,
    ) -> int:
        """Read every mail once: heads threaded, bodies staged, unreadable mails kept aside.
        Within ``staging_workers`` of more than one job (``--jobs``), mails are parsed in
        worker processes, in runs, and staged here in archive order."""
        staged = _Staged(team, threads, store)
        workers = current_staging_workers()
        if workers is None or workers.jobs < 2:
            for raw in self._raw_mails(files):
                staged.add(raw, read_mail(raw, staged.mails + 1, rules))
            return staged.mails
        with OrderedWork(partial(read_mail_run, rules), workers) as work:
            for run in mail_runs(self._raw_mails(files), first_number=1):
                for done in work.put(run):
                    staged.add_run(*done, rules=rules)
            for done in work.drain():
                staged.add_run(*done, rules=rules)
        return staged.mails

    def _raw_mails(self, files: Mapping[str, Sequence[RoleFile]]) -> Iterator[RawMail]:
        for input_file in files_in_order(files, self.roles):
            yield from iter_raw_mails(input_file)


class _Staged:
    """The mails staged so far: bodies in the store, heads threaded, the team's senders
    learned, the mails that cannot be read kept aside (what needs the whole archive: done in
    the main process, in archive order)."""

    def __init__(self, team: _Team, threads: Threads, store: StagingStore) -> None:
        self.team = team
        self.threads = threads
        self.store = store
        self.mails = 0  # the number of the last mail staged

    def add(self, raw: RawMail, read: MailRead) -> None:
        self.mails += 1
        if isinstance(read, MailUnread):
            _put_unread(self.store, raw, read.reason, code=read.code)
            return
        head, body = read
        if head["sent"] and head["from"] and head["sole_sender"]:
            self.team.learned.add(head["from"][0])
        self.store.put(BODY, str(self.mails), raw.location, record=body)
        self.threads.add(head, raw.location)

    def add_run(self, run: MailRun, read: list[MailRead] | None, *, rules: MailMapping) -> None:
        """The mails of a run a worker read (``None``: no worker could: read here)."""
        if read is None:
            read = read_mail_run(rules, run)
        for raw, mail in zip(run.mails, read, strict=True):
            self.add(raw, mail)


def _put_unread(store: StagingStore, raw: RawMail, reason: str, *, code: str) -> None:
    """Stage a mail that is not read: why, its first text and its Message-ID if it has one."""
    text = raw.data[:RAW_TEXT_LIMIT].decode("utf-8", "replace")
    store.put(UNREAD, None, raw.location, record=[reason, text, raw_message_id(raw.data), code])


def _unread_record(location: str, staged: list[Any]) -> SourceRecord:
    """The invalid record of a mail that is not read: one the parser could not read (code
    ``mail.parse``), or one its reading refused (its message says why, and what to do)."""
    reason, text, mail_id, code = staged
    name = f"<{mail_id}>" if mail_id else "without a Message-ID"
    message = (
        f"the mail {name} cannot be read ({reason}); it is not imported"
        if code == PARSE
        else reason
    )
    error = Finding("read", code, message, location, mail_id)
    return SourceRecord(location, None, mail_id, error=error, raw_text=text)


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
    heads: list[dict[str, Any]], rules: MailMapping, team: _Team
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
    team: _Team,
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
    team: _Team,
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


READER = MailReader()
