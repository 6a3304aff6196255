"""A reader's ``sign_keys`` never hide a record its ``owns`` would claim.

``other_platform`` asks a reader's ``owns`` only of records with one of its ``sign_keys`` (the
signs are asked of every record read). So every built-in reader's set must hold every key its
``owns`` looks at: a record without any of them is never that platform's. Checked on generated
records (keys of every platform, values shaped like each platform's signs), and on every record
of the samples and of the real records, against the signs asked of every record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.base import READERS, Reader
from importer.readers.signs import other_platform

ROOT = Path(__file__).resolve().parents[2]

SIGNED = [reader for reader in READERS if reader.has_signs and reader.sign_keys is not None]


def _objects(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def _sample_objects() -> Iterator[Mapping[str, Any]]:
    folders = [ROOT / "samples", ROOT / "tests" / "data" / "real"]
    for path in sorted(p for folder in folders for p in folder.rglob("*.json*")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            documents = [json.loads(text)]
        except ValueError:
            documents = [json.loads(line) for line in text.splitlines() if line.strip()]
        for document in documents:
            yield from _objects(document)


#: every key of the samples' and real records (what the signs look at among them), every key of
#: every reader's signs, and keys records of every platform share
KEY_POOL = sorted(
    {key for record in _sample_objects() for key in record}
    | frozenset().union(*(reader.sign_keys or frozenset() for reader in SIGNED))
    | {"id", "email", "name", "subject", "body", "uri", "created_datetime", "sent_datetime"}
    | {"conversation_id", "photo_url", "first_name", "_embedded", "createdBy", "_links"}
)

#: values shaped like the signs: prefixed ids, api paths, user roles, types, person objects
SHAPED: list[Any] = [
    "cnv_1a",
    "msg_9",
    "/api/tickets/1",
    "end-user",
    "agent",
    "admin",
    "customer",
    "user",
    "conversation",
    "contact",
    "default_status",
    "",
    2,
    True,
    None,
    {"channel": "web"},
    {"delivered_as": "customer_initiated"},
    {"type": "customer"},
    {"type": "user"},
    {"first": "Ann"},
    {"last": "Lee"},
    {"self": "https://acme.frontapp.com/conversations/cnv_1"},
    {"email": "a@example.com", "name": "A"},
    {"cf_order": "7"},
    [{"id": 1}],
]
INNER_KEYS = st.sampled_from(
    ["channel", "delivered_as", "first", "last", "type", "email", "name", "self", "cf_x", "id"]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=5))
VALUES = st.one_of(
    st.sampled_from(SHAPED),
    st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(INNER_KEYS, inner, max_size=4)
        ),
        max_leaves=8,
    ),
)


def _keys_but_its_own(reader: Reader) -> list[str]:
    own = reader.sign_keys or frozenset()
    return [key for key in KEY_POOL if key not in own]


@pytest.mark.parametrize("reader", SIGNED, ids=lambda reader: reader.info.name)
def test_no_key_but_its_own_alone_makes_a_record_owned(reader: Reader) -> None:
    """Every other key, alone, with every value shaped like a sign."""
    for key in _keys_but_its_own(reader):
        for value in SHAPED:
            assert not reader.owns({key: value}, None), {key: value}


@pytest.mark.parametrize("reader", SIGNED, ids=lambda reader: reader.info.name)
def test_a_record_without_any_sign_key_is_never_owned(reader: Reader) -> None:
    """Other keys together (signs of two keys: a tap's thread, person, other stream)."""

    @settings(max_examples=300, deadline=None)
    @given(record=st.dictionaries(st.sampled_from(_keys_but_its_own(reader)), VALUES, max_size=8))
    def check(record: dict[str, Any]) -> None:
        assert not reader.owns(record, None), sorted(record)

    check()


def _every_owns(record: Mapping[str, Any], own: str | None) -> str | None:
    """``other_platform`` as it was before ``sign_keys``: every reader's signs asked."""
    decisive, others = READERS.signs()
    for name, owns, _ in decisive:
        if owns(record, None):
            return None if name == own else name
    for name, owns, _ in others:
        if name != own and owns(record, None):
            return name
    return None


def test_every_object_of_the_samples_is_judged_as_with_every_sign_asked() -> None:
    objects = list(_sample_objects())
    assert len(objects) > 1_000  # the samples and real records were found
    owners = {None, *(reader.info.name for reader in SIGNED)}
    for record in objects:
        for own in owners:
            assert other_platform(record, own) == _every_owns(record, own), sorted(record)
