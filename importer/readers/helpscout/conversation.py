"""One Help Scout conversation (Mailbox API 2.0, HAL) as a canonical conversation: pure.

The rules (``helpscout-api.md`` §5.7 and §6, ``source-formats.md`` §11), each value choice from
:class:`~importer.readers.helpscout.mapping.HelpScoutMapping`:

- Threads come under ``_embedded.threads``, newest first as the API lists them: they are put
  oldest first (a dump already oldest first is kept so), equal times keeping the API's order.
- Thread ``type`` gives the message (``customer`` a customer message, ``message`` an agent's
  reply, ``note`` a private note, ``chat``/``phone`` by their author); ``lineitem`` and every
  other type are events, left out with a warning each, and so are drafts.
- Authors come from ``createdBy`` (``type`` user: an agent and its email; customer: the
  customer) and, for customer threads, from the thread's ``customer``.
- The customer is ``primaryCustomer``, completed from the threads' ``customer`` and
  ``createdBy`` objects of the same person.
- Bodies holding a tag or an entity are HTML, others plain text. Attachments are url
  attachments at their API address (``_links.data.href``, else ``_links.web.href``).
- Ids become text; the source id is the conversation's ``id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from importer.findings import Finding
from importer.model import status_class
from importer.readers.common import Conversion, id_text, text_value
from importer.readers.helpscout.mapping import HelpScoutMapping
from importer.readers.source import SourceRecord

SOURCE_NAME = "helpscout"
HTML_SIGN = re.compile(r"<[A-Za-z/!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def embedded(record: Mapping[str, Any], key: str) -> list[Mapping[str, Any]] | None:
    """The objects of ``_embedded.<key>`` (``None`` when the record has no such list)."""
    items = _mapping(record.get("_embedded")).get(key)
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, Mapping)]


def _name(person: Mapping[str, Any]) -> str | None:
    first = text_value(person.get("first")) or text_value(person.get("firstName"))
    last = text_value(person.get("last")) or text_value(person.get("lastName"))
    return " ".join(part for part in (first, last) if part) or None


def _moment(value: Any) -> float | None:
    """Seconds of an ISO time (or epoch number), for ordering only; ``None`` when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def oldest_first(threads: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Threads oldest first: a list newest first (the API's order) is turned round, then
    sorted by time (stable: equal times keep that order; unreadable times go last)."""
    return [thread for thread, _ in placed_oldest_first([(t, "") for t in threads])]


Placed = tuple[Mapping[str, Any], str]  # a thread and where it was read


def placed_oldest_first(threads: Sequence[Placed]) -> list[Placed]:
    """:func:`oldest_first` of threads with their places."""
    times = [m for m in (_moment(t.get("createdAt")) for t, _ in threads) if m is not None]
    ordered = list(threads)
    if not times or times[0] >= times[-1]:
        ordered.reverse()
    return sorted(ordered, key=_time_key)


def _time_key(placed: Placed) -> tuple[bool, float]:
    moment = _moment(placed[0].get("createdAt"))
    return (moment is None, moment or 0.0)


class _Conversion(Conversion):
    """The state of converting one conversation: its messages and findings so far."""

    def __init__(
        self, conversation: Mapping[str, Any], location: str, mapping: HelpScoutMapping
    ) -> None:
        self.conversation = conversation
        super().__init__(conversation, location)
        self.mapping = mapping
        self.people: list[Mapping[str, Any]] = []  # customer objects seen on threads

    def _event(self, thread: Mapping[str, Any], label: str, why: str) -> None:
        action = _mapping(thread.get("action"))
        said = text_value(action.get("text")) or text_value(action.get("type"))
        detail = f" ({said})" if said else ""
        self.warnings.append(
            self.finding("map", "message.event", f"{label}{detail} left out: {why}")
        )

    def add_thread(self, thread: Mapping[str, Any], where: str | None = None) -> None:
        """The message of one thread (read at ``where``, else the conversation's place), or
        the warning of an event left out."""
        thread_id = id_text(thread.get("id"))
        thread_type = str(thread.get("type") or "").strip().lower() or "untyped"
        label = f"{thread_type} thread {thread_id}" if thread_id else f"a {thread_type} thread"
        kind = self.mapping.thread_kind(thread_type)
        if kind is None:
            self._event(thread, label, "an event of the conversation, not a message")
            return
        private = kind == "note"
        if str(thread.get("state") or "").strip().lower() == "draft":
            if self.mapping.drafts == "leave_out":
                self._event(thread, label, "a draft that was never sent")
                return
            private = True
        created_by = _mapping(thread.get("createdBy"))
        customer = _mapping(thread.get("customer"))
        if kind == "customer":
            role = "customer"
        elif kind == "by_author":
            role = self.mapping.author_role(created_by.get("type")) if created_by else "customer"
        else:
            role = "agent"
        if customer:
            self.people.append(customer)
        if str(created_by.get("type") or "").lower() == "customer":
            self.people.append(created_by)
        # a customer's words are the thread's customer's, even when an agent typed them in
        author = (customer or created_by) if role == "customer" else created_by
        attachments, problems = _attachments(thread, label)
        self.left_out += [self.finding("attachment", code, text) for code, text in problems]
        raw_body = thread.get("body")
        body = raw_body if isinstance(raw_body, str) else ""
        if not body.strip() and not attachments:
            self._event(thread, label, "it has neither a body nor an attachment")
            return
        message: dict[str, Any] = {"created_at": thread.get("createdAt"), "author_role": role}
        if thread_id is not None:
            message["source_id"] = thread_id
        details = {
            "author_id": id_text(author.get("id")),
            "author_email": text_value(author.get("email")),
            "author_name": _name(author),
        }
        message.update({key: value for key, value in details.items() if value is not None})
        message["private"] = private
        message["body_html" if HTML_SIGN.search(body) else "body_text"] = body
        if attachments:
            message["attachments"] = attachments
        self.messages.append(message)
        self.message_locations.append(where or self.location)

    def customer(self) -> dict[str, Any]:
        primary = _mapping(self.conversation.get("primaryCustomer"))
        customer_id = id_text(primary.get("id"))
        same = [
            person
            for person in self.people
            if customer_id is None or id_text(person.get("id")) in (customer_id, None)
        ]
        known = [primary, *same]

        def first(*keys: str) -> str | None:
            for person in known:
                for key in keys:
                    value = text_value(person.get(key))
                    if value:
                        return value
            return None

        if customer_id is None:
            customer_id = next((id_text(p.get("id")) for p in same if p.get("id")), None)
        customer = {
            "id": customer_id,
            "email": first("email"),
            "first_name": first("first", "firstName"),
            "last_name": first("last", "lastName"),
            "phone": first("phone"),
        }
        return {key: value for key, value in customer.items() if value is not None}


def _attachments(
    thread: Mapping[str, Any], label: str
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The url attachments of a thread's ``_embedded.attachments``."""
    kept: list[dict[str, Any]] = []
    problems: list[tuple[str, str]] = []
    for item in embedded(thread, "attachments") or []:
        links = _mapping(item.get("_links"))
        url = text_value(_mapping(links.get("data")).get("href")) or text_value(
            _mapping(links.get("web")).get("href")
        )
        name = text_value(item.get("filename")) or text_value(item.get("fileName"))
        if url is None:
            problems.append(
                (
                    "url",
                    f"attachment {name or '(unnamed)'!r} of {label} is left out: the export "
                    "gives no address for it (_links.data.href); add the file by hand",
                )
            )
            continue
        attachment: dict[str, Any] = {"file_name": name or f"attachment-{id_text(item.get('id'))}"}
        attachment["url"] = url
        content_type = text_value(item.get("mimeType"))
        if content_type:
            attachment["content_type"] = content_type
        size = item.get("size")
        if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            attachment["size"] = size
        kept.append(attachment)
    return kept, problems


def _tags(conversation: Mapping[str, Any]) -> list[str]:
    """Tag names of ``tags[] {id, color, tag}`` (also ``name`` or plain strings)."""
    names: list[str] = []
    raw = conversation.get("tags")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping):
            name = text_value(item.get("tag")) or text_value(item.get("name"))
        else:
            name = text_value(item)
        if name:
            names.append(name)
    return names


def _custom_fields(conversation: Mapping[str, Any], mapping: HelpScoutMapping) -> dict[str, Any]:
    """``customFields[] {id, name, value, text}`` by name (renamed by the mapping)."""
    fields: dict[str, Any] = {}
    raw = conversation.get("customFields")
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        name = text_value(item.get("name")) or id_text(item.get("id"))
        keys = ("text", "value") if mapping.custom_field_value == "text" else ("value", "text")
        value = next((item[k] for k in keys if item.get(k) not in (None, "")), None)
        if name is None or value is None:
            continue
        fields[mapping.custom_field_names.get(name, name)] = value
    return fields


def _missing_threads(conversation: Mapping[str, Any], location: str, source_id: str) -> Finding:
    count = conversation.get("threads")
    counted = f"{count} thread(s)" if isinstance(count, int) else "threads"
    return Finding(
        "read",
        "threads",
        f"Help Scout conversation {source_id} has {counted} but the export holds none of them: "
        "list the conversations with embed=threads (GET /v2/conversations?embed=threads), or "
        "save GET /v2/conversations/{id}?embed=threads for each",
        location,
        source_id,
    )


def _complete_customer_authors(messages: list[dict[str, Any]], customer: Mapping[str, Any]) -> None:
    """The customer's email and name on the customer's messages that lack them."""
    name = " ".join(n for n in (customer.get("first_name"), customer.get("last_name")) if n)
    for message in messages:
        if message["author_role"] != "customer":
            continue
        if message.get("author_id", customer.get("id")) != customer.get("id"):
            continue
        if customer.get("email") and "author_email" not in message:
            message["author_email"] = customer["email"]
        if name and "author_name" not in message:
            message["author_name"] = name


def _fewer_threads(
    conversation: Mapping[str, Any], found: int, location: str, *, source_id: str
) -> list[Finding]:
    """The warning of a conversation whose export holds fewer threads than Help Scout counts."""
    counted = conversation.get("threads")
    if not isinstance(counted, int) or isinstance(counted, bool) or counted <= found:
        return []
    message = (
        f"the export holds {found} of the {counted} threads Help Scout counts for this "
        "conversation (list pages may cut chats short): save GET "
        f"/v2/conversations/{source_id}?embed=threads with the pages, and the fuller copy is read"
    )
    return [Finding("read", "threads", message, location, source_id)]


def conversation_record(
    conversation: Mapping[str, Any],
    location: str,
    mapping: HelpScoutMapping,
    *,
    thread_places: Sequence[str] = (),
) -> SourceRecord:
    """The :class:`SourceRecord` of one Help Scout conversation object; ``thread_places``:
    where each of its ``_embedded.threads`` was read, when not in the conversation's record."""
    conversion = _Conversion(conversation, location, mapping)
    source_id = conversion.source_id
    if source_id is None:
        error = Finding(
            "read",
            "source_id",
            "a Help Scout conversation without an id cannot be imported; export it again "
            "as the API returns it",
            location,
        )
        return SourceRecord(location, None, None, error=error)
    threads = embedded(conversation, "threads")
    if threads is None:
        error = _missing_threads(conversation, location, source_id)
        return SourceRecord(location, None, source_id, error=error)
    places = [*thread_places, *[location] * (len(threads) - len(thread_places))]
    for thread, where in placed_oldest_first(list(zip(threads, places, strict=False))):
        conversion.add_thread(thread, where)
    conversion.warnings += _fewer_threads(conversation, len(threads), location, source_id=source_id)
    status = text_value(conversation.get("status"))
    if status is not None:
        status = mapping.status_by_status.get(status.lower(), status)
    assignee = _mapping(conversation.get("assignee"))
    customer = conversion.customer()
    _complete_customer_authors(conversion.messages, customer)
    data: dict[str, Any] = {
        "source_id": source_id,
        "source": SOURCE_NAME,
        "customer": customer,
        "messages": conversion.messages,
        "subject": text_value(conversation.get("subject")),
        "type": mapping.conversation_type(conversation.get("type")),
        "status": status,
        "created_at": conversation.get("createdAt"),
        "assignee_id": id_text(assignee.get("id")),
        "assignee_email": text_value(assignee.get("email")),
        "tags": _tags(conversation),
        "custom_fields": _custom_fields(conversation, mapping),
    }
    if status_class(status) == "closed" and conversation.get("closedAt"):
        data["closed_at"] = conversation["closedAt"]
    return conversion.record(data)
