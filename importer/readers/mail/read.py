"""One mail read: parsed into its head and body, or why it cannot be read.

Reading a mail needs nothing but the mail, its number and the mapping, so a worker process can
do it (``--jobs``: the mail reader sends runs of raw mails through
:class:`~importer.readers.ordered_work.OrderedWork`); what needs the whole archive (threading,
the team's senders, the staging store) stays in the main process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

from importer.readers.mail.mapping import MailMapping
from importer.readers.mail.message import mail_body, mail_head
from importer.readers.mail.parse import RawMail, parse

PARSE = "mail.parse"
#: mails a worker reads at once, and their bytes at most (a run ends at the mail that reaches
#: either)
RUN_MAILS = 200
RUN_BYTES = 1 << 20


class MailUnread(NamedTuple):
    """Why a mail is not read, and the code of its error."""

    reason: str
    code: str


#: a mail read: its head and body, or why it is not read
MailRead: TypeAlias = MailUnread | tuple[dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class MailRun:
    """Consecutive mails of the archive, the first of them mail number ``first_number``."""

    first_number: int
    mails: list[RawMail]


def read_mail(raw: RawMail, number: int, rules: MailMapping) -> MailRead:
    """Mail number ``number`` read (one mail's trouble is its own: never raised)."""
    if raw.problem is not None:  # over the bound, or no mail: never parsed
        return MailUnread(raw.problem, raw.code)
    try:
        message = parse(raw)
        head = mail_head(message, raw, number, rules=rules)
        body = mail_body(message)
    except Exception as exc:
        return MailUnread(str(exc), PARSE)
    return head, body


def read_mail_run(rules: MailMapping, run: MailRun) -> list[MailRead]:
    """Every mail of ``run`` read, in order (what a worker does)."""
    return [read_mail(raw, run.first_number + n, rules) for n, raw in enumerate(run.mails)]


def mail_runs(mails: Iterator[RawMail], *, first_number: int) -> Iterator[MailRun]:
    """``mails`` in runs of :data:`RUN_MAILS` mails or about :data:`RUN_BYTES`, numbered from
    ``first_number``."""
    run: list[RawMail] = []
    size = 0
    for raw in mails:
        run.append(raw)
        size += len(raw.data)
        if len(run) >= RUN_MAILS or size >= RUN_BYTES:
            yield MailRun(first_number, run)
            first_number += len(run)
            run, size = [], 0
    if run:
        yield MailRun(first_number, run)
