"""Conversations that wait for a download host that is down, while the run goes on.

A conversation whose files' host is down (:mod:`importer.helpscout.download_hosts`) leaves its
worker before anything of the part that needs them is sent, and waits here, by host. A
watcher, running beside the workers:

- tries each host that is down now and then (one request, headers only);
- puts the conversations of a host that answers back in the pool (their parts already done
  stay done; the rest is sent with its files);
- fails the conversations of a host that stays down for ``--download-host-wait``: not
  imported, a rerun tries them again.

A stop of the run leaves the waiting conversations as they are: nothing of theirs was sent, the
rerun picks them up. Nothing here sleeps but the watcher, in short steps, so a stop is prompt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from importer.clock import SYSTEM_CLOCK, Clock
from importer.helpscout.download_hosts import HostDownError, HostWatch, duration
from importer.transform.plan import ConversationPlan

log = logging.getLogger("importer.run")

#: seconds between two looks of the watcher
TICK_S = 0.25


@dataclass
class HostWaits:
    """The conversations waiting for a host, and the watcher that ends their wait."""

    hosts: HostWatch
    #: one request to a URL of the host (its answer, or none, updates ``hosts``)
    probe: Callable[[str], Awaitable[object]]
    #: puts a conversation back in the pool
    requeue: Callable[[ConversationPlan], Awaitable[None]]
    #: a conversation whose host was given up: failed, with the error's reason
    fail: Callable[[ConversationPlan, HostDownError], None]
    stop: asyncio.Event
    clock: Clock = SYSTEM_CLOCK
    tick_s: float = TICK_S
    _waiting: dict[str, list[ConversationPlan]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Conversations waiting for a host (or on their way back to the pool)."""
        return sum(len(plans) for plans in self._waiting.values())

    def park(self, plan: ConversationPlan, error: HostDownError) -> None:
        """``plan`` met ``error``: it waits for the host, or fails at once when the host was
        given up already."""
        if self.hosts.given_up(error.host):
            self.fail(plan, self.hosts.error(error.host))
            return
        self._waiting.setdefault(error.host, []).append(plan)
        log.debug("%s: waits for %s", plan.source_id, error.host)

    async def watch(self) -> None:
        """Until cancelled or the run stops: look every ``tick_s`` (see :meth:`step`)."""
        while not self.stop.is_set():
            await self.step()
            await self.clock.sleep(self.tick_s)

    async def step(self) -> None:
        """Give up the hosts down too long, try those whose turn it is, send on the
        conversations of the hosts that answer."""
        if self.stop.is_set():
            return
        for host in self.hosts.expire():
            plans = self._waiting.pop(host, [])
            log.warning(
                "%s: no answer for %s (--download-host-wait): %d conversation(s) that need its "
                "files fail (not imported; a rerun tries them again), and so do the next ones "
                "while it does not answer",
                host,
                duration(self.hosts.wait_s),
                len(plans),
            )
            error = self.hosts.error(host)
            for plan in plans:
                self.fail(plan, error)
        due = self.hosts.probes_due()
        if due:
            await asyncio.gather(*(self.probe(url) for _, url in due))
        for host in list(self._waiting):
            if self.stop.is_set():
                return
            if self.hosts.is_down(host):
                continue
            plans = self._waiting[host]  # counted while each one moves back to the pool
            while plans and not self.stop.is_set():
                await self.requeue(plans[0])
                plans.pop(0)
            if not plans and self._waiting.get(host) is plans:
                del self._waiting[host]
