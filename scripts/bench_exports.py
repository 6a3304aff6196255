"""Large exports of every platform for ``make bench``, made from the sample exports.

``write_platform_export(fmt, folder, conversations)`` copies the people files of
``samples/<fmt>/export`` (users, contacts, agents, teams, fields) once and repeats its
conversation files (the main records and their children) until about ``conversations``
conversations are written: in the k-th copy every id of a conversation or message (every ``id``
value of those files that is not a person's) gets ``k`` added, wherever it is written (keys,
URIs, links), so each copy is new conversations of the same people. Each record is one NDJSON
line (an ETL envelope stays an envelope); the child files' records are shuffled over the whole
file, as an export of comments sorted by their own id would have them. The Zendesk export is
``bench.write_zendesk_export`` (generated, not repeated).

``floor_*.py`` read the same files with the plain parse-and-join a user would write first.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
#: per format: the files repeated (the first holds the conversations), the others copied once
CLONED = {
    "freshdesk": ("tickets.json", "a-conversations.json", "b-conversations.jsonl"),
    "intercom": ("conversations.jsonl",),
    "front": ("conversations.json", "messages.jsonl", "comments.json"),
    "gorgias": ("tickets.jsonl", "messages.jsonl"),
    "helpscout": ("conversations-page-1.json",),
}
BUCKET_RECORDS = 200_000  # child records shuffled in memory at once


def file_records(path: Path) -> list[Any]:
    """The records of a sample file: a JSON array's items, the one list of a wrapped list or
    API page (``_embedded`` too), or NDJSON lines."""
    text = path.read_bytes().decode("utf-8", errors="replace")  # a sample's cp1252 bytes
    try:
        whole = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(whole, list):
        return whole
    if isinstance(whole, dict):
        holder = whole.get("_embedded", whole)
        for value in holder.values():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return value
    return [whole]


def _ids(value: Any, found: set[str]) -> None:
    """Every ``id`` value (as text) anywhere in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, (int, str)) and not isinstance(item, bool):
                found.add(str(item))
            else:
                _ids(item, found)
    elif isinstance(value, list):
        for item in value:
            _ids(item, found)


def _renamer(ids: set[str]) -> re.Pattern[str]:
    """Any of ``ids`` as a whole word, not inside a time, a date or a number (``17:07:52.5``)."""
    words = sorted((word for word in ids if len(word) >= 3), key=len, reverse=True)
    return re.compile(
        r"(?<![\w.:+-])(" + "|".join(map(re.escape, words)) + r")(?![\w:]|\.\d*[1-9])"
    )  # 1024.0: an id


def _copy_id(word: str, k: int) -> str:
    if word.isdigit():
        return str(int(word) + k * 10 ** max(len(word), 6))  # same width class, no clash
    return f"{word}{k:x}" if not word[-1:].isdigit() else f"{word}x{k:x}"


def _lines(records: list[Any]) -> list[str]:
    return [json.dumps(record, ensure_ascii=False) for record in records]


def write_platform_export(fmt: str, folder: Path, conversations: int, seed: int = 24) -> int:
    """Write about ``conversations`` conversations of ``fmt`` to ``folder`` (module doc);
    return the number of copies of the sample's conversation files."""
    sample = SAMPLES / fmt / "export"
    folder.mkdir(parents=True, exist_ok=True)
    cloned = CLONED[fmt]
    people: set[str] = set()
    for path in sorted(p for p in sample.iterdir() if p.is_file()):
        if path.name not in cloned:
            records = file_records(path)
            _ids(records, people)
            (folder / f"{path.stem}.jsonl").write_text("\n".join(_lines(records)) + "\n")
    texts = {name: _lines(file_records(sample / name)) for name in cloned}
    ids: set[str] = set()
    for name in cloned:
        _ids(file_records(sample / name), ids)
    pattern = _renamer(ids - people)
    per_copy = len(texts[cloned[0]])
    copies = max(1, -(-conversations // per_copy))
    rng = random.Random(seed)
    for index, name in enumerate(cloned):
        out_path = folder / f"{Path(name).stem}.jsonl"
        lines = _copied(texts[name], pattern, copies)
        _write(out_path, lines, shuffle=index > 0, rng=rng)
    return copies


def _copied(lines: list[str], pattern: re.Pattern[str], copies: int) -> Iterator[str]:
    for k in range(copies):
        rename = partial(_renamed, k=k)
        for line in lines:
            yield pattern.sub(rename, line) if k else line


def _renamed(match: re.Match[str], k: int) -> str:
    return _copy_id(match.group(1), k)


def _write(path: Path, lines: Iterator[str], *, shuffle: bool, rng: random.Random) -> None:
    """``lines`` to ``path``; shuffled over the whole file in bounded memory (random buckets,
    each shuffled) when ``shuffle``."""
    if not shuffle:
        with path.open("w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
        return
    parts = [path.with_name(f"{path.name}.part{n}") for n in range(16)]
    outs = [part.open("w", encoding="utf-8") for part in parts]
    for line in lines:
        outs[rng.randrange(len(outs))].write(line + "\n")
    for out in outs:
        out.close()
    with path.open("w", encoding="utf-8") as out:
        for part in parts:
            bucket = part.read_text(encoding="utf-8").splitlines(keepends=True)
            part.unlink()
            rng.shuffle(bucket)
            out.writelines(bucket)
