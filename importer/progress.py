"""Progress on the terminal: a bar when stderr is a terminal, periodic log lines otherwise.

While the bar is drawn, everything else written to stderr goes *above* it, never through it:
``sys.stderr`` (``click.echo(err=True)``, ``print(file=sys.stderr)``, warnings) and every
logging handler that writes to the terminal are routed, line by line, through
:meth:`Progress.write_above` (the bar is cleared, the line written, the bar drawn again, under
the bar's lock, so threads too). Everything is put back when the bar closes.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from tqdm import tqdm

log = logging.getLogger("importer.progress")
LOG_EVERY_S = 30.0

#: what the bar's postfix shows, in order: settled counts first, then what is happening now
#: (the gauges); a key is left out while it is 0, except the first two
POSTFIX_KEYS = (
    "imported",
    "failed",
    "already imported",
    "invalid",
    "in doubt",
    "rate-limited",
    "downloads retrying",
    "waiting for files",
)
ALWAYS_SHOWN = ("imported", "failed")

Gauges = Callable[[], dict[str, int]]


class Progress:
    """Counts conversations as they settle and shows it: a tqdm bar, or a log line now and then.

    ``gauges()`` gives what is happening now (parts in doubt, requests waiting on the rate
    limit, downloads retrying, conversations waiting for a download host), read whenever the
    bar or the log line is drawn; :meth:`refresh` draws them when nothing settles.
    """

    def __init__(
        self,
        label: str,
        *,
        enabled: bool,
        total: int | None = None,
        log_every_s: float = LOG_EVERY_S,
        gauges: Gauges | None = None,
    ):
        self.label = label
        self.counts: dict[str, int] = {}
        self.gauges = gauges
        self._bar: tqdm[Any] | None = None
        self._enabled = enabled
        self._total = total
        self._log_every = log_every_s
        self._last_log = time.monotonic()
        self._started = time.monotonic()
        self._above: _AboveTheBar | None = None
        self.done = 0

    @staticmethod
    def wanted(no_progress: bool, quiet: bool) -> bool:
        """A bar only on a terminal, and only when not asked for silence."""
        return not no_progress and not quiet and sys.stderr.isatty()

    def __enter__(self) -> Progress:
        if self._enabled:
            stream = sys.stderr
            self._bar = tqdm(
                total=self._total, desc=self.label, unit="conv", file=stream, dynamic_ncols=True
            )
            self._above = _AboveTheBar(self, stream)
            self._above.install()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            try:
                if self._above is not None:
                    self._above.uninstall()
            finally:
                self._bar.set_postfix(self.postfix(), refresh=False)
                self._bar.close()
                self._bar = None
        else:
            self._log_line()

    def update(self, outcome: str, amount: int = 1) -> None:
        """One conversation settled with ``outcome`` (imported, invalid, failed, ...)."""
        self.counts[outcome] = self.counts.get(outcome, 0) + amount
        self.done += amount
        if self._bar is not None:
            self._bar.set_postfix(self.postfix(), refresh=False)
            self._bar.update(amount)
        elif time.monotonic() - self._last_log >= self._log_every:
            self._log_line()

    def note(self, key: str, amount: int = 1) -> None:
        """Count something that is not a settled conversation (throttled, retries)."""
        self.counts[key] = self.counts.get(key, 0) + amount
        if self._bar is not None:
            self._bar.set_postfix(self.postfix(), refresh=False)

    def refresh(self) -> None:
        """Draw what is happening now, also when nothing settles (called every second or so):
        the bar's postfix, or the periodic log line when its time has come."""
        if self._bar is not None:
            self._bar.set_postfix(self.postfix(), refresh=True)
        elif time.monotonic() - self._last_log >= self._log_every:
            self._log_line()

    def postfix(self) -> dict[str, int]:
        """The bar's postfix: :data:`POSTFIX_KEYS` from the counts and the gauges."""
        values = {**self.counts, **(self.gauges() if self.gauges is not None else {})}
        return {
            key: values.get(key, 0)
            for key in POSTFIX_KEYS
            if key in ALWAYS_SHOWN or values.get(key, 0)
        }

    def write_above(self, text: str) -> None:
        """Write ``text`` (whole lines) on the terminal above the bar, then draw the bar again."""
        bar = self._bar
        stream = self._above.stream if self._above is not None else sys.stderr
        if bar is None:
            stream.write(text)
            stream.flush()
            return
        with bar.get_lock():  # type: ignore[no-untyped-call]
            bar.clear(nolock=True)
            stream.write(text)
            stream.flush()
            bar.refresh(nolock=True)

    def _log_line(self) -> None:
        self._last_log = time.monotonic()
        rate = self.done / max(time.monotonic() - self._started, 1e-9)
        shown = {**self.counts, **(self.gauges() if self.gauges is not None else {})}
        details = ", ".join(f"{k} {v}" for k, v in sorted(shown.items()) if v or k in self.counts)
        eta = ""
        if self._total:
            remaining = max(self._total - self.done, 0)
            eta = f", ETA {remaining / rate:.0f}s" if rate > 0 else ""
        log.info(
            "%s: %d done (%s), %.1f/s%s", self.label, self.done, details or "nothing yet", rate, eta
        )


class _AboveTheBar:
    """Stands for the terminal's stderr while the bar is drawn: whole lines go above the bar.

    :meth:`install` puts it in ``sys.stderr`` and in every logging handler that writes to the
    terminal's stderr; :meth:`uninstall` puts the terminal back (a line left unfinished is
    written then).
    """

    def __init__(self, progress: Progress, stream: TextIO) -> None:
        self.progress = progress
        self.stream = stream
        self.encoding: str = getattr(stream, "encoding", None) or "utf-8"
        self.errors: str | None = getattr(stream, "errors", None)
        self._pending = ""
        self._saved_stderr: TextIO | None = None
        self._handlers: list[logging.StreamHandler[Any]] = []

    # --- the stream ---------------------------------------------------------------------------

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            lines, _, self._pending = self._pending.rpartition("\n")
            self.progress.write_above(lines + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return bool(getattr(self.stream, "closed", False))

    # --- routing ------------------------------------------------------------------------------

    def install(self) -> None:
        self._saved_stderr = sys.stderr
        sys.stderr = self
        terminal = {id(self.stream), id(sys.__stderr__)}
        for handler in _stream_handlers():
            if id(handler.stream) in terminal:
                handler.setStream(self)
                self._handlers.append(handler)

    def uninstall(self) -> None:
        for handler in self._handlers:
            handler.setStream(self.stream)
        self._handlers = []
        if sys.stderr is self and self._saved_stderr is not None:
            sys.stderr = self._saved_stderr
        if self._pending:
            pending, self._pending = self._pending, ""
            self.progress.write_above(pending + "\n")


def _stream_handlers() -> list[logging.StreamHandler[Any]]:
    """Every handler of every logger that writes to a stream (files excepted)."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    found: dict[int, logging.StreamHandler[Any]] = {}
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                found[id(handler)] = handler
    return list(found.values())
