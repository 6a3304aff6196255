"""The readers' on-disk join store (importer.readers.staging)."""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from pathlib import Path

from importer.readers.grouped_rows import GroupedRows
from importer.readers.staging import StagedRecord, StagingStore


def test_records_by_key_in_the_order_they_were_put(tmp_path: Path) -> None:
    with StagingStore(tmp_path) as store:
        store.put("comments", "2", "c.json:1", record={"id": 20})
        store.put("tickets", "1", "t.json:1", record={"id": 1})
        store.put("comments", "1", "c.json:2", record={"id": 10})
        store.put("tickets", "2", "t.json:2", record={"id": 2})
        store.put("comments", "1", "c.json:3", record={"id": 11})
        tickets = list(store.of_kind("tickets"))
        assert [(t.key, t.location, t.record) for t in tickets] == [
            ("1", "t.json:1", {"id": 1}),
            ("2", "t.json:2", {"id": 2}),
        ]
        assert [c.record["id"] for c in store.by_key("comments", "1")] == [10, 11]
        assert [c.location for c in store.by_key("comments", "2")] == ["c.json:1"]
        assert list(store.by_key("comments", "3")) == []
        assert ["2", "1"] == list(store.keys("comments"))


def test_first_replace_and_count(tmp_path: Path) -> None:
    with StagingStore(tmp_path) as store:
        assert store.first("users", "7") is None
        seq = store.put("users", "7", "u.json:4", record={"name": "A"})
        store.put("users", "7", "u.json:9", record={"name": "B"})
        store.replace(seq, {"name": "A", "email": "a@example.com"})
        first = store.first("users", "7")
        assert first is not None
        assert (first.seq, first.location, first.record) == (
            seq,
            "u.json:4",
            {"name": "A", "email": "a@example.com"},
        )
        assert 2 == store.count("users")
        assert 2 == store.count("users", "7")
        assert 0 == store.count("users", "8")


def test_keys_without_gives_orphans_with_their_first_record_and_count(tmp_path: Path) -> None:
    with StagingStore(tmp_path) as store:
        store.put("comments", "9", "c.json:1", record={})
        store.put("tickets", "1", "t.json:1", record={})
        store.put("comments", "1", "c.json:2", record={})
        store.put("comments", "8", "c.json:3", record={})
        store.put("comments", "9", "c.json:4", record={})
        orphans = [(k, f.location, n) for k, f, n in store.keys_without("comments", "tickets")]
        assert orphans == [("9", "c.json:1", 2), ("8", "c.json:3", 1)]


def test_records_without_a_key_and_any_json_value(tmp_path: Path) -> None:
    with StagingStore(tmp_path) as store:
        store.put("unparsed", None, "t.json:3", record={"error": "not valid JSON", "raw": "{"})
        store.put("fields", "f1", "f.json:1", record=["a", 1, None])
        assert [s.record for s in store.by_key("unparsed", None)] == [
            {"error": "not valid JSON", "raw": "{"}
        ]
        assert list(store.keys("unparsed")) == []
        first = store.first("fields", "f1")
        assert first is not None
        assert ["a", 1, None] == first.record


def test_many_records_stream_from_disk(tmp_path: Path) -> None:
    with StagingStore(tmp_path) as store:
        for number in range(30_000):  # more than one commit batch
            store.put("comments", str(number % 1000), f"c.json:{number + 1}", record={"n": number})
        store.commit()
        assert 30 == len(list(store.by_key("comments", "999")))
        assert [s.record["n"] for s in store.by_key("comments", "5")][:3] == [5, 1005, 2005]
    assert (tmp_path / "staging.sqlite").stat().st_size > 0


def _grouped(store: GroupedRows, orphans_last: bool) -> list[list[tuple[str | None, bytes]]]:
    return [[(row.key, row.payload) for row in group] for group in store.groups(orphans_last)]


