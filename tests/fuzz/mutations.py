"""Mutations of a seed, and which of its records each one touched.

A mutation is a small JSON object: ``{"op": <name>, "file": i, "unit": j, "a": k, "b": m}``, its
integers taken modulo whatever they index (the files that hold records, the file's records, a
record's bytes), so any list of mutations applies to any seed and a saved case replays as long as
the seed exists. ``apply`` returns the mutated files and what was touched: records of the seed
(their conversations are found by :mod:`tests.fuzz.harness`), conversation ids named directly, or
everything.
"""

from __future__ import annotations

import copy
import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import PurePosixPath
from typing import Any

from tests.fuzz.model import File, Piece, Seed, csv_line, foreign_records, tokens


def filler(size: int, salt: int) -> str:
    """``size`` characters that do not compress (a blown-up field must not look like a zip bomb)."""
    return random.Random(salt).randbytes(size // 2 + 1).hex()[:size]


BAD_BYTES = [b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x80", b"\x00\x00\x00", b"\r", b'"']
NEST_DEPTHS = [100, 513, 5000, 200_000]
#: ``nest_inside``: within the read bound (512 with the record and its object around it) and past
#: what orjson and pydantic write (about 254): a value every stage must carry (convert crashed)
NEST_INSIDE_DEPTHS = [260, 400, 505]
TIME_VALUES: list[Any] = [
    1_700_000_000,
    1.7e9,
    -62_135_596_900,
    10**20,
    "not a date",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2023-02-30T10:00:00Z",
    # zones and moments past what a datetime holds (these crashed validate once)
    "2024-01-01T00:00:00+25:00",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59.999999-01:00",
    "2024-03-04T09:00:00.123+01:00",
    None,
    True,
    {"at": 1},
    [],
    "",
    "1e400",
]
UNIT_OPS = [
    "truncate_unit",
    "insert_bytes",
    "flip",
    "duplicate",
    "drop",
    "swap",
    "nest",
    "blow_up",
    "timestamp",
    "remove_key",
    "foreign",
    "nest_inside",
]
FILE_OPS = ["truncate_file", "raw_insert", "raw_flip", "split", "envelope"]
ENVELOPES = ["airbyte", "singer", "pages", "by_path"]
WRAPS = ["none", "zip", "zip_nested"]
#: mutations that may leave a JSON document broken from that point on
BYTE_OPS = {"truncate_unit", "insert_bytes", "flip", "raw_insert", "raw_flip", "truncate_file"}


@dataclass
class Mutated:
    tree: dict[str, bytes]
    units: set[int] = field(default_factory=set)  # seed records touched
    new_tokens: set[str] = field(default_factory=set)  # ids the mutation may have introduced
    everything: bool = False
    changed: set[int] = field(default_factory=set)  # seed records whose bytes changed


def _touch_rest(f: File, from_piece: int, out: Mutated) -> None:
    out.units.update(p.unit for p in f.pieces[from_piece:] if p.unit is not None)


def _touch_byte_change(f: File, index: int, out: Mutated) -> None:
    """A record's bytes changed so that it may no longer parse: what else that can break."""
    units = f.unit_positions()
    # what it breaks is decided again at the end, in the final order (see :func:`_touch_moved`)
    changed = f.pieces[index].unit
    if changed is not None:
        out.changed.add(changed)
    if f.enveloped:  # the whole line: its envelope, or a page of records
        _touch_rest(f, _line_start(f, index), out)
        return
    if f.kind == "json":  # one broken structure ends the document
        _touch_rest(f, index, out)
        return
    if units and index <= units[0]:  # the first line decides the container (NDJSON or not)
        _touch_rest(f, 0, out)
        return
    # line-based (NDJSON, CSV, mbox): a record can merge with its neighbours (those of the end,
    # too: a later drop or swap gives it new ones)
    k = (
        units.index(index)
        if index in units
        else min(range(len(units)), key=lambda i: abs(units[i] - index))
    )
    for j in (k - 1, k, k + 1):
        if 0 <= j < len(units):
            unit = f.pieces[units[j]].unit
            assert unit is not None
            out.units.add(unit)


def _set_piece(f: File, index: int, data: bytes, out: Mutated) -> None:
    old = f.pieces[index].data
    out.new_tokens |= tokens(data) - tokens(old)
    f.pieces[index] = Piece(data, f.pieces[index].unit)


def _json_edit(data: bytes, op: str, a: int, b: int, max_record: int) -> bytes | None:
    try:
        record = json.loads(data)
    except (ValueError, RecursionError):  # broken, or nested deep by an earlier mutation
        return None
    if not isinstance(record, dict) or not record:
        return None
    keys = sorted(record)
    if op == "remove_key":
        del record[keys[a % len(keys)]]
    elif op == "timestamp":
        times = [k for k in keys if any(w in k.lower() for w in ("_at", "date", "time", "At"))]
        if not times:
            return None
        record[times[a % len(times)]] = TIME_VALUES[b % len(TIME_VALUES)]
    elif op == "blow_up":
        texts = [k for k in keys if isinstance(record[k], str)] or keys
        record[texts[a % len(texts)]] = filler(max_record + 1 + b % 4096, b)
    elif op == "nest_inside":  # a value nested deep inside one of the record's objects
        holders = [k for k in keys if isinstance(record[k], dict)]
        if not holders:
            return None
        deep: Any = {"v": 1}
        for _ in range(NEST_INSIDE_DEPTHS[b % len(NEST_INSIDE_DEPTHS)]):
            deep = [deep]
        record[holders[a % len(holders)]]["fuzz_nested"] = deep
    elif op == "nest":
        depth = NEST_DEPTHS[b % len(NEST_DEPTHS)]
        text = json.dumps(record, ensure_ascii=False)
        key = json.dumps(keys[a % len(keys)])
        head = text[:-1] + ("," if len(text) > 2 else "") + f"{key}:"
        return (head + "[" * depth + "]" * depth + "}").encode("utf-8", "surrogatepass")
    return json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _text_edit(f: File, data: bytes, op: str, a: int, b: int, max_record: int) -> bytes | None:
    """remove_key, blow_up, timestamp and nest for CSV rows and mails."""
    if f.kind == "csv":
        import csv as _csv

        _csv.field_size_limit(max(_csv.field_size_limit(), 1 << 30))  # a field blown up before
        try:
            row = next(_csv.reader([data.decode("utf-8", "replace")]), [])
        except _csv.Error:  # a bare CR an earlier mutation put in: no cells to edit
            return None
        if not row:
            return None
        if op == "remove_key":
            del row[a % len(row)]
        elif op == "blow_up":
            row[a % len(row)] = filler(max_record + 1 + b % 4096, b)
        elif op == "timestamp":
            row[a % len(row)] = str(TIME_VALUES[b % len(TIME_VALUES)])
        elif op == "nest":
            depth = NEST_DEPTHS[b % len(NEST_DEPTHS)]
            row[a % len(row)] = "[" * depth + "]" * depth
        return csv_line(row)
    if f.kind == "mbox":
        head, sep, body = data.partition(b"\n\n")
        lines = head.split(b"\n")
        if op == "remove_key" and len(lines) > 1:
            del lines[1 + a % (len(lines) - 1)]
        elif op == "blow_up":
            body = filler(max_record + 1 + b % 4096, b).encode() + (b"\n" if a % 2 else b"") + body
        elif op == "timestamp":
            value = str(TIME_VALUES[b % len(TIME_VALUES)]).encode()
            lines = [b"Date: " + value if ln.lower().startswith(b"date:") else ln for ln in lines]
        elif op == "nest":
            depth = NEST_DEPTHS[b % len(NEST_DEPTHS)] // 50
            parts = [
                b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i)
                for i in range(depth)
            ]
            body = b"".join(parts) + body
            lines = [ln for ln in lines if not ln.lower().startswith(b"content-type")]
        return b"\n".join(lines) + sep + body
    return None


def _unit_op(f: File, m: dict[str, Any], max_record: int, out: Mutated) -> None:
    positions = f.unit_positions()
    if not positions:
        return
    op = m["op"]
    a, b = int(m.get("a", 0)), int(m.get("b", 0))
    index = positions[int(m.get("unit", 0)) % len(positions)]
    piece = f.pieces[index]
    assert piece.unit is not None
    out.units.add(piece.unit)
    data = piece.data
    if op == "truncate_unit":
        _set_piece(f, index, data[: len(data) * (a % 100) // 100], out)
        _touch_byte_change(f, index, out)
    elif op == "insert_bytes":
        at = a % (len(data) + 1)
        _set_piece(f, index, data[:at] + BAD_BYTES[b % len(BAD_BYTES)] + data[at:], out)
        _touch_byte_change(f, index, out)
    elif op == "flip":
        at = a % max(len(data), 1)
        if data:
            _set_piece(
                f, index, data[:at] + bytes([data[at] ^ (1 + b % 255)]) + data[at + 1 :], out
            )
        _touch_byte_change(f, index, out)
    elif op == "duplicate":
        f.pieces[index + 1 : index + 1] = [Piece(f.sep), Piece(data, piece.unit)]
    elif op == "drop":
        del f.pieces[index]
        if f.kind == "json":  # keep the list well-formed: drop a separator too
            _drop_separator(f, index)
    elif op == "swap":
        other = positions[a % len(positions)]
        other_piece = f.pieces[other]
        assert other_piece.unit is not None
        out.units.add(other_piece.unit)
        f.pieces[index], f.pieces[other] = other_piece, piece
    elif op in ("nest", "blow_up", "timestamp", "remove_key", "nest_inside"):
        if f.kind in ("json", "ndjson"):
            edited = _json_edit(data, op, a, b, max_record)
            if edited is not None and f.kind == "ndjson":
                edited = edited.replace(b"\n", b" ")
        else:
            edited = _text_edit(f, data, op, a, b, max_record)
        if edited is not None:
            _set_piece(f, index, edited, out)
    elif op == "foreign":
        pool = foreign_records()
        _, record = pool[a % len(pool)]
        if f.kind == "ndjson":
            record = record.replace(b"\n", b" ")
        elif f.kind == "csv":
            record = csv_line([record.decode("utf-8", "replace")] * 3)
        elif f.kind == "mbox":
            record = b"From x@y Mon Mar 04 08:15:00 2024\n\n" + record + b"\n\n"
        out.new_tokens |= tokens(record)
        f.pieces[index + 1 : index + 1] = [Piece(f.sep), Piece(record)]
        if positions.index(index) < 20:  # within what detection peeks at: the file's role
            _touch_rest(f, 0, out)


def _drop_separator(f: File, index: int) -> None:
    """After a record of a JSON list was removed at ``index``: remove one ``,`` next to it."""
    for j in (index, index - 1):
        if 0 <= j < len(f.pieces) and f.pieces[j].unit is None:
            text = f.pieces[j].data
            at = text.find(b",") if j == index else text.rfind(b",")
            if at >= 0:
                f.pieces[j] = Piece(text[:at] + text[at + 1 :])
                return


def _locate(f: File, offset: int) -> tuple[int, int]:
    """(piece index, offset inside it) of a byte offset of the file."""
    for i, piece in enumerate(f.pieces):
        if offset < len(piece.data):
            return i, offset
        offset -= len(piece.data)
    return len(f.pieces) - 1, len(f.pieces[-1].data) if f.pieces else 0


def _file_op(files: list[File], f: File, m: dict[str, Any], out: Mutated) -> None:
    op = m["op"]
    a, b = int(m.get("a", 0)), int(m.get("b", 0))
    size = len(f.data())
    if op in ("truncate_file", "raw_insert", "raw_flip"):
        if not f.pieces or size == 0:
            return
        offset = (a % 1000) * size // 1000 if op == "truncate_file" else a % size
        index, inner = _locate(f, offset)
        piece = f.pieces[index]
        if op == "truncate_file":
            _touch_rest(f, _line_start(f, index) if f.enveloped else index, out)
            if piece.unit is not None:  # a later swap may move the cut record up the file
                out.changed.add(piece.unit)
            out.new_tokens |= tokens(piece.data[:inner]) - tokens(piece.data)
            f.pieces[index + 1 :] = []
            f.pieces[index] = Piece(piece.data[:inner], piece.unit)
            return
        if op == "raw_insert":
            data = piece.data[:inner] + BAD_BYTES[b % len(BAD_BYTES)] + piece.data[inner:]
        else:
            data = (
                piece.data[:inner]
                + bytes([piece.data[inner] ^ (1 + b % 255)])
                + piece.data[inner + 1 :]
            )
        _set_piece(f, index, data, out)
        if piece.unit is not None:
            out.units.add(piece.unit)
            _touch_byte_change(f, index, out)
        elif f.kind in ("json", "csv"):  # container text or a header: the whole file
            _touch_rest(f, 0, out)
        else:  # between lines or records: both neighbours
            _touch_byte_change(f, index, out)
            _touch_byte_change(f, min(index + 1, len(f.pieces) - 1), out)
    elif op == "split":
        positions = f.unit_positions()
        if len(positions) < 2 or f.keyed:
            return
        cut = positions[1 + a % (len(positions) - 1)]
        if f.enveloped:  # between lines, never inside an envelope or a page
            cut = _line_start(f, cut)
            if cut == 0:
                return
        second = _split_off(f, cut)
        if second is not None:
            taken = {g.name for g in files}
            path, n = PurePosixPath(second.name), 2
            while second.name in taken:
                n += 1
                second.name = str(path.with_name(f"{path.stem}{n}{path.suffix}"))
            files.append(second)
    elif op == "envelope":
        if f.kind not in ("json", "ndjson") or f.keyed:
            return
        # pages and request-path keys only around the list key the seed itself used
        first = next((p.data for p in f.pieces if p.unit is not None), b"")
        if first.lstrip().startswith((b'{"stream"', b'{"type"')):
            return  # already in an ETL envelope
        kinds = ENVELOPES if f.key else ENVELOPES[:2]
        _envelope(f, kinds[b % len(kinds)], a)


def _line_start(f: File, index: int) -> int:
    """The first piece of the line that piece ``index`` is on."""
    while index > 0 and not f.pieces[index - 1].data.endswith(b"\n"):
        index -= 1
    return index


def _split_off(f: File, cut: int) -> File | None:
    """Move the records from piece ``cut`` on into a new file of the same kind."""
    path = PurePosixPath(f.name)
    name = str(path.with_name(f"{path.stem}-part2{path.suffix}"))
    head = f.pieces[:cut]
    tail = f.pieces[cut:]
    if f.kind == "json":
        first = f.unit_positions()[0]
        if not f.pieces[first - 1].data.rstrip().endswith(b"["):
            return None  # records keyed by request path: the keys are in the separators
        prefix, suffix = f.pieces[:first], [p for p in f.pieces if p.unit is None][-1:]
        # the first file: its records up to cut, the last separator dropped, then the suffix
        while head and head[-1].unit is None:
            head.pop()
        f.pieces = [*head, *copy.deepcopy(suffix)]
        while tail and tail[0].unit is None:
            tail.pop(0)
        tail = [*copy.deepcopy(prefix), *tail]
        return File(name, f.kind, tail, f.stream, f.sep, enveloped=f.enveloped)
    if f.kind == "csv":
        header = f.pieces[0]
        f.pieces = head
        return File(name, f.kind, [Piece(header.data), *tail], f.stream, f.sep)
    f.pieces = head
    return File(name, f.kind, tail, f.stream, f.sep, enveloped=f.enveloped)


def _envelope(f: File, kind: str, a: int) -> None:
    units = [
        (p.data.replace(b"\n", b" ").replace(b"\r", b" "), p.unit)
        for p in f.pieces
        if p.unit is not None
    ]
    # the stream an ETL tool would name: "b-conversations.jsonl" holds "conversations"
    stream = re.sub(r"^[a-z]-", "", f.stream.lstrip("_")) or "records"
    stream_b = json.dumps(f.key if kind in ("pages", "by_path") and f.key else stream).encode()
    pieces: list[Piece] = []
    if kind == "airbyte":
        for data, unit in units:
            pieces += [
                Piece(b'{"stream": ' + stream_b + b', "data": '),
                Piece(data, unit),
                Piece(b', "emitted_at": 1700000000000}\n'),
            ]
    elif kind == "singer":
        pieces.append(
            Piece(
                b'{"type": "SCHEMA", "stream": '
                + stream_b
                + b', "schema": {}, "key_properties": ["id"]}\n'
            )
        )
        for data, unit in units:
            pieces += [
                Piece(b'{"type": "RECORD", "stream": ' + stream_b + b', "record": '),
                Piece(data, unit),
                Piece(b"}\n"),
            ]
        pieces.append(Piece(b'{"type": "STATE", "value": {}}\n'))
    elif kind == "pages":
        per_page = 1 + a % 10
        for start in range(0, len(units), per_page):
            page = units[start : start + per_page]
            pieces.append(Piece(b"{" + stream_b + b": ["))
            for i, (data, unit) in enumerate(page):
                pieces += [Piece(b", " if i else b""), Piece(data, unit)]
            more = start + per_page < len(units)
            nxt = json.dumps(
                f"https://x.example/api/v2/{stream}.json?page={start // per_page + 2}"
                if more
                else None
            )
            pieces.append(Piece(f'], "next_page": {nxt}, "count": {len(units)}}}\n'.encode()))
    elif kind == "by_path":
        pieces.append(Piece(b"{"))
        for i, (data, unit) in enumerate(units):
            key = json.dumps(f"/api/v2/{stream}.json?page={i + 1}").encode()
            pieces += [
                Piece((b", " if i else b"") + key + b": {" + stream_b + b": ["),
                Piece(data, unit),
                Piece(b"]}"),
            ]
        pieces.append(Piece(b"}\n"))
    f.pieces = pieces
    f.kind = "ndjson" if kind != "by_path" else "json"
    f.key = None
    f.enveloped = True


def drop_units(seed: Seed, units: set[int]) -> dict[str, bytes]:
    """The seed's files without the records ``units``."""
    files = copy.deepcopy(seed.files)
    for f in files:
        for i in range(len(f.pieces) - 1, -1, -1):
            if f.pieces[i].unit in units:
                del f.pieces[i]
                if f.kind == "json":
                    _drop_separator(f, i)
    return {f.name: f.data() for f in files}


#: a string value, but not of a key that says what a record is or links it (type, ids)
_STRING_VALUE = re.compile(rb'("(?!(?:type|id|object|role)")(?![^"]*_ids?")[^"\\]*":\s*")')


def poison_units(seed: Seed, units: set[int]) -> dict[str, bytes] | None:
    """The seed's files with every string value of the JSON records ``units`` changed (a ``~``
    before it): what reads a value of those records shows it. ``None`` when a record of
    ``units`` is not JSON (CSV rows and mails are only ever left out)."""
    files = copy.deepcopy(seed.files)
    poisoned = False
    for f in files:
        for piece in f.pieces:
            if piece.unit in units:
                if f.kind not in ("json", "ndjson"):
                    return None
                piece.data = _STRING_VALUE.sub(rb"\1~", piece.data)
                poisoned = True
    return {f.name: f.data() for f in files} if poisoned else None


def wrap(tree: dict[str, bytes], how: str) -> dict[str, bytes]:
    """The files as they are, or in one zip (``zip_nested``: under a folder inside it)."""
    if how == "none":
        return tree
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in tree.items():
            archive.writestr(f"export/{name}" if how == "zip_nested" else name, data)
    return {"export.zip": buf.getvalue()}


def apply(seed: Seed, mutations: list[dict[str, Any]], max_record: int) -> Mutated:
    files = copy.deepcopy(seed.files)
    out = Mutated({})
    for m in mutations:
        targets = [f for f in files if f.kind != "blob"]
        if not targets:
            break
        f = targets[int(m.get("file", 0)) % len(targets)]
        if m["op"] in UNIT_OPS:
            _unit_op(f, m, max_record, out)
        else:
            _file_op(files, f, m, out)
    for f in files:
        _touch_moved(f, out)
    out.tree = {f.name: f.data() for f in files}
    return out


def _touch_moved(f: File, out: Mutated) -> None:
    """What a record whose bytes changed breaks, in the final order: after a drop or a swap its
    place is not the one it had when it changed. In a JSON document (or an enveloped file) what
    follows its line; in a line-based file the whole file if it came first (the first line
    decides the container), else the records beside it. Fuzzer cases mail/4f33fdba2d8e (a mail
    cut mid-header, the next one dropped, the one after that read as part of its headers) and
    freshdesk/58272ef75d7b (an agent broken, then swapped to the top of its list: the agents
    after it went unread, not the ones after its first place) and helpscout/6d78f3aaba7a (a page
    cut inside its seventh conversation, the cut one swapped into second place: the four after
    it lost)."""
    if not out.changed:
        return
    units = f.unit_positions()
    moved = [p for p in units if f.pieces[p].unit in out.changed]
    if not moved:
        return
    if f.enveloped:
        _touch_rest(f, _line_start(f, moved[0]), out)
        return
    if f.kind == "json":
        _touch_rest(f, moved[0], out)
        return
    if f.kind not in ("ndjson", "csv", "mbox"):
        return
    if moved[0] <= units[0]:
        _touch_rest(f, 0, out)
        return
    for k, position in enumerate(units):
        if f.pieces[position].unit in out.changed:
            for j in (k - 1, k + 1):
                if 0 <= j < len(units):
                    neighbour = f.pieces[units[j]].unit
                    assert neighbour is not None
                    out.units.add(neighbour)
