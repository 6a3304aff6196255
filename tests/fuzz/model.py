"""A seed export as files made of pieces: container text and records ("units").

Every file of a seed is cut into pieces whose concatenation is the file; a piece that holds one
record remembers which seed record (``unit``) it came from. Mutations change pieces, and so know
exactly which records they touched. JSON documents are re-serialised (``indent=2``) around their
records so that each record's bytes are known; NDJSON, CSV and mbox keep their original bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "real"

#: reader -> seeds (name -> files relative to the repository); a folder means every file in it
SEEDS: dict[str, dict[str, list[str]]] = {
    "canonical": {"samples/canonical": ["samples/canonical/export"]},
    "csv": {
        "samples/csv": ["samples/csv/export"],
        "readers/csv_export": ["tests/data/readers/csv_export"],
    },
    "zendesk": {
        "samples/zendesk": ["samples/zendesk/export"],
        "real/zendesk": [
            "tests/data/real/zendesk_nango_incremental_tickets.json",
            "tests/data/real/zendesk_nango_ticket_comments.json",
        ],
    },
    "freshdesk": {
        "samples/freshdesk": ["samples/freshdesk/export"],
        "real/freshdesk": ["tests/data/real/freshdesk_python-freshdesk_ticket_1.json"],
    },
    "intercom": {
        "samples/intercom": ["samples/intercom/export"],
        "real/intercom": ["tests/data/real/intercom_nango_conversation_5.json"],
    },
    "front": {
        "samples/front": ["samples/front/export"],
        "real/front": ["tests/data/real/front_nango_conversation_messages.json"],
    },
    "gorgias": {
        "samples/gorgias": ["samples/gorgias/export"],
        "real/gorgias": ["tests/data/real/gorgias_nango_ticket_153006867.json"],
    },
    "mail": {"samples/mail": ["samples/mail/export"]},
    "helpscout": {"samples/helpscout": ["samples/helpscout/export"]},
}
READERS = list(SEEDS)
#: records of platforms without a reader, only ever inserted as foreign records
FOREIGN_ONLY = [
    "tests/data/real/zoho_desk_nango_ticket_and_threads.json",
    "tests/data/real/hubspot_nango_crm_tickets.json",
]

_ID_KEY = re.compile(r"^(id|uid|email|source_id|message_id|conversation_id)$|_id$|Id$")
_MAIL_ID = re.compile(rb"^(message-id|x-gm-thrid|in-reply-to|references):\s*(.+)$", re.I | re.M)
_TOKEN = re.compile(rb"[\w.@+-]+")
MARK = "\x00UNIT{}\x00"


@dataclass
class Piece:
    data: bytes
    unit: int | None = None  # the seed record this piece holds, None for container text


@dataclass
class File:
    name: str  # path relative to the export's folder
    kind: str  # json | ndjson | csv | mbox | blob
    pieces: list[Piece]
    stream: str = ""  # the list key that held the records, else the file's stem
    sep: bytes = b"\n"  # between two records
    key: str | None = None  # the key of the list that held the records in the seed
    keyed: bool = False  # records are pages keyed by request path: the key is not in the record
    #: wrapped in ETL envelopes or pages by a mutation: a line may hold a record's envelope,
    #: or several records (an API page), so damage reaches past the record it hits
    enveloped: bool = False

    def data(self) -> bytes:
        return b"".join(piece.data for piece in self.pieces)

    def unit_positions(self) -> list[int]:
        return [i for i, piece in enumerate(self.pieces) if piece.unit is not None]

    def units(self) -> list[int]:
        return [piece.unit for piece in self.pieces if piece.unit is not None]


@dataclass
class Unit:
    file: str
    data: bytes
    ids: frozenset[str]  # its own ids: values of id-like keys, Message-ID...
    stream: str


@dataclass
class Seed:
    reader: str
    name: str
    files: list[File]
    units: list[Unit] = field(default_factory=list)
    digest: str = ""

    def tree(self) -> dict[str, bytes]:
        return {f.name: f.data() for f in self.files}


def tokens(data: bytes) -> set[str]:
    return {t.decode("utf-8", "replace") for t in _TOKEN.findall(data)}


def _json_ids(value: Any) -> set[str]:
    if not isinstance(value, dict):
        return set()
    return {
        str(v)
        for k, v in value.items()
        if _ID_KEY.search(str(k)) and isinstance(v, str | int) and not isinstance(v, bool)
    }


def _record_lists(doc: Any) -> list[tuple[str, list[Any]]] | None:
    """Where a parsed JSON document keeps its records: (stream, list) pairs."""
    if isinstance(doc, list):
        return [("", doc)]
    if not isinstance(doc, dict) or "id" in doc:
        return None
    embedded = doc.get("_embedded")
    if isinstance(embedded, dict):
        return [(k, v) for k, v in embedded.items() if isinstance(v, list)]
    lists = [
        (k, v)
        for k, v in doc.items()
        if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)
    ]
    return lists or None


def _split_json(name: str, doc: Any, seed: Seed) -> File:
    """Re-serialise a JSON document with each record as a piece of its own."""
    stem = Path(name).stem
    found = _record_lists(doc)
    records: list[tuple[str, Any]] = []
    keyed = isinstance(doc, dict) and bool(doc) and all(k.startswith(("/", "GET")) for k in doc)
    if found is None or keyed:
        # a lone record, or pages keyed by request path: each value is one unit
        if keyed:
            shell: Any = {}
            for key, value in doc.items():
                shell[key] = MARK.format(len(records))
                records.append((stem, value))
        else:
            shell = MARK.format(0)
            records.append((stem, doc))
    else:
        shell = json.loads(json.dumps(doc))
        target = shell["_embedded"] if isinstance(shell, dict) and "_embedded" in shell else shell
        for stream, items in found:
            marks = []
            for item in items:
                marks.append(MARK.format(len(records)))
                records.append((stream or stem, item))
            if isinstance(target, list):
                target[:] = marks
            else:
                target[stream] = marks
    text = json.dumps(shell, indent=2, ensure_ascii=False)
    pieces: list[Piece] = []
    parts = re.split(r'"\\u0000UNIT(\d+)\\u0000"', text)
    for i, part in enumerate(parts):
        if i % 2 == 0:
            pieces.append(Piece(part.encode()))
        else:
            stream, record = records[int(part)]
            data = json.dumps(record, indent=2, ensure_ascii=False).encode()
            pieces.append(Piece(data, _add_unit(seed, name, data, _json_ids(record), stream)))
    streams = {s for s, _ in records}
    return File(
        name,
        "json",
        pieces,
        stream=streams.pop() if len(streams) == 1 else stem,
        sep=b",\n",
        keyed=keyed,  # the ticket id is in the key: no envelope or split may drop it
    )


def _add_unit(seed: Seed, name: str, data: bytes, ids: set[str], stream: str) -> int:
    seed.units.append(Unit(name, data, frozenset(i for i in ids if i), stream))
    return len(seed.units) - 1


def _split_lines(name: str, raw: bytes, seed: Seed) -> File:
    pieces: list[Piece] = []
    for line in raw.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        if not body.strip():
            pieces.append(Piece(line))
            continue
        try:
            ids = _json_ids(json.loads(body))
        except (ValueError, RecursionError):
            ids = set()
        pieces.append(Piece(body, _add_unit(seed, name, body, ids, Path(name).stem)))
        pieces.append(Piece(line[len(body) :]))
    return File(name, "ndjson", pieces, stream=Path(name).stem)


def _split_csv(name: str, raw: bytes, seed: Seed) -> File:
    lines = raw.splitlines(keepends=True)
    text_lines = [line.decode("utf-8-sig", "replace") for line in lines]
    consumed = iter(range(len(lines)))
    where: list[int] = []

    def feed() -> Any:
        for i in consumed:
            where.append(i)
            yield text_lines[i]

    reader = csv.reader(feed())
    pieces: list[Piece] = []
    header: list[str] | None = None
    start = 0
    for row in reader:
        end = where[-1] + 1
        data = b"".join(lines[start:end])
        if header is None:
            header = row
            pieces.append(Piece(data))
        else:
            body = data.rstrip(b"\r\n")
            ids = {v for h, v in zip(header, row, strict=False) if "id" in h.lower() and v}
            pieces.append(Piece(body, _add_unit(seed, name, body, ids, Path(name).stem)))
            pieces.append(Piece(data[len(body) :]))
        start = end
    return File(name, "csv", pieces, stream=Path(name).stem)


def _split_mbox(name: str, raw: bytes, seed: Seed) -> File:
    starts = [m.start() for m in re.finditer(rb"(?:\A|(?<=\n\n))From ", raw)]
    pieces: list[Piece] = [Piece(raw[: starts[0]] if starts else raw)]
    for i, start in enumerate(starts):
        data = raw[start : starts[i + 1] if i + 1 < len(starts) else len(raw)]
        ids = {m.group(2).strip().decode("utf-8", "replace") for m in _MAIL_ID.finditer(data)}
        ids = {t for v in ids for t in tokens(v.encode())}
        pieces.append(Piece(data, _add_unit(seed, name, data, ids, "mail")))
    return File(name, "mbox", pieces, stream="mail", sep=b"")


def split_file(name: str, raw: bytes, seed: Seed) -> File:
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _split_csv(name, raw, seed)
    if suffix == ".mbox":
        return _split_mbox(name, raw, seed)
    if suffix in (".json", ".jsonl", ".ndjson"):
        try:
            doc = json.loads(raw)
        except ValueError:
            return _split_lines(name, raw, seed)
        return _split_json(name, doc, seed)
    return File(name, "blob", [Piece(raw)])


_CACHE: dict[tuple[str, str], Seed] = {}


def load_seed(reader: str, name: str) -> Seed:
    key = (reader, name)
    if key in _CACHE:
        return _CACHE[key]
    seed = Seed(reader, name, [])
    digest = hashlib.sha256()
    for entry in SEEDS[reader][name]:
        path = ROOT / entry
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in found:
            rel = file.relative_to(path).as_posix() if path.is_dir() else file.name
            raw = file.read_bytes()
            digest.update(rel.encode() + b"\0" + raw)
            seed.files.append(split_file(rel, raw, seed))
    seed.digest = digest.hexdigest()[:16]
    _CACHE[key] = seed
    return seed


_FOREIGN: list[tuple[str, bytes]] | None = None


def foreign_records() -> list[tuple[str, bytes]]:
    """(reader, record bytes) of every JSON record of every seed, to put into other exports."""
    global _FOREIGN
    if _FOREIGN is None:
        _FOREIGN = []
        for reader, seeds in SEEDS.items():
            for name in seeds:
                seed = load_seed(reader, name)
                by_file: dict[str, int] = {}
                for unit in seed.units:  # a few of each file, not all
                    if by_file.get(unit.file, 0) < 3:
                        by_file[unit.file] = by_file.get(unit.file, 0) + 1
                        _FOREIGN.append((reader, unit.data))
        for entry in FOREIGN_ONLY:
            _FOREIGN.append(("none", (ROOT / entry).read_bytes()))
    return _FOREIGN


def csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode()
