"""The canonical conversation: what every reader produces and every later stage reads.

Field for field the contract's "Canonical JSONL" section. Timestamps stay as the source wrote
them (ISO 8601 text or epoch seconds); ``transform.times`` turns them into UTC with ``--source-tz``.
Ids are opaque strings: numbers are accepted and turned into text (ETL tools write ``7253.0``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

CONVERSATION_TYPES = ("email", "chat", "phone")
AUTHOR_ROLES = ("customer", "agent", "system")

OPEN_LIKE = frozenset({"open", "new", "hold", "active"})
PENDING_LIKE = frozenset({"pending", "snoozed", "waiting"})
CLOSED_LIKE = frozenset({"solved", "resolved", "closed", "archived"})
#: not a canonical key: the text of a record or CSV row that could not be read, kept in a dead
#: letter to be folded into the record before it is fed back
RAW_TEXT_KEY = "_raw"


def _id_text(value: Any) -> Any:
    """Turn a numeric id into its text; ``7253.0`` becomes ``"7253"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Id = Annotated[str, BeforeValidator(_id_text)]
OptionalId = Annotated[str | None, BeforeValidator(_id_text)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]
Timestamp = Annotated[str | int | float, Field(union_mode="left_to_right")]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=False)


class Attachment(_Record):
    """A file attached to a message: exactly one of ``path``, ``url`` or ``data_base64``."""

    file_name: str
    content_type: str | None = None
    size: int | None = None
    path: OptionalText = None
    url: OptionalText = None
    data_base64: OptionalText = None

    @model_validator(mode="after")
    def _one_location(self) -> Attachment:
        given = [name for name in ("path", "url", "data_base64") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                "an attachment needs exactly one of path, url or data_base64"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class Customer(_Record):
    """The person the conversation is with; ``id``, ``email`` or ``phone`` is expected."""

    id: OptionalId = None
    email: OptionalText = None
    first_name: OptionalText = None
    last_name: OptionalText = None
    phone: OptionalText = None
    organization: OptionalText = None
    job_title: OptionalText = None
    location: OptionalText = None


class Message(_Record):
    """One message of a conversation, in the source's words."""

    created_at: Timestamp
    author_role: Literal["customer", "agent", "system"]
    body_html: str | None = None
    body_text: str | None = None
    source_id: OptionalId = None
    author_id: OptionalId = None
    author_email: OptionalText = None
    author_name: OptionalText = None
    private: bool = False
    attachments: list[Attachment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_body_field(self) -> Message:
        if self.body_html is None and self.body_text is None:
            raise ValueError("a message needs body_html or body_text")
        return self


class Conversation(_Record):
    """One conversation of the old help desk, ready for the transform stages."""

    source_id: Id
    customer: Customer
    messages: list[Message]
    source: OptionalText = None
    subject: str | None = None
    type: Literal["email", "chat", "phone"] = "email"
    status: OptionalText = None
    created_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    assignee_email: OptionalText = None
    assignee_id: OptionalId = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _default_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") in (None, ""):
            data = {k: v for k, v in data.items() if k != "type"}
        return data


def status_class(status: str | None) -> Literal["open", "pending", "closed"] | None:
    """Say whether a source status word is open-like, pending-like or closed-like."""
    if status is None:
        return None
    word = status.strip().lower()
    if word in OPEN_LIKE:
        return "open"
    if word in PENDING_LIKE:
        return "pending"
    if word in CLOSED_LIKE:
        return "closed"
    return None


def conversation_json_schema() -> dict[str, Any]:
    """The JSON schema of one canonical JSONL line (``importer convert --schema``)."""
    return Conversation.model_json_schema()
