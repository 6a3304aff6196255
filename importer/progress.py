"""Progress on the terminal: a bar when stderr is a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType
from typing import Any

from tqdm import tqdm

log = logging.getLogger("importer.progress")
LOG_EVERY_S = 30.0


class Progress:
    """Counts conversations as they settle and shows it: a tqdm bar, or a log line now and then."""

    def __init__(
        self,
        label: str,
        *,
        enabled: bool,
        total: int | None = None,
        log_every_s: float = LOG_EVERY_S,
    ):
        self.label = label
        self.counts: dict[str, int] = {}
        self._bar: tqdm[Any] | None = None
        self._enabled = enabled
        self._total = total
        self._log_every = log_every_s
        self._last_log = time.monotonic()
        self._started = time.monotonic()
        self.done = 0

    @staticmethod
    def wanted(no_progress: bool, quiet: bool) -> bool:
        """A bar only on a terminal, and only when not asked for silence."""
        return not no_progress and not quiet and sys.stderr.isatty()

    def __enter__(self) -> Progress:
        if self._enabled:
            self._bar = tqdm(
                total=self._total, desc=self.label, unit="conv", file=sys.stderr, dynamic_ncols=True
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
        else:
            self._log_line()

    def update(self, outcome: str, amount: int = 1) -> None:
        """One conversation settled with ``outcome`` (imported, invalid, failed, ...)."""
        self.counts[outcome] = self.counts.get(outcome, 0) + amount
        self.done += amount
        if self._bar is not None:
            self._bar.update(amount)
            self._bar.set_postfix(self.counts, refresh=False)
        elif time.monotonic() - self._last_log >= self._log_every:
            self._log_line()

    def note(self, key: str, amount: int = 1) -> None:
        """Count something that is not a settled conversation (throttled, retries)."""
        self.counts[key] = self.counts.get(key, 0) + amount
        if self._bar is not None:
            self._bar.set_postfix(self.counts, refresh=False)

    def _log_line(self) -> None:
        self._last_log = time.monotonic()
        rate = self.done / max(time.monotonic() - self._started, 1e-9)
        details = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        eta = ""
        if self._total:
            remaining = max(self._total - self.done, 0)
            eta = f", ETA {remaining / rate:.0f}s" if rate > 0 else ""
        log.info(
            "%s: %d done (%s), %.1f/s%s", self.label, self.done, details or "nothing yet", rate, eta
        )
