"""A mail part with indexed header look-ups answers exactly as ``email.message.Message``.

:class:`~importer.readers.mail.indexed.IndexedMessage` keeps an index of its headers, its
content type and the parameters it parsed; any change to the headers (added, deleted, replaced,
a parameter set, a boundary set) or to the default type must be seen. Hypothesis parses
generated mails with both classes, applies the same changes to both, and compares every
look-up the parser and the mail reader make after each change.
"""

from __future__ import annotations

from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.readers.mail.indexed import IndexedMessage

NAMES = ["Content-Type", "content-type", "CONTENT-DISPOSITION", "Subject", "X-Other", "Charset"]
CONTENT_TYPES = [
    "text/plain",
    "TEXT/HTML; charset=utf-8",
    'multipart/mixed; boundary="b1"',
    "multipart/report; report-type=delivery-status",
    "image/png; name=pic.png",
    "text/plain; charset*=us-ascii'en'%41",
    "nonsense",
    "a/b/c",
    "",
]
DISPOSITIONS = ["attachment; filename=a.txt", "inline", 'attachment; filename="=?utf-8?q?b?="']

operation = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(NAMES), st.sampled_from(CONTENT_TYPES)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES), st.none()),
    st.tuples(st.just("replace"), st.sampled_from(NAMES), st.sampled_from(CONTENT_TYPES)),
    st.tuples(st.just("param"), st.sampled_from(["charset", "name"]), st.sampled_from(["x", "y"])),
    st.tuples(st.just("default"), st.sampled_from(["message/rfc822", "text/plain"]), st.none()),
    st.tuples(st.just("boundary"), st.sampled_from(["b2", "b3"]), st.none()),
)


def _mail(headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{name}: {value}" for name, value in headers]
    return ("\n".join(lines) + "\n\nbody\n").encode()


def _apply(message: Message, op: tuple[str, str, Any]) -> None:
    kind, name, value = op
    if kind == "add":
        message[name] = value
    elif kind == "delete":
        del message[name]
    elif kind == "replace":
        if name.lower() in {key.lower() for key in message}:
            message.replace_header(name, value)
    elif kind == "param":
        message.set_param(name, value)
    elif kind == "default":
        message.set_default_type(name)
    elif kind == "boundary" and message.get("content-type") is not None:
        message.set_boundary(name)


def _answers(message: Message) -> list[Any]:
    """Every look-up the parser and the mail reader make of a part."""
    return [
        [message.get(name) for name in NAMES],
        message.get("missing", "fallback"),
        message.get_content_type(),
        message.get_content_maintype(),
        message.get_content_charset(),
        message.get_content_disposition(),
        message.get_filename(),
        message.get_param("report-type", ""),
        message.get_params(),
        message.get_params(header="content-disposition"),
        message.get_boundary(),
    ]


@settings(max_examples=300, deadline=None)
@given(
    headers=st.lists(
        st.tuples(st.sampled_from(NAMES), st.sampled_from(CONTENT_TYPES + DISPOSITIONS)),
        max_size=5,
    ),
    operations=st.lists(operation, max_size=6),
)
def test_indexed_message_answers_as_message(
    headers: list[tuple[str, str]], operations: list[tuple[str, str, Any]]
) -> None:
    data = _mail(headers)
    plain = BytesParser(policy=policy.compat32).parsebytes(data)
    indexed = BytesParser(IndexedMessage, policy=policy.compat32).parsebytes(data)
    assert isinstance(indexed, IndexedMessage)
    assert _answers(indexed) == _answers(plain)
    for op in operations:
        _apply(plain, op)
        _apply(indexed, op)
        assert _answers(indexed) == _answers(plain), op


def test_parts_of_a_multipart_mail_are_indexed_too() -> None:
    data = (
        b'Content-Type: multipart/digest; boundary="d"\n\n--d\n\nFrom: a@b\n\nhi\n'
        b"--d\nContent-Type: text/plain; charset=latin-1\n\nbody\n--d--\n"
    )
    plain = BytesParser(policy=policy.compat32).parsebytes(data)
    indexed = BytesParser(IndexedMessage, policy=policy.compat32).parsebytes(data)
    parts = list(indexed.walk())
    assert all(isinstance(part, IndexedMessage) for part in parts)
    # a part of a digest without Content-Type is message/rfc822 by default: set after it began
    assert [p.get_content_type() for p in parts] == [p.get_content_type() for p in plain.walk()]
    assert parts[1].get_content_type() == "message/rfc822"
    assert [_answers(p) for p in parts] == [_answers(p) for p in plain.walk()]
