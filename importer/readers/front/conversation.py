"""One Front conversation, its messages and comments, as a canonical conversation: pure.

The rules (``source-formats.md`` §5, §13), each value choice from
:class:`~importer.readers.front.mapping.FrontMapping`:

- Messages and comments are put in time order (Front lists messages newest first); times stay
  the float epoch seconds Front writes (``created_at``, a comment's ``posted_at``).
- ``is_inbound`` gives the role: inbound → customer, outbound → agent (without it: a message with
  a teammate ``author`` is an agent's). Comments are private notes by their teammate.
- Drafts (``is_draft``, a ``draft_mode``) are left out, counted in one warning.
- The author of an agent message is its ``author`` teammate (or the teammates file by id), else its
  ``from`` recipient; of a customer message its ``from`` recipient, with the contact id of the
  recipient's ``_links``.
- The customer is the conversation's ``recipient``, else the first inbound message's ``from``,
  else the first outbound message's ``to``; a contacts file adds names, emails and phones. A
  handle with ``@`` is an email, one of digits a phone.
- A message's ``body`` is preferred to its ``text``. Front's API writes ``body`` as HTML, but a
  message of a channel without markup (SMS, some chats) holds none: a ``body`` with a tag or an
  HTML entity is HTML, one without is read as text (its line breaks kept). A message's ``text``
  and a comment's ``body`` (written in Front's comment box: text, perhaps Markdown) are plain
  text whatever they hold. ``body_format`` in the mapping overrides: ``html`` reads every
  ``body`` as HTML, ``text`` prefers a message's ``text`` and reads every body as text.
  Attachments are URL attachments.
- Type from the first message's ``type``; status, tags (the deleted tag for deleted ones),
  assignee and custom fields from the conversation; a conversation known only from its messages
  takes its subject from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from importer.findings import Finding
from importer.readers.common import Conversion, id_text, text_value
from importer.readers.front.mapping import FrontMapping
from importer.readers.intercom.fields import Lookup, part_attachments, split_name
from importer.readers.source import SourceRecord
from importer.readers.text import body_key

PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")
NOBODY: Mapping[str, Mapping[str, Any]] = {}

#: ``(record, "file:line")`` of one message or comment
Located = tuple[Mapping[str, Any], str]


def link_id(record: Mapping[str, Any], relation: str) -> str | None:
    """The id at the end of ``_links.related.<relation>`` (``.../conversations/cnv_1`` → cnv_1)."""
    links = record.get("_links")
    related = links.get("related") if isinstance(links, Mapping) else None
    url = related.get(relation) if isinstance(related, Mapping) else None
    if not isinstance(url, str) or not url.strip():
        return None
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


def results(value: Any) -> list[Mapping[str, Any]]:
    """The records of a nested list, bare or as a page (``{"_results": [...]}``)."""
    if isinstance(value, Mapping):
        value = value.get("_results")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def moment(record: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` that holds a time."""
    for key in keys:
        value = record.get(key)
        if value is not None and value != "":
            return value
    return None


