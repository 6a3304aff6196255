"""The real CLI on real files: samples match their expected reports, broken records are named."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli

from .conftest import two_file_csv_export

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p.parent.name for p in (ROOT / "samples").glob("*/export"))


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_validates_to_its_expected_report(name: str, tmp_path: Path) -> None:
    """Every key of the report but elapsed_s equals the sample's expected report."""
    report = tmp_path / "report.json"
    code, output = invoke(
        "validate", f"samples/{name}/export", "--report", str(report), "--no-progress"
    )
    assert 0 == code, output
    actual = json.loads(report.read_text())
    actual.pop("elapsed_s")
    expected = json.loads((ROOT / "samples" / name / "expected-validate.json").read_text())
    assert expected == actual


def test_samples_cover_what_the_issue_asks_for() -> None:
    """A 250-message conversation, a chat, a phone call, notes, unicode and a trimmed name."""
    records = [
        json.loads(line) for line in (ROOT / "samples/canonical/export/conversations.jsonl").open()
    ]
    assert any(len(r["messages"]) == 250 for r in records)
    assert {"chat", "phone"} <= {r.get("type") for r in records}
    assert any(m.get("private") for r in records for m in r["messages"])
    assert any(not r["customer"].get("email") for r in records)
    expected = json.loads((ROOT / "samples/canonical/expected-validate.json").read_text())
    assert any(
        w["code"] == "customer.lastName" and "trimmed" in w["message"] for w in expected["warnings"]
    )
    assert 1 <= expected["split_conversations"]


def test_csv_sample_covers_what_the_issue_asks_for() -> None:
    """The CSV export too: 250 messages in one conversation, chat, phone, notes, a trimmed name."""

    folder = ROOT / "samples/csv/export"
    with (folder / "conversations.csv").open(encoding="utf-8-sig", newline="") as handle:
        conversations = list(csv.DictReader(handle))
    with (folder / "messages.csv").open(encoding="utf-8-sig", newline="") as handle:
        messages = list(csv.DictReader(handle))
    per_conversation = Counter(m["conversation_id"] for m in messages)
    assert 250 in per_conversation.values()
    assert {"chat", "phone"} <= {c["channel"] for c in conversations}
    assert any(m["private"] == "true" for m in messages)
    assert any(any(ord(ch) > 127 for ch in c["subject"]) for c in conversations)
    expected = json.loads((ROOT / "samples/csv/expected-validate.json").read_text())
    assert any(
        w["code"] == "customer.lastName" and "trimmed" in w["message"] for w in expected["warnings"]
    )
    assert 1 <= expected["split_conversations"]


@pytest.mark.parametrize(("folder", "invalid"), [("broken", 13), ("broken-csv", 4)])
def test_broken_records_are_each_named_with_file_line_and_reason(
    tmp_path: Path, folder: str, invalid: int
) -> None:
    """Exit 1, the books balance, and every invalid record has a location and a reason."""
    report_path, dead_path = tmp_path / "r.json", tmp_path / "dead.jsonl"
    code, _ = invoke(
        "validate",
        f"tests/data/{folder}",
        "--report",
        str(report_path),
        "--dead-letter",
        str(dead_path),
        "-q",
    )
    report = json.loads(report_path.read_text())
    assert 1 == code
    assert report["source_conversations"] == report["valid"] + report["invalid"]
    assert invalid == report["invalid"]
    conversation_errors = [e for e in report["errors"] if e["stage"] in ("read", "validate")]
    assert invalid == len(conversation_errors)
    for entry in conversation_errors:
        assert re.match(rf"tests/data/{folder}/[\w.-]+:\d+(:\d+)?$", entry["location"]), entry
        assert entry["message"]
    dead = [json.loads(line) for line in dead_path.read_text().splitlines()]
    assert invalid == len(dead)
    assert all("_dead_letter" in line for line in dead)


