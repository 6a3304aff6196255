"""``--log-json`` says what each read met: one ``read_counts`` event per read, from the real CLI,
whose counts add up (every record read is staged, read directly, passed over or unparsed) and
match the export."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.sandbox.testing import SandboxConfig, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
ZENDESK = ROOT / "samples" / "zendesk" / "export"
CANONICAL = ROOT / "samples" / "canonical" / "export"
BROKEN = ROOT / "tests" / "data" / "broken"
OUTCOMES = ("staged", "direct", "passed_over", "unparsed")


def _read_counts(log: Path) -> dict[str, Any]:
    events = [json.loads(line) for line in log.read_text().splitlines()]
    (counts,) = [event for event in events if event["event"] == "read_counts"]
    return counts


def _validate(tmp_path: Path, export: Path, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``read_counts`` event and the report of ``validate``."""
    log, report = tmp_path / "events.jsonl", tmp_path / "report.json"
    log.unlink(missing_ok=True)
    result = CliRunner().invoke(
        cli,
        ["validate", str(export), "--log-json", str(log), "--report", str(report), "-q", *extra],
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    return _read_counts(log), json.loads(report.read_text())


def _adds_up(counts: dict[str, Any]) -> None:
    """Every record read is staged, read directly, passed over or unparsed; by stream too."""
    assert counts["records_read"] == sum(counts[f"records_{o}"] for o in OUTCOMES)
    for stream, entry in counts["by_stream"].items():
        assert entry["read"] == sum(entry[o] for o in OUTCOMES), stream
    for outcome in OUTCOMES:
        assert counts[f"records_{outcome}"] == sum(e[outcome] for e in counts["by_stream"].values())


def _lines(path: Path) -> int:
    return sum(
        1 for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line
    )


def _zendesk_records(export: Path) -> dict[str, int]:
    """The records of the Zendesk sample by stream, counted from its files."""
    return {
        "tickets": _lines(export / "tickets.json"),
        "comments": _lines(export / "ticket_comments.json"),
        "users": len(json.loads((export / "users.json").read_text())["users"]),
        "ticket_fields": len(
            json.loads((export / "ticket_fields.json").read_text())["ticket_fields"]
        ),
    }


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_zendesk_sample_every_record_is_staged(tmp_path: Path, jobs: str) -> None:
    counts, report = _validate(tmp_path, ZENDESK, "--jobs", jobs)
    _adds_up(counts)
    expected = _zendesk_records(ZENDESK)
    assert counts["format"] == "zendesk"
    assert counts["counted"] == "records"
    assert {s: e["staged"] for s, e in counts["by_stream"].items()} == expected
    assert counts["records_read"] == counts["records_staged"] == sum(expected.values())
    assert (counts["records_passed_over"], counts["records_unparsed"]) == (0, 0)
    assert counts["conversations"] == report["source_conversations"] == expected["tickets"]


def test_zendesk_records_passed_over_and_unparsed_are_counted(tmp_path: Path) -> None:
    """A record of no role and a broken line added to the tickets file: one passed over, one
    unparsed (an invalid conversation), the rest staged as before."""
    export = tmp_path / "export"
    shutil.copytree(ZENDESK, export)
    with (export / "tickets.json").open("a", encoding="utf-8") as tickets:
        tickets.write('{"id": 77, "name": "Support group", "created_at": "2023-01-01T00:00:00Z"}\n')
        tickets.write('{"id": 78, "via": {"channel": \n')
    counts, report = _validate(tmp_path, export)
    _adds_up(counts)
    expected = _zendesk_records(ZENDESK)
    assert counts["records_read"] == sum(expected.values()) + 2
    assert counts["records_staged"] == sum(expected.values())
    assert (counts["records_passed_over"], counts["records_unparsed"]) == (1, 1)
    assert counts["by_stream"]["tickets"]["passed_over"] == 1
    assert counts["by_stream"]["tickets"]["unparsed"] == 1
    assert counts["conversations"] == report["source_conversations"] == expected["tickets"] + 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_canonical_sample_every_record_is_a_conversation(tmp_path: Path, jobs: str) -> None:
    counts, report = _validate(tmp_path, CANONICAL, "--jobs", jobs)
    _adds_up(counts)
    lines = _lines(CANONICAL / "conversations.jsonl")
    assert counts["format"] == "canonical"
    assert counts["counted"] == "conversations"
    assert counts["records_read"] == counts["records_direct"] == lines
    assert counts["conversations"] == report["source_conversations"] == lines
    assert counts["by_stream"] == {
        "conversations": {
            "read": lines,
            "direct": lines,
            "staged": 0,
            "passed_over": 0,
            "unparsed": 0,
        }
    }


def test_canonical_lines_that_cannot_be_parsed_are_counted_the_same_whatever_jobs(
    tmp_path: Path,
) -> None:
    """The broken export: its lines that are not JSON are unparsed, counted alike whether the
    lines are read here (``--jobs 1``) or in a planning worker (``--jobs 2``)."""
    one, report = _validate(tmp_path, BROKEN, "--jobs", "1")
    two, _ = _validate(tmp_path, BROKEN, "--jobs", "2")
    for counts in (one, two):
        _adds_up(counts)
    unparsed = [e for e in report["errors"] if e["code"] == "parse" and e["stage"] == "read"]
    assert one["records_unparsed"] == len(unparsed) > 0
    drop = ("ts",)
    assert {k: v for k, v in one.items() if k not in drop} == {
        k: v for k, v in two.items() if k not in drop
    }
    lines = sum(_lines(path) for path in BROKEN.glob("*.jsonl"))
    assert one["records_read"] == one["conversations"] == report["source_conversations"] == lines


def test_convert_emits_the_counts_too(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        cli,
        ["convert", str(ZENDESK), "-o", str(tmp_path / "out.jsonl"), "--log-json", str(log), "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    counts = _read_counts(log)
    _adds_up(counts)
    assert counts["records_staged"] == sum(_zendesk_records(ZENDESK).values())


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("HELPSCOUT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HELPSCOUT_APP_ID", "sandbox")
    monkeypatch.setenv("HELPSCOUT_APP_SECRET", "sandbox")


@pytest.mark.usefixtures("sandbox_env")
@pytest.mark.parametrize("command", ["plan", "run"])
def test_plan_and_run_emit_the_counts(tmp_path: Path, command: str) -> None:
    """``plan`` and ``run`` against the sandbox: one ``read_counts`` event, as ``validate``'s."""
    log = tmp_path / f"{command}-events.jsonl"
    offline, _ = _validate(tmp_path, ZENDESK)
    extra = ["--attachments", "link", "--rate-limit", "60000"]  # no URL fetched, no pacing
    if command == "run":
        extra += ["--checkpoint", str(tmp_path / "cp.sqlite"), "--no-progress"]
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = CliRunner().invoke(
            cli,
            [
                command,
                str(ZENDESK),
                "--mailbox",
                "85",
                "--api-url",
                sandbox.url,
                "--log-json",
                str(log),
                "-q",
                *extra,
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    counts = _read_counts(log)
    _adds_up(counts)
    drop = ("ts",)
    assert {k: v for k, v in counts.items() if k not in drop} == {
        k: v for k, v in offline.items() if k not in drop
    }
