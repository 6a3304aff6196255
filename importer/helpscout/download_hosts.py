"""Which attachment hosts are down right now: every connection to them refused or timed out.

A host is *down* once :data:`DOWN_AFTER` connections to it in a row found no one (refused, or
no connection within the connect timeout), or once one file's every try did. It is said once,
as it happens, with what it means for the run. Then:

- a download of that host is not tried (:class:`HostDownError` at once): the conversation that
  needs it waits (:mod:`importer.pipeline.waiting`), the run goes on with the others;
- the host is tried again every :meth:`HostWatch.probe_every` seconds (one request, headers
  only); any answer, even a 404, means it is up again, and so does any download of it that
  gets an answer meanwhile;
- after ``--download-host-wait`` seconds down it is *given up*: the conversations waiting for
  it fail (not imported; a rerun tries them again), and so do the conversations that need it
  later in this run, until it answers again (it is still tried now and then). With
  ``--download-host-wait 0`` (an old help desk gone for good) nothing waits: its files are left
  out at once, as any file that cannot be had, and its conversations imported without them.

An answer of any kind resets the count: a file that is gone for good (404, 410) or refused
(401, 403) is that file's alone, as is a URL the address policy refuses (no connection is
made). A name that does not resolve is not counted either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from importer.clock import SYSTEM_CLOCK, Clock
from importer.errors import ImporterError

log = logging.getLogger("importer.run")

#: connections in a row that found no one before a host is down
DOWN_AFTER = 5
#: outcome codes of a try that reached no one at the host
UNREACHABLE = frozenset({"refused", "connect_timeout"})
#: outcome codes that say nothing about the host (no connection was tried, or no name)
NOT_ABOUT_THE_HOST = frozenset(
    {"dns", "address_policy", "scheme", "url", "invalid_url", "internal", "time_limit"}
)
#: the longest pause between two tries of a host that is down
PROBE_EVERY_MAX_S = 30.0
PROBE_EVERY_MIN_S = 0.5


class HostDownError(ImporterError):
    """A file's host is down: its conversation waits for it (it is not a file left out)."""

    exit_code = 1

    def __init__(self, host: str, message: str) -> None:
        super().__init__(message)
        self.host = host


def host_of(url: str) -> str:
    """The host a URL connects to, as people name it: ``files.example.com`` or ``host:port``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def duration(seconds: float) -> str:
    """``10m``, ``1m 30s``, ``2s``, ``0.5s``: a wait, for a message."""
    if seconds < 10 and seconds != round(seconds):
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes and secs:
        return f"{minutes}m {secs}s"
    return f"{minutes}m" if minutes else f"{secs}s"


@dataclass
class _Host:
    failures: int = 0  # connections in a row that found no one
    why: str = ""
    down_since: float | None = None
    given_up: bool = False
    next_probe: float = 0.0
    probe_url: str = ""


class HostWatch:
    """The state of every attachment host of one run (one event loop: no locks needed).

    ``wait_s`` is ``--download-host-wait``: how long a host may stay down before the
    conversations waiting for it fail. ``clock`` is monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        wait_s: float,
        *,
        down_after: int = DOWN_AFTER,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.wait_s = wait_s
        self.down_after = down_after
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    @property
    def probe_every(self) -> float:
        """Seconds between two tries of a host that is down (a tenth of the wait, 0.5 to 30)."""
        return min(PROBE_EVERY_MAX_S, max(PROBE_EVERY_MIN_S, self.wait_s / 10))

    def is_down(self, host: str) -> bool:
        state = self._hosts.get(host)
        return state is not None and state.down_since is not None

    def given_up(self, host: str) -> bool:
        state = self._hosts.get(host)
        return state is not None and state.given_up

    def down(self) -> list[str]:
        """The hosts down now."""
        return [host for host, state in self._hosts.items() if state.down_since is not None]

    def error(self, host: str) -> HostDownError:
        """The error a download of ``host`` meets while it is down."""
        state = self._hosts.get(host) or _Host()
        if self.wait_s <= 0:
            return HostDownError(
                host, f"{host} is down ({state.why}); --download-host-wait 0 leaves its files out"
            )
        if state.given_up:
            return HostDownError(
                host,
                f"{host} has not answered for {duration(self.wait_s)} (--download-host-wait; "
                f"{state.why}): not imported, so that it does not go without its files; a rerun "
                "tries again",
            )
        return HostDownError(host, f"{host} is down ({state.why}): waiting for it")

    # --- what downloads meet ------------------------------------------------------------------

    def answered(self, host: str) -> None:
        """A connection to ``host`` got an answer (any answer): it is up."""
        state = self._hosts.get(host)
        if state is None:
            return
        if state.down_since is not None:
            log.warning(
                "%s answers again after %s; the conversations that need its files go on",
                host,
                duration(self._clock.time() - state.down_since),
            )
        self._hosts[host] = _Host()

    def unreachable(self, host: str, url: str, code: str, *, whole_file: bool = False) -> bool:
        """A connection to ``host`` found no one (``code``: refused, connect_timeout); or, with
        ``whole_file``, every try of one file did. Returns whether the host is down now."""
        state = self._hosts.setdefault(host, _Host())
        state.failures += 1
        state.probe_url = url
        if state.down_since is not None:
            return True
        if state.failures < self.down_after and not whole_file:
            return False
        verb = "timed out connecting" if code == "connect_timeout" else "refused"
        now = self._clock.time()
        state.why = f"{state.failures} downloads in a row {verb}"
        state.down_since = now
        state.next_probe = now + self.probe_every
        if self.wait_s > 0:
            log.warning(
                "%s: %s; conversations that need its files wait (up to %s, --download-host-wait;"
                " it is tried again every %s), the others go on",
                host,
                state.why,
                duration(self.wait_s),
                duration(self.probe_every),
            )
        else:
            state.given_up = True
            log.warning(
                "%s: %s; --download-host-wait is 0: conversations that need its files are "
                "imported without them (each named in its message and the report)",
                host,
                state.why,
            )
        return True

    # --- the waiting side ---------------------------------------------------------------------

    def probes_due(self) -> list[tuple[str, str]]:
        """``(host, url)`` of each host down whose next try is due; that try is then planned
        for :meth:`probe_every` later (one try at a time per host)."""
        now = self._clock.time()
        due = []
        for host, state in self._hosts.items():
            if state.down_since is not None and state.probe_url and now >= state.next_probe:
                state.next_probe = now + self.probe_every
                due.append((host, state.probe_url))
        return due

    def expire(self) -> list[str]:
        """The hosts down for ``wait_s`` that are given up now (each said once)."""
        now = self._clock.time()
        expired = []
        for host, state in self._hosts.items():
            if state.down_since is None or state.given_up:
                continue
            if now - state.down_since >= self.wait_s:
                state.given_up = True
                expired.append(host)
        return expired
