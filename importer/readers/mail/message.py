"""One parsed mail as the two records the mail reader stages: its head and its body.

The head (:func:`mail_head`) is what threading and roles need: ids, subject, addresses, Gmail
labels, the time, why it may be left out (bounce, auto-reply, label, list) and the warnings of its
headers. The body (:func:`mail_body`) is the canonical message's content: ``body_html`` (a
``text/html`` part is preferred) or ``body_text``, and every attachment (inline images with a
``Content-ID``, attached mails) carried inline as ``data_base64``, so it travels with the
conversation. A body whose charset is unknown or does not fit its bytes is decoded with the
bytes replaced and a warning, never an exception.
"""

from __future__ import annotations

import base64
import mimetypes
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

from importer.readers.mail.headers import (
    REPLACEMENT,
    Headers,
    as_utc,
    clean,
    decoded_word,
    from_line_time,
    message_ids,
    parse_date,
    received_time,
)
from importer.readers.mail.mapping import MailMapping
from importer.readers.mail.parse import RawMail
from importer.readers.text import decode_bytes

BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")
LATE = timedelta(days=1)


class MailError(ValueError):
    """A mail that cannot be placed in a conversation; the message says why."""


#: headers a mail holds at most once (RFC 5322 3.6, and Gmail's own)
_ONCE_HEADERS = ("message-id", "date", "subject", "x-gmail-labels", "x-gm-thrid")


def mail_head(message: Message, raw: RawMail, number: int, *, rules: MailMapping) -> dict[str, Any]:
    """The staged head of one mail (JSON values only)."""
    headers = Headers(message)
    notes: list[str] = []
    subject = headers.text("subject") or ""
    if REPLACEMENT in subject:
        notes.append("the Subject header holds bytes of an unknown or wrong charset; replaced")
    senders = headers.addresses("from") or headers.addresses("sender")
    recipients = headers.addresses("to") + headers.addresses("cc")
    own = message_ids(headers.text("message-id"))
    refs = message_ids(headers.text("references"))
    for parent in message_ids(headers.text("in-reply-to")):
        if parent not in refs:
            refs.append(parent)
    labels = [
        label.strip().strip('"')
        for label in (headers.text("x-gmail-labels") or "").split(",")
        if label.strip()
    ]
    moment, time_note = _mail_time(headers, raw, rules)
    if time_note:
        notes.append(time_note)
    out, why = _left_out(message, headers, senders, labels=labels, rules=rules)
    thread = headers.text("x-gm-thrid") if rules.gmail_thread_ids else None
    return {
        "n": number,
        "loc": raw.location,
        "id": own[0] if own else None,
        "refs": [ref for ref in refs if not own or ref != own[0]],
        "thrid": thread.strip() if thread else None,
        "subject": subject,
        "from": list(senders[0]) if senders else None,
        "rcpt": [list(pair) for pair in recipients],
        "sent": bool(rules.sent_labels & {label.lower() for label in labels}),
        # one From header of one address, and no header a mail has once given twice: only
        # such a mail may teach who the team is (a mail cut short runs into the next one's
        # headers: a second Message-ID, Date, labels, and a customer's From)
        "sole_sender": len(headers.all("from")) == 1
        and len(senders) == 1
        and all(len(headers.all(name)) <= 1 for name in _ONCE_HEADERS),
        "at": moment.isoformat(),
        "epoch": as_utc(moment).timestamp(),
        "out": out,
        "why": why,
        "notes": notes,
    }


