"""The ``query`` language of ``GET /v2/conversations`` and ``GET /v2/customers`` (§5.6, §5.3).

A small Lucene-like subset: ``field:value``, ``field:"quoted value"``,
``field:[A TO B]`` (inclusive, ``*`` open), ``field:("a" OR "b")``, terms joined by ``AND``
(also implicit), ``OR`` and ``NOT``, parentheses around anything. A bare word matches subject or
body text. The result is a predicate over a plain "document" dict built by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Doc = dict[str, Any]
Predicate = Callable[[Doc], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lp>\()|(?P<rp>\))|
        (?P<term>[A-Za-z_]+:(?:
            "(?:[^"\\]|\\.)*"                      # "quoted", backslash escapes
            |\[[^\]]*\]                             # [A TO B]
            |\((?:[^()"]|"(?:[^"\\]|\\.)*")*\)       # ("a" OR "b")
            |[^\s()]+))|
        (?P<word>"(?:[^"\\]|\\.)*"|[^\s()]+)
    )""",
    re.VERBOSE,
)
_RANGE = re.compile(r"\[\s*(\S+)\s+TO\s+(\S+)\s*\]", re.IGNORECASE)


class QueryError(ValueError):
    """The query cannot be parsed; the message says where."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"cannot read the query at character {pos}")
        kind = match.lastgroup or "word"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _range_test(key: str, raw: str) -> Predicate:
    match = _RANGE.fullmatch(raw)
    if not match:
        raise QueryError(
            f"{key}: expected a range like [2019-06-20T00:00:00Z TO 2019-06-22T23:59:59Z]"
        )
    low, high = (_unquote(v) for v in match.groups())
    for bound in (low, high):
        if bound != "*" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", bound):
            raise QueryError(f"{key}: malformed date {bound!r}, expected yyyy-MM-dd'T'HH:mm:ss'Z'")

    def test(doc: Doc) -> bool:
        value = doc.get(key)
        if not value:
            return False
        return (low == "*" or value >= low) and (high == "*" or value <= high)

    return test


def _values(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("(") and raw.endswith(")"):
        parts = re.split(r"\s+OR\s+", raw[1:-1].strip(), flags=re.IGNORECASE)
        return [_unquote(p) for p in parts if p.strip()]
    return [_unquote(raw)]


def _field_test(field: str, raw: str) -> Predicate:
    name = field.lower()
    if name in ("createdat", "modifiedat"):
        key = "createdAt" if name == "createdat" else "modifiedAt"
        return _range_test(key, raw)
    values = [v.lower() for v in _values(raw)]
    if name == "email":
        return lambda doc: any(any(v in e for e in doc["emails"]) for v in values)
    if name == "subject":
        return lambda doc: any(v in doc["subject"].lower() for v in values)
    if name == "body":
        return lambda doc: any(v in doc["body"].lower() for v in values)
    if name == "tag":
        return lambda doc: any(v in doc["tags"] for v in values)
    if name in ("number", "id", "mailboxid", "customerids"):
        key = {"mailboxid": "mailboxId", "customerids": "customerIds"}.get(name, name)
        return lambda doc: any(v in [str(x) for x in _as_list(doc.get(key))] for v in values)
    if name in ("firstname", "lastname"):
        key = "firstName" if name == "firstname" else "lastName"
        return lambda doc: any(v in str(doc.get(key) or "").lower() for v in values)
    if name == "status":
        return lambda doc: doc.get("status") in values
    raise QueryError(f"unknown search field {field!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expr(self) -> Predicate:
        parts = [self.conjunction()]
        while (tok := self.peek()) and tok == ("word", "OR"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda doc: any(p(doc) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while (tok := self.peek()) and tok[0] != "rp" and tok != ("word", "OR"):
            if tok == ("word", "AND"):
                self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda doc: all(p(doc) for p in parts))

    def unary(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise QueryError("the query ends where a term was expected")
        kind, text = self.take()
        if (kind, text) == ("word", "NOT"):
            inner = self.unary()
            return lambda doc: not inner(doc)
        if kind == "lp":
            inner = self.expr()
            if self.peek() is None or self.take()[0] != "rp":
                raise QueryError("a parenthesis is not closed")
            return inner
        if kind == "term":
            field, _, raw = text.partition(":")
            return _field_test(field, raw)
        if kind == "word":
            word = _unquote(text).lower()
            return lambda doc: word in doc["subject"].lower() or word in doc["body"].lower()
        raise QueryError("unexpected ')'")


def compile_query(text: str) -> Predicate:
    """Turn a ``query`` parameter into a predicate over documents; raises QueryError."""
    tokens = _tokens(text)
    if not tokens:
        return lambda doc: True
    parser = _Parser(tokens)
    predicate = parser.expr()
    if parser.peek() is not None:
        raise QueryError("unexpected ')'")
    return predicate
