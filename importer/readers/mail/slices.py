"""A staged mail archive in slices of threads that planning workers build (``--jobs``).

The main process reads, stages and threads every mail (what needs the whole archive: the
threads, the team learned, the join by subject: ``MailReader.staged``; what the join needs of
each thread is summed up by the staging workers, :mod:`importer.readers.mail.join`) and yields
the mails that cannot be read. Then it cuts the final threads, in the order their
conversations come, into runs: a :class:`~importer.readers.staged_batches.StagedSlice` over
rows of the ``thread`` kind, a few numbers; the worker that plans it opens the staging store
read-only and builds those conversations with
:func:`~importer.readers.mail.build.conversations`, as the main process would.

A thread whose every mail is left out makes no conversation; its warnings go to the next
conversation, or to the last when none follows. So that a slice never has to hand warnings to
another, the threading notes which threads make a conversation
(:meth:`~importer.readers.mail.thread.Threads.finals`) and a slice ends at a thread that makes
one, but the last, which takes every thread after it. When no thread makes one, the main
process builds them all (their warnings go to an invalid record of their own, or to the last
mail not read), as :meth:`~importer.readers.mail.reader.MailReader.read` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.readers.batches import RecordBatch, batched
from importer.readers.mail.build import conversations, finished
from importer.readers.mail.mapping import mail_mapping
from importer.readers.staged_batches import StagedSlice, forget_store
from importer.readers.staging import StagingStore

if TYPE_CHECKING:
    from importer.readers.base import RoleFile
    from importer.readers.mail.reader import MailReader

#: ``(first seq, last seq, conversations)`` of a slice of thread rows
Cut = tuple[int, int, int]


def slice_cuts(finals: Iterable[tuple[int, bool]], size: int) -> Iterator[Cut]:
    """The final threads (``(seq, makes a conversation)``, in order) in slices of ``size``
    conversations, each ending at a thread that makes one, the last taking every thread left
    (none: no thread makes a conversation)."""
    ready: Cut | None = None  # a slice cut, given once a later thread makes a conversation
    first = last = count = 0
    for seq, makes_one in finals:
        if first == 0:
            first = seq
        last = seq
        if not makes_one:
            continue
        if ready is not None:
            yield ready
            ready = None
        count += 1
        if count >= size:
            ready, first, count = (first, last, count), 0, 0
    if ready is not None:  # what follows it makes no conversation: its warnings come with it
        yield (ready[0], last, ready[2])
    elif count:
        yield (first, last, count)


def mail_batches(
    reader: MailReader,
    files: Mapping[str, Sequence[RoleFile]],
    mapping: dict[str, Any],
    *,
    workdir: Path,
    size: int,
) -> Iterator[RecordBatch]:
    """:meth:`~importer.readers.mail.reader.MailReader.read` in batches of about ``size``
    conversations: staged here, built by the planning workers (module doc)."""
    rules = mail_mapping(mapping)
    with StagingStore(workdir) as store:
        threads, team, pending = reader.staged(files, rules, store, mapping=mapping, note_kept=True)
        cuts = slice_cuts(threads.finals(), size)
        first_cut = next(cuts, None)
        if first_cut is None:  # no thread makes a conversation: what read() does, here
            built = conversations(threads, store, rules, team=team, pending=pending)
            yield from batched(finished(chain(reader.unread_records(store), built), pending), size)
            return
        yield from batched(reader.unread_records(store), size)
        try:
            for cut in chain([first_cut], cuts):
                given, pending = pending, []
                yield StagedSlice(
                    reader, mapping, store.path, store.record_kinds, store.kinds, *cut, given
                )
        finally:
            forget_store(store.path)