def _mail_time(headers: Headers, raw: RawMail, rules: MailMapping) -> tuple[Any, str | None]:
    """The mail's time (its ``Date`` with its zone) and a warning when it came from elsewhere
    (the ``Date`` is missing, unreadable, too early, in the future or later than the mail was
    received): the first ``Received`` header, else the mbox ``From `` line."""
    written = headers.text("date")
    date = parse_date(written)
    received = received_time(headers)
    problem = None
    if date is None:
        problem = f"the Date {written!r} cannot be read" if written else "the mail has no Date"
    elif date.year < rules.earliest_year:
        problem = f"the Date {written!r} is before {rules.earliest_year}"
    elif as_utc(date) > datetime.now(UTC) + LATE:
        problem = f"the Date {written!r} is in the future"
    elif received is not None and as_utc(date) > as_utc(received) + LATE:
        problem = f"the Date {written!r} is later than the mail was received"
    if problem is None:
        return date, None
    if received is not None:
        return received, f"{problem}; its time is taken from its Received header"
    separator = from_line_time(raw)
    if separator is not None:
        return separator, f"{problem}; its time is taken from its mbox From line"
    if date is not None:
        return date, f"{problem}, and it has no Received header; the Date is kept"
    raise MailError(f"{problem} and no Received header: its time is unknown")


def _left_out(
    message: Message,
    headers: Headers,
    senders: list[tuple[str, str]],
    *,
    labels: list[str],
    rules: MailMapping,
) -> tuple[str | None, str | None]:
    """``(kind, why)`` of a mail that is not a conversation's message (kind ``note`` for a kept
    bounce), ``(None, None)`` for the others; mail of the team to itself is judged later."""
    skipped = [label for label in labels if label.lower() in rules.skipped_labels]
    if skipped:
        return "label", f"it carries the Gmail label {skipped[0]!r} (skipped_labels)"
    sender = senders[0][0] if senders else ""
    if (
        sender.partition("@")[0] in BOUNCE_SENDERS
        or _is_delivery_report(message)
        or headers.all("x-failed-recipients")
    ):
        if rules.keep_bounces:
            return "note", None
        return "bounce", "it is a bounce (delivery status report)"
    auto = (headers.text("auto-submitted") or "no").lower().split(";")[0].strip()
    precedence = (headers.text("precedence") or "").lower().strip()
    if auto != "no" or any(headers.all(name) for name in AUTO_HEADERS):
        if not rules.keep_auto_replies:
            why = f"Auto-Submitted: {auto}" if auto != "no" else "an X-Autoreply header"
            return "auto_reply", f"it is an automatic reply ({why})"
    elif precedence in rules.auto_precedence and not rules.keep_auto_replies:
        return "auto_reply", f"it is an automatic mail (Precedence: {precedence})"
    if rules.skip_list_mail and headers.all("list-id"):
        return "list", "it is mailing-list mail (List-Id; skip_list_mail)"
    return None, None


def _is_delivery_report(message: Message) -> bool:
    """Whether the mail is a ``multipart/report`` of ``report-type=delivery-status`` (its
    parameters read only then: parsing them was a fifth of reading a mail's head)."""
    if message.get_content_type() != "multipart/report":
        return False
    return str(message.get_param("report-type", "") or "").lower() == "delivery-status"


# -- the body ---------------------------------------------------------------------------------


def _candidates(part: Message, found: list[tuple[Message, str]]) -> None:
    """The text leaves that may be the body, with their content types, depth first, not inside
    an attached mail (each part's content type looked up once: every look-up scans its
    headers)."""
    content_type = part.get_content_type()
    if content_type.partition("/")[0] == "message":
        return
    if part.is_multipart():
        for inner in part.get_payload():
            if isinstance(inner, Message):
                _candidates(inner, found)
        return
    if (
        content_type in ("text/html", "text/plain")
        and part.get_content_disposition() != "attachment"
        and not part.get_filename()
    ):
        found.append((part, content_type))


def _body_part(message: Message) -> tuple[Message, str] | None:
    """The body and its content type: the first ``text/html`` part that is no attachment,
    else the first ``text/plain`` one (as ``EmailMessage.get_body`` prefers them)."""
    found: list[tuple[Message, str]] = []
    _candidates(message, found)
    for wanted in ("text/html", "text/plain"):
        for part, content_type in found:
            if content_type == wanted:
                return part, content_type
    return None


