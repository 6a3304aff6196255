"""``verify``'s reading back: the parts the checkpoint records as done, read from Help Scout a
chunk of conversations at a time and compared with the export as planned now.

Apart from :mod:`importer.commands.verify`, which settles what is read back (the settings, the
sample, the estimate) and opens the export and the client: here is only the walk over the planned
conversations, the requests and the comparison, keeping counts and mismatches between chunks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from importer.commands.verify_compare import (
    Mismatch,
    compare_conversation,
    expected_threads,
    found_threads,
    normal_time,
    shown,
    thread_rows,
)
from importer.commands.verify_frames import Summary, compare_threads
from importer.commands.verify_report import VerifyReport
from importer.errors import RejectedApiError
from importer.helpscout.client import HelpScoutClient
from importer.pipeline.checkpoint import Checkpoint, PartRecord, PartState
from importer.tally import Planned
from importer.transform.plan import ConversationPlan, InvalidConversation
from importer.transform.split import Part

CHUNK = 200  # conversations compared (and framed) at a time
READERS = 4  # GET requests in flight at once (the client paces them)


def _attachment_size(part: Part, index: int) -> int | None:
    """Bytes of the ``index``-th file of ``part`` uploaded after creation, when known."""
    source = part.deferred[index][1].source
    if source.size is not None:
        return source.size
    if source.data_base64:
        raw = "".join(source.data_base64.split())
        return len(raw) * 3 // 4 - raw[-2:].count("=")
    if source.path:
        try:
            return Path(source.path).stat().st_size
        except OSError:
            return None
    return None


class Verifier:
    """Compares chunks of conversations; keeps only counts and mismatches between chunks."""

    def __init__(
        self, client: HelpScoutClient, checkpoint: Checkpoint, report: VerifyReport
    ) -> None:
        self.client = client
        self.checkpoint = checkpoint
        self.report = report
        self.summary = Summary()
        self._readers = asyncio.Semaphore(READERS)

    async def _read(self, conversation_id: int) -> dict[str, Any] | str:
        """The conversation with every thread, or why it could not be read."""
        async with self._readers:
            try:
                body = await self.client.get_conversation(conversation_id, embed_threads=True)
            except RejectedApiError as exc:
                return "missing" if exc.status == 404 else f"not readable: {exc}"
            listed = body.get("threads")
            if isinstance(listed, int) and listed > len(found_threads(body)):
                threads = await self.client.list_threads(conversation_id)
                body["_embedded"] = {**(body.get("_embedded") or {}), "threads": threads}
            return body

    async def compare_chunk(self, chunk: list[tuple[ConversationPlan, list[PartRecord]]]) -> None:
        """Read every done part of ``chunk`` and compare it."""
        reads = [self._read(int(row.conversation_id or 0)) for _plan, rows in chunk for row in rows]
        bodies = iter(await asyncio.gather(*reads))
        expected_rows: list[dict[str, Any]] = []
        found_rows: list[dict[str, Any]] = []
        months: list[dict[str, Any]] = []
        for plan, rows in chunk:
            first_found: str | None = None
            for row in rows:
                body = next(bodies)
                self.report.parts_checked += 1
                got = self._compare_part(
                    plan, row, body, expected_rows=expected_rows, found_rows=found_rows
                )
                if got is not None and first_found is None:
                    first_found = got
            months.append({"source": plan.created_at.isoformat(), "found": first_found})
        mismatches, threads = compare_threads(expected_rows, found_rows)
        self.report.mismatches += mismatches
        self.report.threads_checked += threads
        self.summary.add_months(months)

    def _compare_part(
        self,
        plan: ConversationPlan,
        row: PartRecord,
        body: dict[str, Any] | str,
        *,
        expected_rows: list[dict[str, Any]],
        found_rows: list[dict[str, Any]],
    ) -> str | None:
        """Compare one part; returns the found conversation's createdAt (None when absent)."""
        sid, number = plan.source_id, row.part
        mismatches = self.report.mismatches
        if isinstance(body, str):
            expected = f"conversation {row.conversation_id}"
            mismatches.append(Mismatch(sid, number, None, "conversation", expected, body))
            return None
        moved = row.part_count != len(plan.parts) or row.part > len(plan.parts)
        part = None if moved else plan.parts[row.part - 1]
        if part is None or (row.span is not None and row.span != part.span):
            found = f"the export now makes {len(plan.parts)} part(s) of other messages"
            expected = f"part {row.part} of {row.part_count} as recorded"
            mismatches.append(Mismatch(sid, number, None, "span", expected, shown(found)))
            return normal_time(body.get("createdAt"))
        customer_id = (
            self.checkpoint.customers.customer_id(plan.customer_key)
            if part.names_pending_customer
            else None
        )
        sent = part.body(customer_id)
        states = self.checkpoint.uploads.upload_states(sid, number)
        extra: dict[int, list[tuple[str, int | None]]] = {}
        for index, (thread_index, attachment) in enumerate(part.deferred):
            if states.get(index) == "failed":
                continue  # the run reported it left out
            size = _attachment_size(part, index)
            extra.setdefault(thread_index, []).append((attachment.file_name, size))
        mismatches += compare_conversation(sid, number, sent, found=body)
        wanted, got, order = thread_rows(
            sid, number, expected_threads(sent, extra), found=found_threads(body)
        )
        expected_rows += wanted
        found_rows += got
        mismatches += order
        return normal_time(body.get("createdAt"))

    def count_unread(self, plan_created: str | None) -> None:
        """A conversation of the source not read back (not imported): in the month chart."""
        self.summary.add_months([{"source": plan_created, "found": None}])

    async def compare_all(self, planned: AsyncIterator[Planned], chosen: set[str] | None) -> int:
        """Compare every conversation of ``planned`` the checkpoint holds a created part of
        (only those ``chosen``, when sampled); how many of them were met."""
        met = 0
        chunk: list[tuple[ConversationPlan, list[PartRecord]]] = []
        async for conversation in planned:
            rows = self._done_parts(conversation.source_id)
            created = conversation.created_at.isoformat() if conversation.created_at else None
            if not rows:
                self.report.not_imported += 1
                if chosen is None:
                    self.count_unread(created)
                continue
            if chosen is not None and conversation.source_id not in chosen:
                continue
            met += 1
            self.report.conversations_checked += 1
            if isinstance(conversation, InvalidConversation):
                self._invalid_now(conversation)
                self.count_unread(created)
                continue
            chunk.append((conversation, rows))
            if len(chunk) >= CHUNK:
                await self.compare_chunk(chunk)
                chunk = []
        if chunk:
            await self.compare_chunk(chunk)
        return met

    def _done_parts(self, source_id: str | None) -> list[PartRecord]:
        """The parts of the conversation the checkpoint records as created."""
        rows = self.checkpoint.parts.parts_of(source_id) if source_id is not None else []
        return [r for r in rows if r.state is PartState.DONE and r.conversation_id is not None]

    def _invalid_now(self, planned: InvalidConversation) -> None:
        """A conversation imported before that the export no longer plans: a mismatch."""
        reason = planned.findings[0].message if planned.findings else "invalid"
        self.report.mismatches.append(
            Mismatch(
                str(planned.source_id),
                None,
                None,
                "conversation",
                "valid, as imported",
                shown(f"invalid now: {reason}"),
            )
        )