def _seconds(value: Any) -> float:
    """A time as a number to sort by: an unreadable one (or NaN) sorts last; the time check
    reports it."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return _LAST
    return _LAST if seconds != seconds else seconds


_LAST = float("inf")


def _handle_fields(handle: str | None) -> dict[str, str]:
    if not handle:
        return {}
    if "@" in handle:
        return {"email": handle}
    if PHONE.match(handle):
        return {"phone": handle}
    return {}


def _recipient(message: Mapping[str, Any], role: str) -> Mapping[str, Any] | None:
    for recipient in message.get("recipients") or []:
        if isinstance(recipient, Mapping) and str(recipient.get("role") or "").lower() == role:
            return recipient
    return None


def teammate_name(teammate: Mapping[str, Any]) -> str | None:
    """``first_name last_name``, else the username."""
    parts = [text_value(teammate.get(k)) for k in ("first_name", "last_name")]
    return " ".join(p for p in parts if p) or text_value(teammate.get("username"))


class _Conversion(Conversion):
    """The state of converting one conversation: its messages and findings so far."""

    dropped_code = "message.dropped"
    dropped_what = "Front message(s)"

    def __init__(
        self,
        conversation: Mapping[str, Any],
        location: str,
        mapping: FrontMapping,
        *,
        teammates: Lookup,
        contacts: Lookup,
    ) -> None:
        self.conversation = conversation
        super().__init__(conversation, location)
        self.mapping = mapping
        self.teammates = teammates
        self.contacts = contacts
        self.first_type: Any = None
        self.first_subject: str | None = None
        self.inbound_from: Mapping[str, Any] | None = None
        self.outbound_to: Mapping[str, Any] | None = None

    def _teammate(self, author: Any) -> dict[str, Any]:
        """Id, email and name of a teammate given as an object or an id."""
        record: Mapping[str, Any] = author if isinstance(author, Mapping) else {}
        ident = id_text(record.get("id")) if record else id_text(author)
        known = self.teammates.get(ident) if ident else None
        found = {**(known or {}), **{k: v for k, v in record.items() if v not in (None, "")}}
        details = {
            "author_id": ident,
            "author_email": text_value(found.get("email")),
            "author_name": teammate_name(found),
        }
        return {key: value for key, value in details.items() if value is not None}

    def _add(
        self,
        item: Mapping[str, Any],
        where: str,
        role: str,
        *,
        private: bool,
        body: tuple[Any, str],
    ) -> None:
        """Add one message or comment; ``body`` is its text and what it is known to be."""
        body, known = body
        text = body if isinstance(body, str) else ""
        ident = id_text(item.get("id"))
        label = f"message {ident}" if ident else "a message"
        raw = [
            {**a, "name": a.get("filename") or a.get("name")}
            for a in item.get("attachments") or []
            if isinstance(a, Mapping)
        ]
        attachments, problems = part_attachments(raw, label)
        self.left_out += [self.finding("attachment", c, m, where=where) for c, m in problems]
        if not text.strip() and not attachments:
            self.dropped["without a body"] += 1
            return
        message: dict[str, Any] = {"created_at": moment(item, "created_at", "posted_at")}
        message["author_role"] = role
        if ident is not None:
            message["source_id"] = ident
        if role == "agent":
            message.update(self._teammate(item.get("author")))
        if "author_email" not in message:
            sender = _recipient(item, "from") or {}
            handle = text_value(sender.get("handle"))
            details = {
                "author_id": link_id(sender, "contact") if role == "customer" else None,
                "author_email": handle if handle and "@" in handle else None,
                "author_name": text_value(sender.get("name")),
            }
            message.update({k: v for k, v in details.items() if v and k not in message})
        message["private"] = private
        message[body_key(text, known, self.mapping.body_format)] = text
        if attachments:
            message["attachments"] = attachments
        self.messages.append(message)
        self.message_locations.append(where)

    def add_message(self, message: Mapping[str, Any], where: str) -> None:
        if message.get("is_draft") is True or message.get("draft_mode"):
            self.dropped["draft"] += 1
            return
        inbound = message.get("is_inbound")
        if not isinstance(inbound, bool):
            inbound = not message.get("author")
        if self.first_type is None:
            self.first_type = message.get("type")
        if self.first_subject is None:
            self.first_subject = text_value(message.get("subject"))
        if inbound and self.inbound_from is None:
            self.inbound_from = _recipient(message, "from")
        if not inbound and self.outbound_to is None:
            self.outbound_to = _recipient(message, "to")
        role = "customer" if inbound else "agent"
        self._add(message, where, role, private=False, body=self._message_body(message))

    def add_comment(self, comment: Mapping[str, Any], where: str) -> None:
        if self.mapping.comments == "drop":
            self.dropped["comment"] += 1
            return
        self._add(comment, where, "agent", private=True, body=(comment.get("body"), "text"))

    def _message_body(self, message: Mapping[str, Any]) -> tuple[Any, str]:
        """A message's body and what it is known to be: ``body`` (HTML, or text when it holds
        no markup), else ``text`` (plain); ``body_format = "text"`` prefers ``text``."""
        first, second = ("text", "body") if self.mapping.body_format == "text" else ("body", "text")
        key = first if text_value(message.get(first)) else second
        return message.get(key), "either" if key == "body" else "text"

    def customer(self) -> dict[str, Any]:
        recipient = self.conversation.get("recipient")
        if not isinstance(recipient, Mapping):
            recipient = self.inbound_from or self.outbound_to or {}
        handle = text_value(recipient.get("handle"))
        contact_id = link_id(recipient, "contact") or id_text(recipient.get("contact_id"))
        contact = (self.contacts.get(contact_id) if contact_id else None) or {}
        customer: dict[str, Any] = {"id": contact_id or handle, **_handle_fields(handle)}
        for item in contact.get("handles") or []:
            if not isinstance(item, Mapping):
                continue
            kind = str(item.get("source") or "").lower()
            value = text_value(item.get("handle"))
            if kind in ("email", "phone") and value:
                customer.setdefault(kind, value)
        name = text_value(contact.get("name")) or text_value(recipient.get("name"))
        customer["first_name"], customer["last_name"] = split_name(name)
        return {key: value for key, value in customer.items() if value}


def _tags(conversation: Mapping[str, Any], mapping: FrontMapping) -> list[str]:
    names = []
    raw = conversation.get("tags")
    for tag in raw if isinstance(raw, list) else results(raw):
        name = text_value(tag.get("name")) if isinstance(tag, Mapping) else text_value(tag)
        if name:
            names.append(name)
    deleted = str(conversation.get("status") or "").lower() == "deleted"
    if deleted and mapping.deleted_tag.strip():
        names.append(mapping.deleted_tag.strip())
    return names


def _custom_fields(conversation: Mapping[str, Any], mapping: FrontMapping) -> dict[str, Any]:
    raw = conversation.get("custom_fields")
    fields: dict[str, Any] = {}
    for name, value in (raw if isinstance(raw, Mapping) else {}).items():
        if value is None or value == "" or isinstance(value, Mapping | list):
            continue
        fields[mapping.custom_field_names.get(str(name), str(name))] = value
    return fields


def _assignee(conversation: Mapping[str, Any], teammates: Lookup) -> dict[str, Any]:
    assignee = conversation.get("assignee")
    ident = id_text(assignee.get("id")) if isinstance(assignee, Mapping) else id_text(assignee)
    if ident is None:
        return {}
    known = teammates.get(ident) or {}
    email = text_value(assignee.get("email")) if isinstance(assignee, Mapping) else None
    email = email or text_value(known.get("email"))
    return {"assignee_id": ident, **({"assignee_email": email} if email else {})}


def _each_id_once(items: Iterable[Located], seen: set[str]) -> list[Located]:
    """``items`` without those whose id is in ``seen`` or came earlier (added to ``seen``)."""
    found: list[Located] = []
    for item, where in items:
        ident = id_text(item.get("id"))
        if ident is not None:
            if ident in seen:
                continue
            seen.add(ident)
        found.append((item, where))
    return found


def _by_time(items: Sequence[Located], group: int) -> list[tuple[tuple[float, int, int], int]]:
    """Each item's place in ``items`` with its sort key: time, then ``group``, then place."""
    return [
        ((_seconds(moment(item, "created_at", "posted_at")), group, n), n)
        for n, (item, _) in enumerate(items)
    ]


