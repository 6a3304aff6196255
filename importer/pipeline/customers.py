"""Customers of a run: whose turn it is, and those the importer creates (no email).

- **Turns**: two creates naming one address Help Scout does not know yet, at once, could make
  two customers. A conversation waits for the turn of every customer it may create (its own, and
  colleagues who wrote in it); once one of its parts exists, those customers are known and their
  later conversations go freely. Locks are taken in key order, so turns never deadlock.
- **Created customers** (``--no-email-policy create``): created once by their key, with a marker
  in ``background``; the intent is recorded before the POST, so a lost answer (or a stop) is
  looked up by the marker, given the search index ``--reconcile-wait``, before any new creation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from importer.clock import WALL_CLOCK, Clock
from importer.helpscout.client import HelpScoutClient
from importer.helpscout.outcome import OutcomeKind
from importer.pipeline.checkpoint import CustomersLog
from importer.pipeline.parts import MAX_SENDS_PER_PART, EventSink, PartResult
from importer.pipeline.polling import poll_until
from importer.pipeline.reconcile import DEFAULT_MARGIN_S, format_api_time
from importer.report import Report
from importer.transform.plan import ConversationPlan


@dataclass(kw_only=True)
class Customers:
    """The run's customers: turns, and creating those without email exactly once."""

    client: HelpScoutClient
    log: CustomersLog
    report: Report
    reconcile_wait_s: float
    emit: EventSink
    clock: Clock = WALL_CLOCK
    _known: set[str] = field(default_factory=set)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @asynccontextmanager
    async def turn(self, keys: list[str]) -> AsyncIterator[None]:
        """Hold back other conversations of the customers of ``keys`` Help Scout may not know
        yet, until this one's parts exist (see the module's docstring)."""
        unknown = sorted(set(keys) - self._known)
        async with AsyncExitStack() as stack:
            for key in unknown:
                await stack.enter_async_context(self._locks.setdefault(key, asyncio.Lock()))
            yield
        for key in unknown:
            if key in self._known:
                self._locks.pop(key, None)

    def known(self, keys: list[str]) -> None:
        """These customers exist in Help Scout now (a part naming them was created)."""
        self._known.update(keys)

    async def ensure(self, plan: ConversationPlan) -> tuple[int | None, PartResult | None]:
        """The Help Scout id of the plan's customer without email: created once, found again if
        in doubt; or why it could not be had."""
        key = plan.customer_key
        known = self.log.customer_id(key)
        if known is not None:
            return known, None
        assert plan.customer_to_create is not None
        body = plan.customer_to_create
        marker = str(body.get("background", ""))
        if self.log.customer_intent(key) is not None:  # asked for before a stop: look
            found = await self.find(key, marker, lost_at=None)
            if found is not None:
                return found, None
        for _ in range(MAX_SENDS_PER_PART):
            first = self.log.record_customer_intent(key)
            outcome = await self.client.create_customer(body)
            if outcome.kind == OutcomeKind.CREATED and outcome.resource_id is not None:
                self.log.put_customer(key, outcome.resource_id)
                self.report.add("customers_created")
                self.emit(
                    "customer.created", {"customer_key": key, "customer_id": outcome.resource_id}
                )
                return outcome.resource_id, None
            if outcome.kind != OutcomeKind.IN_DOUBT:
                return None, PartResult(
                    None, outcome, f"customer not created: {outcome.describe()}", "customer"
                )
            found = await self.find(key, marker, lost_at=self.clock.time(), first_sent_at=first)
            if found is not None:
                return found, None
        return None, PartResult(None, None, "customer creation stayed in doubt", "customer")

    async def find(
        self, key: str, marker: str, *, lost_at: float | None, first_sent_at: float | None = None
    ) -> int | None:
        """Look for a customer this importer created (by its marker), giving the index time."""
        first = first_sent_at or self.log.customer_intent(key) or self.clock.time()
        since = format_api_time(first - DEFAULT_MARGIN_S)
        deadline = (lost_at if lost_at is not None else self.clock.time()) + self.reconcile_wait_s

        async def lookup() -> int | None:
            customer = await self.client.find_customer_by_marker(marker, since)
            if customer is not None and isinstance(customer.get("id"), int):
                return int(customer["id"])
            return None

        found, _ = await poll_until(lookup, deadline, clock=self.clock)
        if found is None:
            return None
        self.log.put_customer(key, found)
        self.report.add("in_doubt_resolved")
        if lost_at is not None:  # its answer was lost in this run: created in this run
            self.report.add("customers_created")
        self.emit("customer.found", {"customer_key": key, "customer_id": found})
        return found
