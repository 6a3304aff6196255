"""The floor of ``make bench``: a plain single-process script that only parses and joins an export.

    python scripts/floor_join.py FORMAT EXPORT

What a user would write first to read the export of FORMAT (the files ``make bench`` generates):
every JSON record parsed (``json.loads``, an ETL envelope unwrapped), the child records (comments,
messages, conversations of a ticket) joined to their conversation in a dict, CSV rows grouped by
conversation id, mails parsed (headers and body) and joined into threads; then each conversation
is visited once. No check, no mapping, no validation, no bound: whatever ``importer validate``
does beyond this is its own cost. Prints one JSON line: conversations, children joined, seconds.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

csv.field_size_limit(1 << 30)


def json_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON file: NDJSON lines, or one array or wrapped list."""
    with path.open("rb") as handle:
        first = handle.readline()
        try:
            head = json.loads(first)
        except ValueError:  # one JSON value over several lines
            whole = json.loads(first + handle.read())
            items = (
                whole
                if isinstance(whole, list)
                else next(value for value in whole.values() if isinstance(value, list))
            )
            yield from items
            return
        yield from _unwrapped(head)
        for line in handle:
            if line.strip():
                yield from _unwrapped(json.loads(line))


def _unwrapped(record: Any) -> Iterator[dict[str, Any]]:
    if isinstance(record, dict) and "stream" in record and isinstance(record.get("data"), dict):
        yield record["data"]
    elif isinstance(record, dict) and isinstance(record.get("users"), list):
        yield from record["users"]
    elif isinstance(record, dict):
        yield record


def _tail(url: Any) -> str:
    return str(url).rstrip("/").rsplit("/", 1)[-1]


def _key(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) else str(value)


#: format -> (file stem of the conversations, {file stem of children: their conversation's key})
JOINS: dict[str, tuple[str, dict[str, Callable[[dict[str, Any]], str]]]] = {
    "zendesk": ("tickets", {"ticket_comments": lambda r: _key(r.get("ticket_id"))}),
    "freshdesk": (
        "tickets",
        {
            "a-conversations": lambda r: _key(r.get("ticket_id")),
            "b-conversations": lambda r: _key(r.get("ticket_id")),
        },
    ),
    "intercom": ("conversations", {}),  # parts embedded
    "helpscout": ("conversations-page-1", {}),  # threads embedded
    "canonical": ("", {}),
    "gorgias": ("tickets", {"messages": lambda r: _key(r.get("ticket_id"))}),
    "front": (
        "conversations",
        {
            name: lambda r: _tail(r["_links"]["related"]["conversation"])
            for name in ("messages", "comments")
        },
    ),
}


def join_json(fmt: str, export: Path) -> tuple[int, int]:
    main, children = JOINS[fmt]
    files = sorted(p for p in export.rglob("*") if p.is_file()) if export.is_dir() else [export]
    by_parent: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    people: dict[str, dict[str, Any]] = {}
    conversations: list[dict[str, Any]] = []
    for path in files:
        stem = path.stem
        if stem in children:
            key_of = children[stem]
            for record in json_records(path):
                by_parent[key_of(record)].append(record)
        elif stem == main or not main:
            conversations.extend(json_records(path))
        else:
            for record in json_records(path):
                people[_key(record.get("id"))] = record
    joined = 0
    for conversation in conversations:
        joined += len(by_parent.get(_key(conversation.get("id")), ()))
    return len(conversations), joined


def join_csv(export: Path) -> tuple[int, int]:
    rows: defaultdict[str, list[list[str]]] = defaultdict(list)
    files = sorted(export.glob("*.csv")) if export.is_dir() else [export]
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row in reader:
                rows[row[0]].append(row)
    return len(rows), sum(len(group) for group in rows.values())


def _mails(path: Path) -> Iterator[bytes]:
    lines: list[bytes] = []
    with path.open("rb") as handle:
        for line in handle:
            if line.startswith(b"From ") and lines:
                yield b"".join(lines[1:])
                lines = []
            lines.append(line)
    if lines:
        yield b"".join(lines[1:])


def join_mail(export: Path) -> tuple[int, int]:
    parser = BytesParser(policy=policy.compat32)
    thread_of: dict[str, str] = {}
    threads: defaultdict[str, list[Any]] = defaultdict(list)
    files = sorted(export.rglob("*.mbox")) if export.is_dir() else [export]
    for path in files:
        for raw in _mails(path):
            mail = parser.parsebytes(raw)
            ident = str(mail.get("Message-ID", "")).strip()
            parents = str(mail.get("References", "") or mail.get("In-Reply-To", "")).split()
            root = next((thread_of[p] for p in parents if p in thread_of), ident)
            thread_of[ident] = root
            threads[root].append(mail.get_payload())
    return len(threads), sum(len(mails) for mails in threads.values())


def main() -> int:
    fmt, export = sys.argv[1], Path(sys.argv[2])
    started = time.monotonic()
    if fmt == "csv":
        conversations, joined = join_csv(export)
    elif fmt == "mail":
        conversations, joined = join_mail(export)
    else:
        conversations, joined = join_json(fmt, export)
    elapsed = time.monotonic() - started
    print(json.dumps({"conversations": conversations, "joined": joined, "elapsed_s": elapsed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
