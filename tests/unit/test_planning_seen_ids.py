"""A source id met twice: the later conversation names where the first was met, whether the
first is still among the ids not yet written or long written; new ids cost no query."""

from __future__ import annotations

from importer.planning.selection import SeenSourceIds


def test_an_id_met_again_names_where_it_was_first_met() -> None:
    seen = SeenSourceIds()
    queries: list[str] = []
    seen._conn.set_trace_callback(queries.append)
    for number in range(2500):  # more than two batches written
        assert seen.first_location(f"id-{number}", f"a.jsonl:{number + 1}") == (
            f"a.jsonl:{number + 1}"
        )
    assert sum(query.startswith("SELECT") for query in queries) < 5  # the filter's "perhaps"
    assert seen.first_location("id-0", "b.jsonl:1") == "a.jsonl:1"  # written long ago
    assert seen.first_location("id-2499", "b.jsonl:2") == "a.jsonl:2500"  # not written yet
    assert seen.first_location("id-2499", "b.jsonl:3") == "a.jsonl:2500"
    assert seen.first_location("id-1234", "b.jsonl:4") == "a.jsonl:1235"
    assert seen.first_location("new", "b.jsonl:5") == "b.jsonl:5"
    assert seen.first_location("new", "b.jsonl:6") == "b.jsonl:5"