def test_dead_letters_can_be_fed_back_as_canonical(tmp_path: Path) -> None:
    """The dead-letter file is canonical JSONL: fixed records validate again."""
    dead_path = tmp_path / "dead.jsonl"
    invoke("validate", "tests/data/broken", "--dead-letter", str(dead_path), "-q")
    fixed = []
    for line in dead_path.read_text().splitlines():
        record = json.loads(line)
        if record.get("source_id") == "bad-email":
            record["customer"]["email"] = "someone@example.com"
            fixed.append(json.dumps(record))
    (tmp_path / "fixed.jsonl").write_text("\n".join(fixed) + "\n")
    code, output = invoke("validate", str(tmp_path / "fixed.jsonl"), "-q", "--format", "canonical")
    assert 0 == code, output


def test_a_record_that_cannot_be_parsed_keeps_its_text_in_the_dead_letter_file(
    tmp_path: Path,
) -> None:
    """Line 2 of the broken export is not JSON: its dead letter holds the line, to fix it."""
    dead_path = tmp_path / "dead.jsonl"
    invoke("validate", "tests/data/broken", "--dead-letter", str(dead_path), "-q")
    source_line = (ROOT / "tests/data/broken/conversations.jsonl").read_text().splitlines()[1]
    letters = [json.loads(line) for line in dead_path.read_text().splitlines()]
    unparsed = [
        d for d in letters if d["_dead_letter"]["location"].endswith("conversations.jsonl:2")
    ]
    assert [source_line] == [d.get("_raw") for d in unparsed]
    assert "not valid JSON" in unparsed[0]["_dead_letter"]["message"]


def test_convert_writes_canonical_that_validates_the_same(tmp_path: Path) -> None:
    """convert -o then validate of its output gives the same counts as validating the source."""
    out = tmp_path / "out.jsonl"
    code, output = invoke("convert", "samples/csv/export", "-o", str(out), "-q")
    assert 0 == code, output
    report = tmp_path / "r.json"
    code, output = invoke("validate", str(out), "--report", str(report), "-q")
    assert 0 == code, output
    expected = json.loads((ROOT / "samples/csv/expected-validate.json").read_text())
    actual = json.loads(report.read_text())
    for key in ("source_conversations", "valid", "threads", "attachments"):
        assert expected[key] == actual[key]
    written = [
        attachment
        for line in out.read_text().splitlines()
        for message in json.loads(line)["messages"]
        for attachment in message.get("attachments", [])
    ]
    assert written  # the CSV sample has a receipt
    for attachment in written:  # every field the contract lists for an attachment
        assert {"file_name", "content_type", "size", "data_base64"} <= attachment.keys()
        assert attachment["size"] == len(base64.b64decode(attachment["data_base64"]))


def test_convert_schema_is_json_schema() -> None:
    """--schema prints the canonical line's JSON schema."""
    code, output = invoke("convert", "--schema")
    assert 0 == code
    schema = json.loads(output)
    assert {"source_id", "customer", "messages"} <= set(schema["required"])


def test_missing_input_exits_2_naming_it() -> None:
    """An input that does not exist stops before anything is read."""
    code, output = invoke("validate", "no/such/export")
    assert 2 == code
    assert "no/such/export" in output


@pytest.mark.parametrize(
    ("sample", "platform"),
    [
        ("zoho_desk_nango_ticket_and_threads.json", "Zoho Desk"),
        ("hubspot_nango_crm_tickets.json", "HubSpot"),
    ],
)
def test_platform_without_reader_exits_2_with_the_way_forward(sample: str, platform: str) -> None:
    """An export of a platform no reader reads is recognised and refused by name, with a
    message that says what to do."""
    code, output = invoke("validate", f"tests/data/real/{sample}")
    assert 2 == code, output
    assert f"looks like a {platform} export" in output
    assert "convert it to canonical JSONL" in output


