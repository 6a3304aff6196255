"""What a planning worker sends back of one valid conversation: its figures, not its requests.

``validate`` and ``convert`` count a conversation by its threads, attachments, parts, warnings
and what was left out (:class:`PlanSummary`); ``plan`` also counts the requests ``run`` will
make of it (:class:`RequestFigures`: creates, uploads after creation, the customer it creates
first, its attachment links). Agents a worker could not match are sent with each outcome, so the
main process reports the same unmatched agents as one process planning alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from importer.findings import Finding
from importer.transform.plan import ConversationPlan

#: one URL attachment of a conversation: (url, file name, where it was read)
LinkRef = tuple[str, str, str]


def links_of(plan: ConversationPlan) -> list[LinkRef]:
    """The attachments of ``plan`` given by URL only (not inline data, not a file): those
    ``run`` downloads, and ``plan`` samples."""
    links: list[LinkRef] = []
    for part in plan.parts:
        for _, attachment in part.deferred:
            source = attachment.source
            if source.url and not source.data_base64 and not source.path:
                where = attachment.location or plan.location
                links.append((source.url, attachment.file_name, where))
    return links


@dataclass(frozen=True)
class RequestFigures:
    """The requests ``run`` makes of one valid conversation: one create per part, each part's
    uploads after creation (``deferred``: how many per part), the customer created first when it
    has no email (``customer_key``, else ``None``), and its attachment links."""

    deferred: tuple[int, ...]
    customer_key: str | None
    links: tuple[LinkRef, ...]

    @classmethod
    def of(cls, plan: ConversationPlan) -> RequestFigures:
        return cls(
            tuple(len(part.deferred) for part in plan.parts),
            plan.customer_key if plan.customer_to_create is not None else None,
            tuple(links_of(plan)),
        )


@dataclass
class PlanSummary:
    """A valid conversation planned in a worker: its figures, not its requests."""

    source_id: str
    location: str
    created_at: datetime
    threads: int
    attachments: int
    part_count: int
    warnings: list[Finding]
    left_out: list[Finding]
    converted: str | None = None  # its canonical JSONL line (``convert``)
    requests: RequestFigures | None = None  # what ``run`` sends of it (``plan``)
    agents_unmatched: frozenset[str] = frozenset()  # agents it names that match no user
    reread: Callable[[], dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls, plan: ConversationPlan, converted: str | None, *, requests: bool = False
    ) -> PlanSummary:
        return cls(
            plan.source_id,
            plan.location,
            plan.created_at,
            plan.threads,
            plan.attachments,
            plan.part_count,
            plan.warnings,
            plan.left_out,
            converted,
            RequestFigures.of(plan) if requests else None,
        )

    @property
    def record(self) -> dict[str, Any]:
        """The record as read: read again from its batch (only a repeated id needs it)."""
        if self.reread is None:
            raise LookupError(f"{self.location}: the record of this summary cannot be read again")
        return self.reread()
