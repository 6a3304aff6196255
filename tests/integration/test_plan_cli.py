"""`importer plan` against the real sandbox: read-only, the contract's keys, blockers exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importer.commands.plan import PLAN_KEYS
from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import ROOT, importer_env, run_importer, write_export

pytestmark = pytest.mark.integration

SAMPLE = ROOT / "samples" / "canonical" / "export"
BROKEN = ROOT / "tests" / "data" / "broken"


def plan_args(export: Path, url: str, report: Path, *extra: str) -> list[str]:
    return [
        "plan",
        str(export),
        "--mailbox",
        "85",
        "--api-url",
        url,
        "--report",
        str(report),
        *extra,
    ]


def validate_report(export: Path, tmp_path: Path) -> dict:
    path = tmp_path / "validate.json"
    run_importer(["validate", str(export), "--report", str(path), "-q"])
    return json.loads(path.read_text())


def test_plan_of_the_sample_is_ready_writes_nothing_and_counts_as_validate(tmp_path: Path) -> None:
    """Exit 0, every contract key, the API's lower limit used, and nothing created."""
    report_path = tmp_path / "plan.json"
    config = SandboxConfig(mailboxes=[85], rate_limit=300, users=["sam@northwind.example"])
    with running_sandbox(config) as sandbox:
        result = run_importer(plan_args(SAMPLE, sandbox.url, report_path))
        created = sandbox.store.count_conversations()
        customers = sandbox.store.customers()
    assert 0 == result.returncode, result.stderr[-2000:]
    assert (0, []) == (created, customers)  # read-only
    plan = json.loads(report_path.read_text())
    assert list(PLAN_KEYS) == [key for key in plan if key in PLAN_KEYS]
    offline = validate_report(SAMPLE, tmp_path)
    assert offline["source_conversations"] == plan["conversations"]
    assert (offline["invalid"], offline["threads"]) == (plan["invalid"], plan["threads"])
    assert plan["parts"] >= plan["conversations"] - plan["invalid"]
    assert 300 == plan["rate_limit"]  # X-RateLimit-Limit-Minute, below --rate-limit 400
    assert plan["units"] >= 2 * plan["parts"]
    # run spends 300 less its reserve (1 %, at least 6 units): 294 a minute
    assert plan["estimated_s"] == pytest.approx(plan["units"] / 294 * 60, abs=0.1)
    assert ["priya@northwind.example"] == plan["unmatched_agents"]  # sam is a user
    assert [] == plan["blockers"]
    assert "estimated_s" in result.stdout
    assert "ready" in result.stdout


def test_customers_without_email_are_counted_once_each(tmp_path: Path, export_dir: Path) -> None:
    """Five phone-only customers shared by ten conversations: five customers to create, and
    their creations counted as requests (a write each)."""
    export = write_export(export_dir / "c.jsonl", 10, phone_every=1)
    report_path = tmp_path / "plan.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(plan_args(export, sandbox.url, report_path, "--rate-limit", "600"))
    assert 0 == result.returncode, result.stderr[-2000:]
    plan = json.loads(report_path.read_text())
    assert (10, 10, 5, 600) == (
        plan["conversations"],
        plan["parts"],
        plan["customers_to_create"],
        plan["rate_limit"],  # no headers from a sandbox without a limit: --rate-limit
    )
    reads = plan["requests"] - plan["parts"] - plan["customers_to_create"]
    assert reads >= 2  # at least the mailbox list and its fields
    assert plan["units"] == 2 * (plan["parts"] + plan["customers_to_create"]) + reads


def test_an_unknown_mailbox_blocks_with_exit_2_and_the_report_still_written(
    tmp_path: Path,
) -> None:
    report_path = tmp_path / "plan.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(
            [
                "plan",
                str(SAMPLE),
                "--mailbox",
                "99",
                "--api-url",
                sandbox.url,
                "--report",
                str(report_path),
            ]
        )
    assert 2 == result.returncode
    plan = json.loads(report_path.read_text())
    assert 1 == len(plan["blockers"])
    assert "--mailbox 99" in plan["blockers"][0]
    assert plan["conversations"] > 0
    assert "blocker: --mailbox 99" in result.stdout


def test_missing_credentials_and_an_unusable_source_id_field_are_blockers(
    tmp_path: Path,
) -> None:
    report_path = tmp_path / "plan.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        no_credentials = run_importer(
            plan_args(SAMPLE, sandbox.url, report_path), env=importer_env(HELPSCOUT_APP_ID="")
        )
        first = json.loads(report_path.read_text())
        bad_field = run_importer(
            plan_args(SAMPLE, sandbox.url, report_path, "--source-id-field", "987654")
        )
        second = json.loads(report_path.read_text())
    assert (2, 2) == (no_credentials.returncode, bad_field.returncode)
    assert "HELPSCOUT_APP_ID" in first["blockers"][0]
    assert "--source-id-field 987654" in second["blockers"][0]


def test_invalid_conversations_exit_1_without_blocking(tmp_path: Path) -> None:
    report_path = tmp_path / "plan.json"
    dead = tmp_path / "dead.jsonl"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(
            plan_args(BROKEN, sandbox.url, report_path, "--dead-letter", str(dead), "-q")
        )
    assert 1 == result.returncode, result.stderr[-2000:]
    plan = json.loads(report_path.read_text())
    offline = validate_report(BROKEN, tmp_path)
    assert (offline["source_conversations"], offline["invalid"]) == (
        plan["conversations"],
        plan["invalid"],
    )
    assert [] == plan["blockers"]
    assert plan["invalid"] == len(dead.read_text().splitlines())
    assert all(":" in entry["location"] for entry in plan["errors"])