@pytest.mark.parametrize(
    ("sample", "platform", "conversations"),
    [
        ("zendesk_nango_incremental_tickets.json", "zendesk", 4),
        ("freshdesk_python-freshdesk_ticket_1.json", "freshdesk", 1),
        ("intercom_nango_conversation_5.json", "intercom", 1),
        ("front_nango_conversation_messages.json", "front", 1),
        ("gorgias_nango_ticket_153006867.json", "gorgias", 1),
    ],
)
def test_platform_with_a_reader_is_read(
    tmp_path: Path, sample: str, platform: str, conversations: int
) -> None:
    """A platform whose reader is built is recognised and read, not refused: every
    conversation of its real sample is valid."""
    report = tmp_path / "r.json"
    code, output = invoke("validate", f"tests/data/real/{sample}", "--report", str(report), "-q")
    assert 0 == code, output
    written = json.loads(report.read_text())
    assert written["format"] == platform
    assert (written["source_conversations"], written["valid"]) == (conversations, conversations)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--limit", "3"], '"source_conversations": 3'),
        (["--since", "2023-06-01", "--until", "2023-08-31"], '"source_conversations": 10'),
        (["--status-policy", "source", "--tag", "migrated"], '"valid": 30'),
    ],
)
def test_selection_and_policy_options(tmp_path: Path, args: list[str], needle: str) -> None:
    """--limit, --since/--until, --status-policy and --tag take effect."""
    report = tmp_path / "r.json"
    code, output = invoke(
        "validate", "samples/canonical/export", "--report", str(report), "-q", *args
    )
    assert 0 == code, output
    assert needle in report.read_text()


def test_a_repeated_source_id_is_invalid_in_validate_as_in_run(tmp_path: Path) -> None:
    """The second conversation with an id already seen is invalid, named with both lines."""
    line = json.dumps(
        {
            "source_id": "dup-1",
            "subject": "Twice",
            "customer": {"email": "twice@example.com"},
            "messages": [{"created_at": "2024-01-01T00:00:00Z", "author_role": "customer",
                          "body_text": "hello"}],
        }
    )  # fmt: skip
    export = tmp_path / "twice.jsonl"
    export.write_text(f"{line}\n{line}\n", encoding="utf-8")
    report_path = tmp_path / "r.json"
    code, _ = invoke("validate", str(export), "--report", str(report_path), "-q")
    report = json.loads(report_path.read_text())
    assert (1, 2, 1, 1) == (
        code,
        report["source_conversations"],
        report["valid"],
        report["invalid"],
    )
    assert report["errors"][0]["location"].endswith("twice.jsonl:2")
    assert "twice.jsonl:1" in report["errors"][0]["message"]


@pytest.mark.parametrize("flag", ["--report", "--dead-letter", "--log-json"])
def test_an_output_in_a_missing_folder_exits_2_before_any_work(tmp_path: Path, flag: str) -> None:
    target = tmp_path / "missing" / "out.json"
    code, output = invoke("validate", "samples/canonical/export", flag, str(target), "-q")
    assert 2 == code
    assert f"{flag} {target}" in output
    assert "does not exist" in output


def test_report_inputs_are_spelled_as_given(tmp_path: Path) -> None:
    report_path = tmp_path / "r.json"
    invoke("validate", "samples/canonical/export/", "--report", str(report_path), "-q")
    assert ["samples/canonical/export/"] == json.loads(report_path.read_text())["inputs"]


def test_csv_findings_about_one_field_name_its_column(tmp_path: Path) -> None:
    """A bad message time and a bad customer email in a CSV export: file:line:column each."""
    export = two_file_csv_export(
        tmp_path,
        "conversation_id,subject,customer_email\n1,One,nobody@\n2,Two,b@example.com\n",
        "conversation_id,message_id,created_at,author_role,body_text\n"
        "1,m1,2024-01-01,customer,hi\n"
        "2,m2,last tuesday,customer,hello\n",
    )
    report_path = tmp_path / "r.json"
    code, _ = invoke("validate", str(export), "--report", str(report_path), "-q")
    errors = json.loads(report_path.read_text())["errors"]
    assert 1 == code
    assert [
        (f"{export / 'conversations.csv'}:2:3", "customer.email"),
        (f"{export / 'messages.csv'}:3:3", "messages[0].created_at"),
    ] == [(e["location"], e["code"]) for e in errors]