def test_grouped_rows_parents_then_their_children_orphans_last(tmp_path: Path) -> None:
    with GroupedRows(tmp_path) as store:
        store.add("1", True, b"conversation 1")
        store.add(None, True, b"no id")
        store.add("2", True, b"conversation 2")
        repeat = store.add("1", True, b"conversation 1 again")
        store.add("9", False, b"orphan 9 a")
        store.add("2", False, b"message 2 a")
        store.add("1", False, b"message 1 a")
        store.add("8", False, b"orphan 8")
        store.add("9", False, b"orphan 9 b")
        store.add("1", False, b"message 1 b")
        assert store.payload(repeat) == b"conversation 1 again"
        assert store.payload(99) is None
        groups = list(store.groups(orphans_last=True))
    assert [[(row.key, row.payload) for row in group] for group in groups] == [
        [("1", b"conversation 1"), ("1", b"message 1 a"), ("1", b"message 1 b")],
        [(None, b"no id")],
        [("2", b"conversation 2"), ("2", b"message 2 a")],
        [("1", b"conversation 1 again")],
        [("9", b"orphan 9 a"), ("9", b"orphan 9 b")],
        [("8", b"orphan 8")],
    ]
    # a repeated parent row knows the first one; an orphan group has no parent
    assert [(g[0].parent, g[0].seq, g[0].first_parent) for g in groups] == [
        (True, 1, 1),
        (True, 2, None),
        (True, 3, 3),
        (True, 4, 1),
        (False, 5, None),
        (False, 8, None),
    ]


def test_grouped_rows_children_alone_group_where_their_key_first_appears(tmp_path: Path) -> None:
    with GroupedRows(tmp_path, "messages.sqlite") as store:
        for key, text in [("b", "1"), ("a", "2"), (None, "3"), ("b", "4"), ("c", "5"), ("a", "6")]:
            store.add(key, key is None, text.encode())
        assert _grouped(store, orphans_last=False) == [
            [("b", b"1"), ("b", b"4")],
            [("a", b"2"), ("a", b"6")],
            [(None, b"3")],
            [("c", b"5")],
        ]
    assert (tmp_path / "messages.sqlite").exists()


def test_grouped_rows_many_rows_in_random_order(tmp_path: Path) -> None:
    rng = random.Random(5)
    rows = [(f"k{n % 700}", n) for n in range(20_000)]  # more than one insert batch
    rng.shuffle(rows)
    with GroupedRows(tmp_path) as store:
        for key, n in rows:
            store.add(key, False, str(n).encode())
        groups = [[int(row.payload) for row in group] for group in store.groups()]
    expected: dict[str, list[int]] = {}  # keys in the order they first appear
    for key, n in rows:
        expected.setdefault(key, []).append(n)
    assert groups == list(expected.values())


def test_staged_records_come_back_exactly_whatever_json_parsed(tmp_path: Path) -> None:
    """Staged records are kept in marshal's encoding: values JSON text would change (NaN, an
    integer past 64 bits, infinity) come back as parsed, in a read-only reopening too, and a
    value marshal refuses (a dict of a subclass, as a reader may build) is kept as JSON text."""
    nested: list[object] = []
    deepest = nested
    for _ in range(900):  # as deep as a record gets (json and orjson refuse past ~1,000)
        deepest.append([])
        deepest = deepest[0]  # type: ignore[assignment]
    odd = {"id": 123456789012345678901234567890, "score": math.nan, "top": math.inf, "l": [1]}
    with StagingStore(tmp_path) as store:
        store.put_record("tickets", "1", StagedRecord(odd, 2, "t.json:1"))
        seq = store.put_record("tickets", "2", StagedRecord({"id": 2}, 0, "t.json:2"))
        store.put_record("tickets", "3", StagedRecord({"deep": nested}, 0, "t.json:3"))
        built = OrderedDict(id=4, parts=[{"a": 1}])
        store.put_record("tickets", "4", StagedRecord(built, 0, "t.json:4"))
        store.replace_record(seq, StagedRecord({"id": 2, "later": True}, 1, "t.json:9"))
        store.commit()
        reading = StagingStore.reading(store.path, store.record_kinds)
        for source in (store, reading):
            first, second, third, fourth = (row.staged_record for row in source.of_kind("tickets"))
            assert first.data["id"] == 123456789012345678901234567890
            assert math.isnan(first.data["score"])
            assert first.data["top"] == math.inf
            assert (first.replaced, first.location, first.data["l"]) == (2, "t.json:1", [1])
            assert second == StagedRecord({"id": 2, "later": True}, 1, "t.json:9")
            assert third.data == {"deep": nested}
            assert third.location == "t.json:3"
            assert fourth == StagedRecord({"id": 4, "parts": [{"a": 1}]}, 0, "t.json:4")
        reading.close()


