"""While the bar is drawn, whatever goes to standard error lands above it, whole: a logging
handler made before the bar, click.echo(err=True), print(file=sys.stderr), a line written in
two pieces; and everything is put back when the bar closes."""

from __future__ import annotations

import io
import logging
import sys

import click
import pytest

from importer.progress import Progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def screen(drawn: str) -> list[str]:
    """The lines shown: a carriage return goes back to the start of the line."""
    lines = []
    for raw in drawn.split("\n"):
        line: list[str] = []
        for piece in raw.split("\r"):
            line[: len(piece)] = piece
        lines.append("".join(line).rstrip())
    return [line for line in lines if line]


def test_everything_written_to_stderr_goes_above_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("importer: %(message)s"))
    logger = logging.getLogger("importer.test_bar")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with Progress("run", enabled=True, total=4, gauges=lambda: {"rate-limited": 2}) as progress:
            progress.update("imported")
            logger.warning("a warning from a handler made before the bar")
            click.echo("an echo to stderr", err=True)
            print("a print", "to stderr", file=sys.stderr)
            sys.stderr.write("a line in ")
            sys.stderr.write("two pieces\n")
            progress.update("failed")
            progress.refresh()
        assert sys.stderr is terminal
        assert handler.stream is terminal
    finally:
        logger.removeHandler(handler)
    lines = screen(terminal.getvalue())
    for whole in (
        "importer: a warning from a handler made before the bar",
        "an echo to stderr",
        "a print to stderr",
        "a line in two pieces",
    ):
        assert whole in lines, lines
    bars = [line for line in lines if line.startswith("run:")]
    assert bars
    assert all("conv" in line for line in bars), bars  # no message drawn into a bar
    assert "imported=1, failed=1, rate-limited=2" in bars[-1]