def test_dead_letters_carry_path_attachments_inline_so_they_feed_back_anywhere(
    tmp_path: Path,
) -> None:
    """An invalid CSV conversation with a file: its dead letter holds the bytes, and once fixed
    it validates from another folder with its attachment."""
    export = two_file_csv_export(
        tmp_path,
        "conversation_id,subject,customer_email\n1,One,bad@\n",
        "conversation_id,message_id,created_at,author_role,body_text,attachments\n"
        "1,m1,2024-01-01T00:00:00Z,customer,see file,files/a.txt\n",
    )
    (export / "files").mkdir()
    (export / "files" / "a.txt").write_bytes(b"hello")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dead_path = elsewhere / "dead.jsonl"
    code, _ = invoke("validate", str(export), "--dead-letter", str(dead_path), "-q")
    assert 1 == code
    (letter,) = [json.loads(line) for line in dead_path.read_text().splitlines()]
    (attachment,) = letter["messages"][0]["attachments"]
    assert "path" not in attachment
    assert b"hello" == base64.b64decode(attachment["data_base64"])
    letter["customer"]["email"] = "good@example.com"
    del letter["_dead_letter"]
    fixed = elsewhere / "fixed.jsonl"
    fixed.write_text(json.dumps(letter) + "\n")
    report_path = tmp_path / "r.json"
    code, output = invoke("validate", str(fixed), "--report", str(report_path), "-q")
    assert 0 == code, output
    assert 1 == json.loads(report_path.read_text())["attachments"]


def _dated(source_id: str, created_at: str | int, email: str, body: str = "hello") -> str:
    return json.dumps(
        {
            "source_id": source_id,
            "subject": "Dated",
            "created_at": created_at,
            "customer": {"email": email},
            "messages": [{"created_at": created_at, "author_role": "customer", "body_text": body}],
        }
    )


def test_since_and_until_leave_out_invalid_conversations_of_other_dates(tmp_path: Path) -> None:
    """An invalid conversation whose time can be read is selected by its date like a valid one,
    so a range or a sample run is not filled with old broken records."""
    export = tmp_path / "range.jsonl"
    lines = [
        _dated("old-bad", "2019-03-01T10:00:00Z", "bad@"),
        _dated("old-empty", "2019-03-02T10:00:00Z", "a@example.com", body=""),
        _dated("no-time", "yesterday", "b@example.com"),
        _dated("new-ok", "2024-07-01T10:00:00Z", "c@example.com"),
    ]
    export.write_text("\n".join(lines) + "\n")
    report = tmp_path / "r.json"
    code, output = invoke(
        "validate", str(export), "--since", "2024-06-01", "--limit", "2", "--report", str(report)
    )
    body = json.loads(report.read_text())
    assert 1 == code, output  # the record whose time cannot be read is never silently dropped
    assert (2, 1, 1) == (body["source_conversations"], body["valid"], body["invalid"])
    assert ["no-time"] == [entry["source_id"] for entry in body["errors"]]


def test_until_given_as_epoch_seconds_is_a_moment_not_a_day(tmp_path: Path) -> None:
    """--until 1704153600 is 2024-01-02T00:00:00Z itself, not the end of a day."""
    export = tmp_path / "epoch.jsonl"
    lines = [
        _dated("in", "2024-01-01T12:00:00Z", "a@example.com"),
        _dated("after", "2024-01-02T03:00:00Z", "b@example.com"),
    ]
    export.write_text("\n".join(lines) + "\n")
    report = tmp_path / "r.json"
    args = ["--since", "1704067200", "--until", "1704153600", "--report", str(report)]
    code, output = invoke("validate", str(export), *args)
    assert 0 == code, output
    assert 1 == json.loads(report.read_text())["source_conversations"]