def test_plain_values_are_kept_as_marshal_bytes_or_json_text_when_marshal_refuses(
    tmp_path: Path,
) -> None:
    """A plain value (a summary, a mail's head) is written as marshal bytes, four times cheaper
    than JSON text, and comes back as put; one marshal refuses (a dict subclass) as JSON text."""
    head = {"id": "a@b", "refs": ["x@y"], "epoch": 1.5, "big": 2**70, "sent": False, "to": None}
    with StagingStore(tmp_path) as store:
        store.put("members", "1", "m.mbox:1", record=head)
        store.put("members", "2", "m.mbox:9", record=OrderedDict(id="c@d"))
        seq = store.put("summaries", "k", "m.mbox:1", record=[1, 2.5, "k"])
        store.replace(seq, [3, 4.5, "k"])
        store.commit()
        rows = store._db.execute("SELECT key, at, size FROM staged ORDER BY seq").fetchall()
        # in the file of records: marshal bytes, or JSON text (its size negative)
        written = [(key, store._records.read_value(at, size)) for key, at, size in rows]
        assert [(key, type(record)) for key, record in written] == [
            ("1", bytes),
            ("2", str),
            ("k", bytes),
        ]
        assert written[1][1] == '{"id":"c@d"}'
        assert [size > 0 for _, _, size in rows] == [True, False, True]
        reading = StagingStore.reading(store.path, store.record_kinds)
        for source in (store, reading):
            assert [row.record for row in source.of_kind("members")] == [head, {"id": "c@d"}]
            summary = source.first("summaries", "k")
            assert summary is not None
            assert summary.record == [3, 4.5, "k"]
        reading.close()


def test_a_key_never_put_is_looked_up_without_a_query(tmp_path: Path) -> None:
    """Most look-ups while staging are of keys not put yet (a ticket's first copy, a mail's own
    Message-ID): the store's filter answers them without SQLite, and every key put is found."""
    with StagingStore(tmp_path) as store:
        for number in range(3000):
            store.put("nodes", f"m{number}@x", f"a.mbox:{number}", record=number)
        queries: list[str] = []
        store._db.set_trace_callback(queries.append)
        assert all(store.first("nodes", f"other{n}@x") is None for n in range(3000))
        assert all(list(store.by_key("nodes", f"other{n}@x")) == [] for n in range(3000))
        assert sum("SELECT" in query for query in queries) < 10  # the filter's rare "perhaps"
        found = [store.first("nodes", f"m{n}@x") for n in range(3000)]
        assert [staged.record for staged in found if staged is not None] == list(range(3000))
        store.commit()
        reading = StagingStore.reading(store.path, store.record_kinds, store.kinds)
        assert reading.first("nodes", "m7@x") is not None  # no filter: asks SQLite
        reading.close()


def test_a_kind_never_put_is_looked_up_without_a_query(tmp_path: Path) -> None:
    """The store knows the kinds put; one opened read-only is told them. A look-up of any other
    kind answers at once: a reading store told fewer kinds than the file holds shows it."""
    with StagingStore(tmp_path) as store:
        store.put("tickets", "1", "t.json:1", record={"id": 1})
        assert store.kinds == frozenset({"tickets"})
        assert store.first("metrics", "1") is None
        assert list(store.by_key("duplicates", "1")) == []
        store.put("metrics", "1", "m.json:1", record={"solved_at": "x"})
        assert store.first("metrics", "1") is not None  # put since: known at once
        store.commit()
        told = StagingStore.reading(store.path, store.record_kinds, frozenset({"tickets"}))
        unknown = StagingStore.reading(store.path, store.record_kinds)
        assert told.first("metrics", "1") is None
        assert list(told.by_key("metrics", "1")) == []
        assert unknown.first("metrics", "1") is not None
        assert [s.key for s in told.by_key("tickets", "1")] == ["1"]
        told.close()
        unknown.close()
