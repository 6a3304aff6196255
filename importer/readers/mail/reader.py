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

from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, cast

from importer.errors import FormatError
from importer.findings import Finding
from importer.readers.base import Reader, RoleFile, files_in_order
from importer.readers.batches import RecordBatch
from importer.readers.mail.build import (
    BODY,
    Team,
    conversations,
    finished,
    last_carries,
)
from importer.readers.mail.join import (
    JoinRules,
    MailWork,
    RootRun,
    join_store,
    mail_workers,
    summed_up,
)
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
from importer.readers.mail.slices import mail_batches
from importer.readers.mail.thread import THREAD, Threads
from importer.readers.source import FormatInfo, SourceRecord
from importer.readers.staging import StagingStore

UNREAD = "unread"
RAW_TEXT_LIMIT = 20_000


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
        with StagingStore(workdir) as store:
            threads, team, pending = self.staged(
                files, rules, store, mapping=mapping, note_kept=False
            )
            built = conversations(threads, store, rules, team=team, pending=pending)
            yield from finished(chain(self.unread_records(store), built), pending)

    def record_batches(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        mapping: dict[str, Any],
        workdir: Path,
        *,
        size: int,
    ) -> Iterator[RecordBatch]:
        """Staged and threaded here, each slice of threads built in a planning worker
        (:mod:`importer.readers.mail.slices`)."""
        return mail_batches(self, files, mapping, workdir=workdir, size=size)

    def staged(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        rules: MailMapping,
        store: StagingStore,
        *,
        mapping: dict[str, Any],
        note_kept: bool,
    ) -> tuple[Threads, Team, list[Finding]]:
        """Every mail of ``files`` staged and threaded (threads of the same subject joined;
        with ``note_kept``, which threads make a conversation noted for
        :meth:`~importer.readers.mail.thread.Threads.finals`); the threads, the team (kept in
        ``store``) and the read's warnings so far. ``mapping``: the mapping ``rules`` were
        read from, for the workers that sum up threads (:mod:`importer.readers.mail.join`)."""
        team = Team(rules)
        threads = Threads(store)
        # one pool for reading the mails and summing up the threads: forked while the main
        # process is small (a pool forked for the join counted its pages again in each worker)
        work = mail_workers(rules)
        with work if work is not None else nullcontext():
            mails = self._stage(files, rules, team, threads=threads, store=store, work=work)
            if not mails:
                names = ", ".join(f.name for f in files_in_order(files, self.roles)[:3])
                raise FormatError(f"no mail found in {names}: give the export's mbox or .eml files")
            team.keep(store)  # what a worker summing up threads, or building them, knows of it
            store.commit()
            asked = JoinRules(noting=note_kept, window_on=rules.subject_window_days > 0)
            worker_run = partial(
                RootRun, self, mapping, store.path, store.record_kinds, store.kinds, asked
            )
            summaries = summed_up(
                threads.roots(),
                asked,
                threads=threads,
                rules=rules,
                team=team,
                work=work,
                worker_run=worker_run,
            )
            with join_store(store) as joins:
                threads.join_by_subject(
                    rules.subject_window_days, summaries, joins=joins, noting=note_kept
                )
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
        return threads, team, pending

    def unread_records(self, store: StagingStore) -> Iterator[SourceRecord]:
        """The invalid records of the mails that are not read, in archive order."""
        for staged in store.of_kind(UNREAD):
            yield _unread_record(staged.location, staged.record)

    # -- building in a planning worker (a slice of threads: importer.readers.mail.slices) ----
    slice_kind = THREAD

    def slice_rules(self, mapping: dict[str, Any], store: StagingStore) -> tuple[MailMapping, Team]:
        """What building needs besides the store: the mapping and the team learned."""
        rules = mail_mapping(mapping)
        return rules, Team.of_store(rules, store)

    def records(
        self, store: StagingStore, rules: tuple[MailMapping, Team]
    ) -> Iterator[SourceRecord]:
        """The conversations of the threads of ``store.window``."""
        mapping_rules, team = rules
        pending: list[Finding] = []
        built = conversations(Threads(store), store, mapping_rules, team=team, pending=pending)
        return last_carries(built, pending)

    def _stage(
        self,
        files: Mapping[str, Sequence[RoleFile]],
        rules: MailMapping,
        team: Team,
        *,
        threads: Threads,
        store: StagingStore,
        work: MailWork | None,
    ) -> int:
        """Read every mail once: heads threaded, bodies staged, unreadable mails kept aside.
        With ``work`` (``staging_workers`` of more than one job, ``--jobs``), mails are parsed
        in worker processes, in runs, and staged here in archive order."""
        staged = _Staged(team, threads, store)
        if work is None:
            for raw in self._raw_mails(files):
                staged.add(raw, read_mail(raw, staged.mails + 1, rules))
            return staged.mails
        for run in mail_runs(self._raw_mails(files), first_number=1):
            for piece, done in work.put(run):
                staged.add_run(cast(MailRun, piece), cast(list[MailRead] | None, done), rules=rules)
        for piece, done in work.drain():
            staged.add_run(cast(MailRun, piece), cast(list[MailRead] | None, done), rules=rules)
        return staged.mails

    def _raw_mails(self, files: Mapping[str, Sequence[RoleFile]]) -> Iterator[RawMail]:
        for input_file in files_in_order(files, self.roles):
            yield from iter_raw_mails(input_file)


class _Staged:
    """The mails staged so far: bodies in the store, heads threaded, the team's senders
    learned, the mails that cannot be read kept aside (what needs the whole archive: done in
    the main process, in archive order)."""

    def __init__(self, team: Team, threads: Threads, store: StagingStore) -> None:
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


READER = MailReader()