def test_csv_dead_letters_keep_source_and_utc_times_so_a_refeed_is_the_same_customer(
    tmp_path: Path,
) -> None:
    """A CSV dead letter says ``source: csv`` (placeholder addresses on re-feed stay those of the
    export) and its zone-less times are written in UTC (a re-feed needs no --source-tz)."""
    export = two_file_csv_export(
        tmp_path,
        "conversation_id,subject,created_at,customer_id\n"
        "P1,One,2024-03-01 10:00:00,Cust.9\nP3,Three,2024-03-01 10:00:00,Cust.9\n",
        "conversation_id,message_id,created_at,author_role,body_text\n"
        "P1,m1,2024-03-01 10:00:00,customer,hello\n"
        "P3,m1,2024-03-01 10:00:00,customer,\n",
    )
    dead_path = tmp_path / "dead.jsonl"
    options = ["-q", "--no-email-policy", "placeholder", "--source-tz", "Europe/Paris"]
    code, _ = invoke("validate", str(export), "--dead-letter", str(dead_path), *options)
    assert 1 == code  # P3's only message is empty
    (letter,) = [json.loads(line) for line in dead_path.read_text().splitlines()]
    assert ("csv", "2024-03-01T09:00:00Z") == (letter["source"], letter["created_at"])
    assert "2024-03-01T09:00:00Z" == letter["messages"][0]["created_at"]

    from importer.planning.records import plan_context, plan_record
    from importer.readers import SourceRecord, open_export
    from importer.settings import TransformSettings

    settings = TransformSettings(no_email_policy="placeholder", source_tz="Europe/Paris")
    with open_export([export]) as csv_export:
        first = next(iter(csv_export.records()))
        csv_plan = plan_record(first, plan_context(settings, csv_export, offline=True))
    letter["messages"][0]["body_text"] = "fixed"
    del letter["_dead_letter"]
    refeed = tmp_path / "fixed.jsonl"
    refeed.write_text(json.dumps(letter) + "\n")
    with open_export([refeed]) as canonical_export:
        again = SourceRecord(str(refeed), letter, "P3")
        refed_plan = plan_record(again, plan_context(settings, canonical_export, offline=True))
    customer = csv_plan.parts[0].payload["customer"]  # type: ignore[union-attr]
    assert customer == refed_plan.parts[0].payload["customer"]  # type: ignore[union-attr]


def test_report_dash_is_standard_output_and_the_table_goes_to_standard_error() -> None:
    """``--report -`` gives a script pure JSON on stdout; the table moves to stderr."""
    result = CliRunner().invoke(
        cli, ["validate", "samples/csv/export", "--report", "-", "--no-progress"]
    )
    assert 0 == result.exit_code, result.output
    assert 24 == json.loads(result.stdout)["valid"]
    assert "conversations read" in result.stderr
    assert not (ROOT / "-").exists()


def test_a_dead_letter_fed_back_with_its_raw_text_unfixed_stays_invalid(tmp_path: Path) -> None:
    """A CSV conversation with a broken row: its dead letter keeps the good rows and the broken
    row's text; fed back as it is, the broken row's message would vanish, so it is refused."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "messages.csv").write_text(
        "conversation_id,subject,customer_email,message_id,created_at,author_role,body_text\n"
        "A,Sub,a@example.com,m1,2024-01-01 10:00,customer,hi,extra\n"
        "A,Sub,a@example.com,m2,2024-01-01 11:00,customer,fine\n"
    )
    dead_path = tmp_path / "dead.jsonl"
    assert 1 == invoke("validate", str(export), "--dead-letter", str(dead_path), "-q")[0]
    report = tmp_path / "r.json"
    code, _ = invoke("validate", str(dead_path), "--format", "canonical", "--report", str(report))
    assert 1 == code
    (entry,) = json.loads(report.read_text())["errors"]
    assert "still holds _raw" in entry["message"]


def test_export_warnings_survive_a_date_range_that_leaves_out_the_first_conversation(
    tmp_path: Path,
) -> None:
    """A stream nobody reads is warned about once, also when --since leaves out the conversation
    the warning rode on (it rides on the next one taken, or is reported on its own)."""
    export = tmp_path / "export"
    shutil.copytree(ROOT / "samples/zendesk/export", export)
    brand = {"id": 1, "name": "Northwind", "brand_url": "https://northwind.zendesk.com"}
    (export / "brands.jsonl").write_text(
        json.dumps({"type": "RECORD", "stream": "brands", "record": brand}) + "\n"
    )
    for since, name in (("2023-04-20", "some"), ("2099-01-01", "none")):
        report_path = tmp_path / f"{name}.json"
        invoke("validate", str(export), "--since", since, "--report", str(report_path))
        report = json.loads(report_path.read_text())
        codes = [w["code"] for w in report["warnings"]]
        assert codes.count("unused_records") == 1, (since, codes)
