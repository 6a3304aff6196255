"""Threading mails into conversations with the state on disk (:mod:`importer.readers.staging`).

Pass one, as the mails are read (:meth:`Threads.add`): each mail's ids (its ``Message-ID``, every
``References`` and ``In-Reply-To`` id, Gmail's ``X-GM-THRID``) are *nodes*; a node names the
thread it was first seen in; a mail whose nodes name several threads joins them (union-find: the
later thread gets the earlier as its parent, and is listed as its child). Replies that come
before their parent, and siblings whose parent is missing, so end in one thread whatever the
order. Nodes, threads, parents and members are rows of the staging store; only bounded caches
stay in memory, so 100,000 mails thread in constant memory.

Pass two (:meth:`Threads.join_by_subject`): a thread whose first mail is a reply (it names a
parent, or its subject says ``Re:``) but whose parent is not in the archive joins the latest
earlier thread with the same normalised subject and the same customer whose last mail is within
the mapping's window. Then :meth:`Threads.conversations` gives each final thread's mail heads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from importer.readers.staging import StagingStore

if TYPE_CHECKING:
    from importer.readers.mail.join import RootSummary

NODE = "node"
THREAD = "thread"
PARENT = "parent"
CHILD = "child"
MEMBER = "member"
SUMMARY = "summary"
ORPHAN = "orphan"
MERGE = "merge"
MERGED = "merged"
CACHE_SIZE = 50_000
DAY_S = 86_400.0

_TAGS = re.compile(r"^\s*(\[[^\]]*\]\s*)+")
#: every leading ``[tag]`` and reply or forward prefix, in one pass: each one is taken as the
#: loop of stripping them one at a time would take it, and never given back (``*+``), so a
#: subject of a million ``Re:`` is linear, not quadratic
_LEADING = re.compile(
    r"(?:\s*+(?:\[[^\]]*+\]\s*+)*+"
    r"(?:re|fw|fwd|aw|wg|sv|vs|vb|antw|doorst|tr|ref|rif|odp|r)\s*+(?:\[\d+\]|\(\d+\))?\s*+[:：]\s*+)*+"
    r"\s*+(?:\[[^\]]*+\]\s*+)*+",
    re.IGNORECASE,
)
_REPLY = re.compile(
    r"^\s*(re|aw|sv|vs|antw|ref|rif|odp|r)\s*(\[\d+\]|\(\d+\))?\s*[:：]", re.IGNORECASE
)


def normalised_subject(subject: str) -> str:
    """``subject`` without ``Re:``/``Fwd:``/``AW:``/``SV:`` prefixes and ``[tags]``, folded."""
    leading = _LEADING.match(subject)  # it matches every subject, if only the empty start
    rest = subject[leading.end() :] if leading else subject
    return " ".join(rest.split()).casefold()


def is_reply(head: dict[str, Any]) -> bool:
    """Whether a mail is a reply: it names a parent, or its subject (past any ``[tag]``) says so."""
    return bool(head["refs"]) or bool(_REPLY.match(_TAGS.sub("", head["subject"])))


class _Cache(dict[str, Any]):
    """A dict that empties itself when full: bounded memory, hits for recent keys."""

    def keep(self, key: str, value: Any) -> None:
        if len(self) >= CACHE_SIZE:
            self.clear()
        self[key] = value


class Threads:
    """The threading state of one read, in ``store``."""

    def __init__(self, store: StagingStore) -> None:
        self.store = store
        self._threads = 0
        #: per thread, 1 when it makes a conversation (noted by join_by_subject's ``noting``)
        self._keeps: bytearray | None = None
        self._nodes = _Cache()
        self._parents = _Cache()

    # -- pass one -----------------------------------------------------------------------------
    def add(self, head: dict[str, Any], location: str) -> None:
        """Put one mail's head in its thread, joining the threads its ids name."""
        nodes = [head["id"], *head["refs"]]
        if head.get("thrid"):
            nodes.append(f"gmail-thread:{head['thrid']}")
        unknown: list[str] = []
        roots: set[int] = set()
        for node in dict.fromkeys(n for n in nodes if n):
            thread = self._node(node)
            if thread is None:
                unknown.append(node)
            else:
                roots.add(self.root(thread))
        if roots:
            target, *others = sorted(roots)
            for other in others:
                self.store.put(PARENT, str(other), location, record=target)
                self.store.put(CHILD, str(target), location, record=other)
                self._parents.keep(str(other), target)
        else:
            self._threads += 1
            target = self._threads
            self.store.put(THREAD, str(target), location, record=None)
        for node in unknown:
            self.store.put(NODE, node, location, record=target)
            self._nodes.keep(node, target)
        self.store.put(MEMBER, str(target), location, record=head)

    def _node(self, node: str) -> int | None:
        if node in self._nodes:
            thread: int | None = self._nodes[node]
            return thread
        staged = self.store.first(NODE, node)
        thread = None if staged is None else int(staged.record)
        if thread is not None:
            self._nodes.keep(node, thread)
        return thread

    def root(self, thread: int) -> int:
        """The thread ``thread`` was joined into (itself when it was not)."""
        while True:
            key = str(thread)
            if key in self._parents:
                parent = self._parents[key]
            else:
                staged = self.store.first(PARENT, key)
                parent = None if staged is None else int(staged.record)
                self._parents.keep(key, parent)
            if parent is None:
                return thread
            thread = parent

    def roots(self) -> Iterator[int]:
        """Every thread not joined into another, in the order each began."""
        return (thread for _, thread in self._roots())

    def _roots(self) -> Iterator[tuple[int, int]]:
        """``(seq of its THREAD row, thread)`` of every thread not joined into another, in the
        order each began (those of ``store.window`` only, when it is set on THREAD)."""
        for staged in self.store.of_kind(THREAD):
            thread = int(str(staged.key))
            if self.root(thread) == thread:
                yield staged.seq, thread

    def _finals(self) -> Iterator[tuple[int, int]]:
        """:meth:`_roots` less those joined to another by subject: each a conversation."""
        for seq, thread in self._roots():
            if self.store.first(MERGE, str(thread)) is None:
                yield seq, thread

    def heads(self, thread: int) -> list[dict[str, Any]]:
        """The mail heads of ``thread`` and of the threads joined into it, in time order."""
        found: list[dict[str, Any]] = []
        pending = [thread]
        while pending:
            key = str(pending.pop())
            found.extend(staged.record for staged in self.store.by_key(MEMBER, key))
            pending.extend(int(staged.record) for staged in self.store.by_key(CHILD, key))
        found.sort(key=lambda head: (head["epoch"], head["n"]))
        return found

    # -- pass two -----------------------------------------------------------------------------
    def join_by_subject(
        self,
        window_days: float,
        summaries: Iterable[tuple[int, RootSummary]],
        *,
        joins: StagingStore,
        noting: bool,
    ) -> None:
        """Join each thread that starts with a reply whose parent is missing to the latest
        earlier thread of the same subject and customer within ``window_days``.
        ``summaries``: ``(thread, summary)`` of each root thread (:meth:`roots`, in order),
        from :mod:`importer.readers.mail.join`; they are written to ``joins``, a store of
        their own. With ``noting``, which threads make a conversation is noted on the way,
        for :meth:`finals`."""
        noted = self._keeps = bytearray(self._threads + 1) if noting else None
        if noted is None and window_days <= 0:
            return
        window = window_days * DAY_S
        for thread, (keep, summary) in summaries:
            if keep and noted is not None:
                noted[thread] = 1
            if summary is None:
                continue
            key, first, last, location, reply = summary
            joins.put(SUMMARY, key, location, record=[thread, first, last])
            if reply:
                joins.put(ORPHAN, str(thread), location, record=[key, first])
        joins.commit()
        if window_days <= 0:
            return
        for staged in joins.of_kind(ORPHAN):
            thread = int(str(staged.key))
            key, first = staged.record
            best: tuple[float, int] | None = None
            for candidate in joins.by_key(SUMMARY, key):
                other, other_first, other_last = candidate.record
                if other == thread or (other_first, other) >= (first, thread):
                    continue
                if first - other_last > window:
                    continue
                if best is None or (other_first, other) > best:
                    best = (other_first, other)
            if best is not None:
                self.store.put(MERGE, str(thread), staged.location, record=best[1])
                self.store.put(MERGED, str(best[1]), staged.location, record=thread)
        self.store.commit()

    def conversations(self) -> Iterator[list[dict[str, Any]]]:
        """The mail heads of each final thread (after :meth:`join_by_subject`), in time order,
        threads in the order they began."""
        for _, thread in self._finals():
            heads = self.heads(thread)
            pending = [thread]
            while pending:
                key = str(pending.pop())
                for staged in self.store.by_key(MERGED, key):
                    joined = int(staged.record)
                    heads.extend(self.heads(joined))
                    pending.append(joined)
            heads.sort(key=lambda head: (head["epoch"], head["n"]))
            yield heads

    def finals(self) -> Iterator[tuple[int, bool]]:
        """``(seq of its THREAD row, whether it makes a conversation)`` of each thread
        :meth:`conversations` gives, in its order; after :meth:`join_by_subject` with ``noting``
        (a thread joined of others makes one when any of them does)."""
        if self._keeps is None:
            raise ValueError("which threads make a conversation was not noted (keeps)")
        for seq, thread in self._finals():
            yield seq, self._makes_one(thread, self._keeps)

    def _makes_one(self, thread: int, keeps: bytearray) -> bool:
        pending = [thread]
        while pending:
            joined = pending.pop()
            if keeps[joined]:
                return True
            pending.extend(int(staged.record) for staged in self.store.by_key(MERGED, str(joined)))
        return False