def mail_body(message: Message) -> dict[str, Any]:
    """The staged body of one mail: ``body_html`` or ``body_text``, ``attachments`` and the
    ``notes`` (warnings) of its decoding."""
    notes: list[str] = []
    body: dict[str, Any] = {}
    found = _body_part(message)
    chosen = None
    if found is not None:
        chosen, content_type = found
        text = _text_of(chosen, notes)
        body["body_html" if content_type == "text/html" else "body_text"] = text
    else:
        body["body_text"] = ""
    attachments: list[dict[str, Any]] = []
    _collect(message, chosen, attachments, notes=notes)
    body["attachments"] = attachments
    body["notes"] = notes
    return body


def _text_of(part: Message, notes: list[str]) -> str:
    """The text of a ``text/*`` part in its declared charset; what does not fit is replaced."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return clean(data.decode(charset))[0]
    except LookupError:
        text, replaced = decode_bytes(data)
        if replaced:
            notes.append(
                f"the body's charset {charset!r} is unknown and it is not UTF-8: "
                f"{replaced} byte(s) read as cp1252"
            )
        else:
            notes.append(f"the body's charset {charset!r} is unknown; read as UTF-8")
        return clean(text)[0]
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("utf-8")
        if charset.lower() not in ("us-ascii", "ascii"):
            notes.append(f"the body is labelled {charset!r} but is UTF-8; read as UTF-8")
        return clean(text)[0]
    except UnicodeDecodeError:
        text = data.decode(charset, "replace")
        replaced = text.count(REPLACEMENT) - data.count(REPLACEMENT.encode("utf-8"))
        notes.append(
            f"the body does not fit its charset {charset!r}: {replaced} byte(s) replaced "
            "with U+FFFD"
        )
        return text


def _collect(
    part: Message, chosen: Message | None, found: list[dict[str, Any]], *, notes: list[str]
) -> None:
    """Every attachment under ``part``: leaves that are not the body and not a text
    alternative of it, and attached mails (``message/rfc822``) as ``.eml`` files."""
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "message/global"):
        _attach_mail(part, found, notes)
        return
    if part.is_multipart():
        for inner in part.get_payload():
            if isinstance(inner, Message):
                _collect(inner, chosen, found, notes=notes)
        return
    main_type = content_type.partition("/")[0]
    if part is chosen or main_type == "message":
        return
    disposition = part.get_content_disposition()
    name = part.get_filename()
    name = decoded_word(name) if name else None
    content_id = part.get("content-id")
    if main_type == "text" and disposition != "attachment" and not name and not content_id:
        return  # the other alternative of the body (text/plain beside text/html)
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    _attach(found, notes, data, content_type=content_type, name=name, inline=bool(content_id))


def _attach_mail(part: Message, found: list[dict[str, Any]], notes: list[str]) -> None:
    inner = part.get_payload(0) if part.is_multipart() else None
    try:
        data = inner.as_bytes() if isinstance(inner, Message) else b""
    except Exception:  # an attached mail the generator cannot write back: its text
        data = str(inner).encode("utf-8", "replace")
    subject = Headers(inner).text("subject") or "" if isinstance(inner, Message) else ""
    name = f"{subject.strip()[:60] or 'attached mail'}.eml".replace("/", "-")
    given = part.get_filename()
    _attach(
        found,
        notes,
        data,
        content_type="message/rfc822",
        name=decoded_word(given) if given else name,
        inline=False,
    )


def _attach(
    found: list[dict[str, Any]],
    notes: list[str],
    data: bytes,
    *,
    content_type: str,
    name: str | None,
    inline: bool,
) -> None:
    if name:
        name = clean(name)[0].strip()
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"{'inline' if inline else 'attachment'}-{len(found) + 1}{extension}"
    if not data:
        notes.append(f"attachment {name!r} is empty; left out")
        return
    found.append(
        {
            "file_name": name,
            "content_type": content_type,
            "size": len(data),
            "data_base64": base64.b64encode(data).decode("ascii"),
        }
    )
