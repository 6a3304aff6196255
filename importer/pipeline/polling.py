"""Looking something up until it shows or a deadline proves it absent (the search index lags).

Only a lookup that *started* at or after the deadline can prove absence: a walk over several
pages that began earlier may have passed the thing's place in a listing before it became visible
there. Used by reconcile (parts in doubt) and by customers created in doubt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from importer.clock import Clock

T = TypeVar("T")

DEFAULT_POLL_S = 2.0


async def poll_until(
    lookup: Callable[[], Awaitable[T | None]],
    deadline: float,
    *,
    clock: Clock,
    poll_s: float = DEFAULT_POLL_S,
) -> tuple[T | None, int]:
    """``lookup()`` until it finds something, or until a lookup begun at or after ``deadline``
    finds nothing; returns what it found (or None) and how many lookups it took."""
    lookups = 0
    while True:
        lookups += 1
        started = clock.time()
        found = await lookup()
        if found is not None or started >= deadline:
            return found, lookups
        await clock.sleep(max(min(poll_s, deadline - clock.time()), 0.0))
