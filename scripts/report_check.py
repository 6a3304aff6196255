"""Whether one stage of a migration counts as made; migrate.mk asks it after every command.

    python scripts/report_check.py STAGE REPORT EXIT_CODE [--name NAME] [--stop-on-invalid]
                                   [--show N]

STAGE is ``validate``, ``plan``, ``run`` or ``verify``; REPORT the ``--report`` file the command
wrote (it may be missing when the command stopped before writing it); EXIT_CODE the command's
exit code. Exits 0 when the stage is made (make then renames the report into place), 1 when it
is not, with one line on stderr that says why and what to do. Invalid conversations and
mismatches are listed (the first ``--show``). Standard library only: any Python 3 runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

STAGES = ("validate", "plan", "run", "verify")

EXIT_MEANING = {
    2: "usage, configuration, credentials or an unreadable input (nothing was sent)",
    3: "stopped by a fatal answer from the API (credentials revoked, mailbox gone, 403)",
    130: "interrupted",
}


def load(path: Path) -> dict[str, Any] | None:
    """The report, or None when it is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def number(report: dict[str, Any], key: str) -> int:
    value = report.get(key)
    return value if isinstance(value, int) else 0


def list_errors(say: Any, report: dict[str, Any], show: int, stage: str) -> None:
    """The first ``show`` error entries of conversations (invalid or failed)."""
    entries = [e for e in report.get("errors") or [] if isinstance(e, dict)]
    for entry in entries[:show]:
        where = entry.get("location") or "?"
        source = entry.get("source_id")
        say(f"  {source if source is not None else '-'} ({where}): {entry.get('message', '')}")
    if len(entries) > show:
        say(f"  ... and {len(entries) - show} more in the {stage} report")


def list_mismatches(say: Any, report: dict[str, Any], show: int) -> None:
    rows = [m for m in report.get("mismatches") or [] if isinstance(m, dict)]
    for row in rows[:show]:
        part = row.get("part")
        thread = row.get("thread")
        place = "".join(
            [
                str(row.get("source_id")),
                f" part {part}" if part is not None else "",
                f" thread {thread}" if thread is not None else "",
            ]
        )
        say(
            f"  {place}: {row.get('field')} expected {row.get('expected')!r}"
            f" found {row.get('found')!r}"
        )
    if len(rows) > show:
        say(f"  ... and {len(rows) - show} more in the verify report")


def check(
    stage: str,
    report_path: Path,
    code: int,
    *,
    name: str = "",
    stop_on_invalid: bool = False,
    show: int = 10,
    out: Any = None,
) -> bool:
    """True when ``stage`` counts as made; explains itself on ``out`` (stderr by default)."""
    stream = out if out is not None else sys.stderr
    prefix = f"[{name}] " if name else ""

    def say(text: str) -> None:
        print(f"{prefix}{text}", file=stream)

    report = load(report_path)
    if code not in (0, 1):
        meaning = EXIT_MEANING.get(code, "failed")
        say(f"{stage}: exit {code}, {meaning}: not made")
        if stage == "plan" and code == 2 and report is not None:
            for blocker in report.get("blockers") or []:
                say(f"  blocker: {blocker}")
        if stage == "run" and code in (3, 130):
            say("  the checkpoint is consistent: run make again to resume")
        return False
    if report is None:
        say(f"{stage}: exit {code} but no readable report at {report_path}: not made")
        return False

    invalid = number(report, "invalid")
    if stage == "verify":
        mismatches = report.get("mismatches") or []
        if code == 0 and not mismatches:
            checked = number(report, "conversations_checked")
            say(f"verify: {checked} conversations checked, no mismatch")
            return True
        say(f"verify: {len(mismatches)} mismatches: not made")
        list_mismatches(say, report, show)
        return False

    if stage == "run":
        failed = number(report, "failed")
        accounted = sum(
            number(report, key) for key in ("imported", "already_imported", "invalid", "failed")
        )
        if failed:
            say(f"run: {failed} conversations failed: not made; run make again to retry them")
            list_errors(say, report, show, stage)
            return False
        if accounted != number(report, "source_conversations"):
            say(
                f"run: {accounted} of {number(report, 'source_conversations')} conversations"
                " accounted for: not made; run make again to resume"
            )
            return False
        say(
            f"run: {number(report, 'imported')} imported,"
            f" {number(report, 'already_imported')} already imported, {invalid} invalid"
        )
    elif stage == "validate":
        say(f"validate: {number(report, 'valid')} valid, {invalid} invalid")
    else:
        say(
            f"plan: {number(report, 'conversations')} conversations, {invalid} invalid,"
            f" {number(report, 'requests')} requests, about {report.get('estimated_s')} s"
        )

    if invalid or code == 1:
        if stop_on_invalid:
            say(f"{stage}: {invalid} invalid conversations and STOP_ON_INVALID is set: not made")
            list_errors(say, report, show, stage)
            return False
        if stage != "plan":  # plan lists the same conversations validate listed
            say(f"{stage}: {invalid} invalid conversations, left out (not a stop):")
            list_errors(say, report, show, stage)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("report", type=Path)
    parser.add_argument("code", type=int)
    parser.add_argument("--name", default="")
    parser.add_argument(
        "--stop-on-invalid",
        default="",
        nargs="?",
        const="1",
        help="any value but empty, 0, no or false stops the chain on invalid conversations",
    )
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args(argv)
    stop = args.stop_on_invalid.strip().lower() not in ("", "0", "no", "false", "off")
    made = check(
        args.stage, args.report, args.code, name=args.name, stop_on_invalid=stop, show=args.show
    )
    return 0 if made else 1


if __name__ == "__main__":
    sys.exit(main())