def messages_and_notes(
    conversation: Mapping[str, Any],
    location: str,
    messages: Iterable[Located],
    *,
    comments: Iterable[Located],
) -> tuple[list[Located], set[int]]:
    """Every message and comment (nested ones first, each id once: a comment with a message's
    id is left out) oldest first, a message before a comment of the same time; and which are
    comments (by ``id()``). One sort: what sorting the messages, the comments, then the two
    lists one after the other gave."""
    seen: set[str] = set()
    nested = ((m, location) for m in results(conversation.get("messages")))
    found = _each_id_once([*nested, *messages], seen)
    nested_comments = ((c, location) for c in results(conversation.get("comments")))
    notes = _each_id_once([*nested_comments, *comments], set())
    notes = [(item, where) for item, where in notes if _unseen(item, seen)]
    keyed = sorted(_by_time(found, 0) + [(key, n + len(found)) for key, n in _by_time(notes, 1)])
    everything = found + notes
    return [everything[n] for _, n in keyed], {id(item) for item, _ in notes}


def _unseen(item: Mapping[str, Any], seen: set[str]) -> bool:
    ident = id_text(item.get("id"))
    return ident is None or ident not in seen


def conversation_record(
    conversation: Mapping[str, Any],
    location: str,
    mapping: FrontMapping,
    *,
    messages: Sequence[Located] = (),
    comments: Sequence[Located] = (),
    teammates: Lookup = NOBODY,
    contacts: Lookup = NOBODY,
) -> SourceRecord:
    """The :class:`SourceRecord` of one Front conversation: ``messages`` and ``comments`` read
    from their own stream join the ones nested in the object (each id once)."""
    conversion = _Conversion(
        conversation, location, mapping, teammates=teammates, contacts=contacts
    )
    source_id = conversion.source_id
    if source_id is None:
        error = Finding(
            "read",
            "source_id",
            "a Front conversation without an id cannot be imported; export it again with its id",
            location,
        )
        return SourceRecord(location, None, None, error=error)
    merged, is_comment = messages_and_notes(conversation, location, messages, comments=comments)
    for item, where in merged:
        if id(item) in is_comment:
            conversion.add_comment(item, where)
        else:
            conversion.add_message(item, where)
    conversion.warn_dropped()
    status = conversation.get("status") or conversation.get("status_category")
    data: dict[str, Any] = {
        "source_id": source_id,
        "source": mapping.source or None,
        "customer": conversion.customer(),
        "messages": conversion.messages,
        "subject": text_value(conversation.get("subject")) or conversion.first_subject,
        "type": mapping.conversation_type(conversion.first_type),
        "status": mapping.status(status),
        "created_at": conversation.get("created_at"),
        "tags": _tags(conversation, mapping),
        "custom_fields": _custom_fields(conversation, mapping),
        **_assignee(conversation, teammates),
    }
    return conversion.record(data)
