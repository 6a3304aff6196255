"""The generic CSV mapping (``mappings/csv.toml`` with ``--mapping`` merged over), checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from importer.errors import MappingError

CONVERSATION_FIELDS = (
    "source_id",
    "subject",
    "status",
    "type",
    "created_at",
    "closed_at",
    "customer_id",
    "customer_email",
    "customer_first_name",
    "customer_last_name",
    "customer_phone",
    "assignee_email",
    "assignee_id",
    "tags",
)
MESSAGE_FIELDS = (
    "conversation_id",
    "source_id",
    "created_at",
    "author_role",
    "author_id",
    "author_email",
    "author_name",
    "private",
    "body_html",
    "body_text",
    "attachments",
)
CONVERSATION_TYPES = ("email", "chat", "phone")
AUTHOR_ROLES = ("customer", "agent", "system")
# message columns that only a messages file has: they tell the two files apart
MESSAGE_ONLY_FIELDS = ("body_html", "body_text", "author_role", "source_id")


@dataclass(frozen=True)
class CsvColumns:
    """Column names by canonical field, and the words the cells use."""

    conversation: dict[str, str]
    message: dict[str, str]
    delimiter: str
    list_separator: str
    custom_field_prefix: str
    true_words: frozenset[str]
    channel_words: dict[str, str]  # word -> type
    role_words: dict[str, str]  # word -> role

    def kind_of(self, header: list[str]) -> str | None:
        """``"conversations"``, ``"messages"`` or ``None`` for a header that is neither."""
        names = set(header)
        message_only = {self.message[f] for f in MESSAGE_ONLY_FIELDS if self.message.get(f)}
        if self.message["conversation_id"] in names and names & message_only:
            return "messages"
        others = {c for f, c in self.conversation.items() if f != "source_id" and c}
        if self.conversation["source_id"] in names and names & others:
            return "conversations"
        return None


def _table(mapping: dict[str, Any], name: str, known: tuple[str, ...]) -> dict[str, str]:
    table = mapping.get(name, {})
    if not isinstance(table, dict):
        raise MappingError(f'[{name}] in the csv mapping must be a table of field = "column"')
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise MappingError(
            f"[{name}] in the csv mapping names unknown field(s) {', '.join(unknown)}; "
            f"known: {', '.join(known)}"
        )
    for field_name, column in table.items():
        if not isinstance(column, str):
            raise MappingError(
                f"[{name}] {field_name} must be a column name in quotes, not {column!r}"
            )
    return {field_name: str(table.get(field_name, "")).strip() for field_name in known}


def _words(mapping: dict[str, Any], name: str, targets: tuple[str, ...]) -> dict[str, str]:
    table = mapping.get(name, {})
    if not isinstance(table, dict) or set(table) - set(targets):
        raise MappingError(
            f"[{name}] in the csv mapping must be a table with keys among {', '.join(targets)}, "
            "each a list of words"
        )
    words: dict[str, str] = {}
    for target, listed in table.items():
        if not isinstance(listed, list) or not all(isinstance(w, str) for w in listed):
            raise MappingError(f"[{name}] {target} must be a list of words in quotes")
        words.update({word.strip().lower(): target for word in listed})
    return words


def _text(mapping: dict[str, Any], key: str, default: str) -> str:
    value = mapping.get(key, default)
    if not isinstance(value, str) or not value:
        raise MappingError(f"{key} in the csv mapping must be a non-empty string, not {value!r}")
    return value


def csv_columns(mapping: dict[str, Any]) -> CsvColumns:
    """Check the csv mapping and index it; a wrong mapping is a ``MappingError``."""
    conversation = _table(mapping, "conversation_columns", CONVERSATION_FIELDS)
    message = _table(mapping, "message_columns", MESSAGE_FIELDS)
    if not conversation["source_id"] or not message["conversation_id"]:
        raise MappingError(
            "the csv mapping needs [conversation_columns] source_id and "
            "[message_columns] conversation_id: the column that holds the conversation id"
        )
    delimiter = _text(mapping, "delimiter", ",")
    if len(delimiter) != 1:
        raise MappingError(f"delimiter in the csv mapping must be one character, not {delimiter!r}")
    true_words = mapping.get("true_words", ["true"])
    if not isinstance(true_words, list) or not all(isinstance(w, str) for w in true_words):
        raise MappingError("true_words in the csv mapping must be a list of words in quotes")
    return CsvColumns(
        conversation=conversation,
        message=message,
        delimiter=delimiter,
        list_separator=_text(mapping, "list_separator", ";"),
        custom_field_prefix=_text(mapping, "custom_field_prefix", "cf:"),
        true_words=frozenset(w.strip().lower() for w in true_words),
        channel_words=_words(mapping, "channel_words", CONVERSATION_TYPES),
        role_words=_words(mapping, "role_words", AUTHOR_ROLES),
    )
