"""The Freshdesk mapping (``mappings/freshdesk.toml`` with ``--mapping`` merged over), checked.

Every value choice of the Freshdesk reader lives in the TOML file; this module checks it with
pydantic (a wrong key or value is one :class:`~importer.errors.MappingError` naming the table and
key) and hands the reader a frozen :class:`FreshdeskMapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from importer.model import CLOSED_LIKE
from importer.readers.mapping_rules import BodyFormat, Table, checked

SurveyFeedback = Literal["customer", "note", "drop"]
InlineImages = Literal["attachment-urls", "all", "none"]
ConversationType = Literal["email", "chat", "phone"]


class _Types(Table):
    codes: dict[str, ConversationType] = Field(default_factory=dict)
    default: ConversationType = "email"


class _Messages(Table):
    survey_sources: list[int] = Field(default_factory=lambda: [6])
    survey_feedback: SurveyFeedback = "customer"
    agent_description_sources: list[int] = Field(default_factory=list)


class _CustomFields(Table):
    prefix: str = "cf_"
    use_labels: bool = True
    names: dict[str, str] = Field(default_factory=dict)


class _Attachments(Table):
    inline_images: InlineImages = "attachment-urls"
    attachment_url_markers: list[str] = Field(default_factory=list)


class _Tags(Table):
    spam: str = ""


class _Status(Table):
    open: list[str] = Field(default_factory=list)
    pending: list[str] = Field(default_factory=list)
    closed: list[str] = Field(default_factory=list)


class _FreshdeskToml(Table):
    status_codes: dict[str, str] = Field(default_factory=dict)
    unknown_status: str = "pending"
    body_format: BodyFormat = "auto"
    status: _Status = Field(default_factory=_Status)
    types: _Types = Field(default_factory=_Types)
    messages: _Messages = Field(default_factory=_Messages)
    custom_fields: _CustomFields = Field(default_factory=_CustomFields)
    attachments: _Attachments = Field(default_factory=_Attachments)
    tags: _Tags = Field(default_factory=_Tags)


@dataclass(frozen=True)
class FreshdeskMapping:
    """The reader's choices, indexed for look-ups (codes as text: ``"2"``, ``"7"``)."""

    status_codes: dict[str, str]  # ticket status code -> canonical status word
    unknown_status: str  # word of a custom status whose label is unknown
    closed_words: frozenset[str]  # status words (lower case) whose tickets carry a closed time
    type_codes: dict[str, str]  # ticket source code -> conversation type
    default_type: str
    survey_sources: frozenset[str]  # conversation source codes of satisfaction-survey feedback
    survey_feedback: SurveyFeedback
    agent_description_sources: frozenset[str]  # ticket sources whose description an agent wrote
    custom_field_prefix: str
    custom_field_labels: bool
    custom_field_names: dict[str, str]  # API name -> name to give the custom field
    inline_images: InlineImages
    attachment_url_markers: tuple[str, ...]
    spam_tag: str
    body_format: BodyFormat = "auto"  # "text": `body_text` preferred to the HTML `body`


def freshdesk_mapping(mapping: dict[str, Any]) -> FreshdeskMapping:
    """Check the Freshdesk mapping and index it; a wrong mapping is a ``MappingError``."""
    toml = checked(_FreshdeskToml, mapping, "freshdesk")
    closed_words = toml.status.closed or sorted(CLOSED_LIKE)
    return FreshdeskMapping(
        status_codes={code.strip(): word for code, word in toml.status_codes.items()},
        unknown_status=toml.unknown_status,
        closed_words=frozenset(word.strip().lower() for word in closed_words),
        type_codes={code.strip(): kind for code, kind in toml.types.codes.items()},
        default_type=toml.types.default,
        survey_sources=frozenset(str(code) for code in toml.messages.survey_sources),
        survey_feedback=toml.messages.survey_feedback,
        agent_description_sources=frozenset(
            str(code) for code in toml.messages.agent_description_sources
        ),
        custom_field_prefix=toml.custom_fields.prefix,
        custom_field_labels=toml.custom_fields.use_labels,
        custom_field_names=dict(toml.custom_fields.names),
        inline_images=toml.attachments.inline_images,
        attachment_url_markers=tuple(
            marker.lower() for marker in toml.attachments.attachment_url_markers if marker
        ),
        spam_tag=toml.tags.spam.strip(),
        body_format=toml.body_format,
    )
