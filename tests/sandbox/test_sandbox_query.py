"""The search query language, without a server."""

from __future__ import annotations

import pytest

from importer.sandbox.search import QueryError, compile_query

DOC = {
    "subject": "Printer on fire", "body": "It burns", "emails": ["ann@example.com"],
    "tags": ["imported", "vip"], "createdAt": "2019-06-20T10:00:00Z",
    "modifiedAt": "2026-01-01T00:00:00Z", "number": 7, "id": 2000001, "mailboxId": 85,
    "customerIds": [3000001], "status": "closed",
}  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('email:"ann@example.com"', True),
        ("email:bob@example.com", False),
        ('subject:"on fire"', True),
        ("tag:VIP", True),
        ('(tag:"vip" AND subject:"printer")', True),
        ('tag:vip subject:"scanner"', False),
        ("createdAt:[2019-06-20T00:00:00Z TO 2019-06-20T23:59:59Z]", True),
        ("createdAt:[2019-06-21T00:00:00Z TO *]", False),
        ("(createdAt:[2019-06-20T10:00:00Z TO 2019-06-20T10:00:00Z])", True),
        ("modifiedAt:[2025-12-31T00:00:00Z TO 2026-01-02T00:00:00Z]", True),
        ("number:7", True),
        ('email:("x@y.z" OR "ann@example.com")', True),
        ('NOT tag:"vip"', False),
        ("burns", True),
        ("((tag:vip))", True),
        ('email:"we\\"ird@example.com"', False),
        ('(email:"ann@example.com")', True),
    ],
)  # fmt: skip
def test_query_matches(query: str, expected: bool) -> None:
    """Each supported term form matches as documented."""
    assert compile_query(query)(DOC) is expected


def test_quoted_values_take_backslash_escapes() -> None:
    """A client escaping quotes inside a value gets them matched literally."""
    doc = dict(DOC, emails=['we"ird@example.com'])
    assert compile_query('(email:"we\\"ird@example.com")')(doc) is True


@pytest.mark.parametrize(
    "query",
    ["(tag:vip", "createdAt:[2019-06-20 TO *]", "colour:red", "tag:vip)"],
)
def test_query_errors(query: str) -> None:
    """Unclosed parentheses, bad range dates and unknown fields are refused."""
    with pytest.raises(QueryError):
        compile_query(query)
