"""`importer run` exit codes and edges, driven as a user would, against the real sandbox."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import (
    base_args,
    expected_subjects,
    importer_env,
    run_importer,
    start_importer,
    wait_for_exit,
    write_export,
)

pytestmark = pytest.mark.integration


def test_byte_budget_parts_are_accepted_by_the_server(tmp_path: Path, export_dir: Path) -> None:
    """Parts cut at the request budget stay under the server's body limit: no 413."""
    record = {
        "source_id": "big",
        "subject": "Long history",
        "customer": {"email": "long@example.com"},
        "messages": [
            {
                "created_at": 1_700_000_000 + n * 60,
                "author_role": "customer",
                "body_text": f"{n} " + "é" * 3000,
            }
            for n in range(120)
        ],
    }
    export = export_dir / "big.jsonl"
    export.write_text(json.dumps(record) + "\n")
    with running_sandbox(SandboxConfig(mailboxes=[85], max_body_bytes=262_144)) as sandbox:
        result = run_importer(
            base_args(export, sandbox.url, tmp_path, "--report", str(tmp_path / "r.json"))
        )
        conversations = sandbox.store.conversations(mailbox=85)
        by_status = sandbox.stats.by_status
    assert 0 == result.returncode, result.stderr[-2000:]
    assert 413 not in by_status
    assert len(conversations) >= 3  # 120 messages of ~6 kB cannot fit in fewer requests of 256 kB
    report = json.loads((tmp_path / "r.json").read_text())
    assert (1, len(conversations), 120) == (
        report["split_conversations"],
        report["created_conversations"],
        report["threads"],
    )


def test_sigterm_stops_cleanly_with_130_and_a_rerun_resumes(
    tmp_path: Path, export_dir: Path
) -> None:
    """SIGTERM: exit 130, consistent checkpoint; the rerun finishes and creates nothing twice."""
    export = write_export(export_dir / "c.jsonl", 120)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args = [
            "run",
            str(export),
            "--mailbox",
            "85",
            "--api-url",
            sandbox.url,
            "--checkpoint",
            str(tmp_path / "cp.sqlite"),
            "--no-progress",
            "--rate-limit",
            "1200",
        ]
        process = start_importer(args)
        deadline = time.monotonic() + 30
        while sandbox.store.count_conversations(mailbox=85) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # under way, whatever the machine's start-up time
        process.send_signal(signal.SIGTERM)
        code, stderr = wait_for_exit(process, timeout=60)
        assert 130 == code
        assert "resume" in stderr
        part_way = sandbox.store.count_conversations(mailbox=85)
        final = run_importer(
            [*args, "--rate-limit", "100000", "--report", str(tmp_path / "r.json")]
        )
        conversations = sandbox.store.conversations(mailbox=85)
    assert 0 < part_way < 120
    assert 0 == final.returncode, final.stderr[-2000:]
    assert expected_subjects(export) == Counter(c["subject"] for c in conversations)
    report = json.loads((tmp_path / "r.json").read_text())
    assert 120 == report["imported"] + report["already_imported"]
    assert (
        report["already_imported"] >= part_way - 8
    )  # at most one conversation per worker in flight


def test_unknown_mailbox_stops_before_sending_with_2(tmp_path: Path, export_dir: Path) -> None:
    """A mailbox the credentials cannot see: exit 2, the message names it, nothing sent."""
    export = write_export(export_dir / "c.jsonl", 3)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        args = base_args(export, sandbox.url, tmp_path)
        args[args.index("85")] = "99"
        result = run_importer(args)
        created = sandbox.store.count_conversations()
    assert 2 == result.returncode
    assert "--mailbox 99" in result.stderr
    assert 0 == created
    assert not (tmp_path / "cp.sqlite").exists()  # the corrected rerun is not refused


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_during_set_up_exits_130_before_sending(
    tmp_path: Path, export_dir: Path, signum: signal.Signals
) -> None:
    """A signal while the set-up checks are waiting on slow answers: exit 130 with a message, no
    traceback and nothing created (SIGTERM killed the process, SIGINT was click's exit 1)."""
    export = write_export(export_dir / "c.jsonl", 5)
    with running_sandbox(SandboxConfig(mailboxes=[85], latency_ms=(1500, 1500))) as sandbox:
        process = start_importer(base_args(export, sandbox.url, tmp_path))
        deadline = time.monotonic() + 30
        while sandbox.stats.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # the token has been answered: the set-up waits on its next GET
        process.send_signal(signum)
        code, stderr = wait_for_exit(process)
        created = sandbox.store.count_conversations()
    assert 130 == code, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "rerun" in stderr
    assert 0 == created


def test_a_sigint_ignored_by_the_parent_still_stops_the_set_up(
    tmp_path: Path, export_dir: Path
) -> None:
    """A job a shell starts in the background inherits SIGINT ignored: a SIGINT during the
    set-up was then lost, and the run imported everything (exit 0). It must exit 130 with
    nothing created, as in the foreground."""
    export = write_export(export_dir / "c.jsonl", 5)
    with running_sandbox(SandboxConfig(mailboxes=[85], latency_ms=(1500, 1500))) as sandbox:
        process = subprocess.Popen(
            [sys.executable, "-m", "importer", *base_args(export, sandbox.url, tmp_path)],
            env=importer_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        deadline = time.monotonic() + 30
        while sandbox.stats.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        code, stderr = wait_for_exit(process)
        created = sandbox.store.count_conversations()
    assert 130 == code, stderr[-2000:]
    assert "rerun" in stderr
    assert 0 == created


def test_stop_while_throttled_exits_130_without_waiting_out_the_429(
    tmp_path: Path, export_dir: Path
) -> None:
    """Every create answered 429 with a minute's Retry-After: SIGTERM still ends the run at
    once (nothing was stored), with exit 130 and the report. More SIGTERMs, every 5 ms until the
    process is gone, are harmless too: one arriving while the report is written must not kill
    the process (it did when the loop's handlers were removed: exit -15, no report)."""
    export = write_export(export_dir / "c.jsonl", 20)
    config = SandboxConfig(mailboxes=[85], faults={"throttle": 1.0}, window_s=60)
    with running_sandbox(config) as sandbox:
        report_path = tmp_path / "r.json"
        process = start_importer(
            base_args(export, sandbox.url, tmp_path, "--report", str(report_path))
        )
        deadline = time.monotonic() + 30
        while sandbox.stats.by_status.get(429, 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
            process.send_signal(signal.SIGTERM)
        code, stderr = wait_for_exit(process, timeout=1)
        created = sandbox.store.count_conversations()
    assert 130 == code, stderr[-2000:]
    assert "Traceback" not in stderr
    assert 0 == created
    report = json.loads(report_path.read_text())
    assert report["throttled"] >= 1
    assert (
        report["source_conversations"]
        == report["imported"] + report["failed"] + report["invalid"] + report["already_imported"]
    )


def test_refused_credentials_stop_before_sending_with_2(tmp_path: Path, export_dir: Path) -> None:
    """Wrong app secret: exit 2 and the secret is not printed."""
    export = write_export(export_dir / "c.jsonl", 3)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        env = importer_env(HELPSCOUT_APP_SECRET="wrong-secret-value")
        result = run_importer(base_args(export, sandbox.url, tmp_path), env=env)
    assert 2 == result.returncode
    assert "wrong-secret-value" not in result.stderr + result.stdout


def test_missing_credentials_exit_2_naming_the_variables(tmp_path: Path, export_dir: Path) -> None:
    """No credentials in the environment: exit 2 and the message names what to set."""
    export = write_export(export_dir / "c.jsonl", 1)
    env = {k: v for k, v in importer_env().items() if not k.startswith("HELPSCOUT_")}
    result = run_importer(base_args(export, "http://127.0.0.1:9", tmp_path), env=env)
    assert 2 == result.returncode
    assert "HELPSCOUT_APP_ID" in result.stderr


def test_checkpoint_of_another_mailbox_is_refused(tmp_path: Path, export_dir: Path) -> None:
    """A checkpoint written for mailbox 85 is refused for mailbox 86 (exit 2)."""
    export = write_export(export_dir / "c.jsonl", 2)
    with running_sandbox(SandboxConfig(mailboxes=[85, 86])) as sandbox:
        assert 0 == run_importer(base_args(export, sandbox.url, tmp_path)).returncode
        args = base_args(export, sandbox.url, tmp_path)
        args[args.index("85")] = "86"
        result = run_importer(args)
    assert 2 == result.returncode
    assert "mailbox 85" in result.stderr


def test_delta_run_imports_only_new_conversations_and_status_reports(
    tmp_path: Path, export_dir: Path
) -> None:
    """Inputs grow: done ones are already imported, new ones imported; status agrees."""
    export = write_export(export_dir / "c.jsonl", 10)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        assert 0 == run_importer(base_args(export, sandbox.url, tmp_path)).returncode
        write_export(export, 14)
        with export.open("a", encoding="utf-8") as handle:
            handle.write('{"source_id": "S-broken", "subject": "no customer"}\n')
        report_path = tmp_path / "r.json"
        result = run_importer(
            base_args(export, sandbox.url, tmp_path, "--report", str(report_path))
        )
        total = sandbox.store.count_conversations(mailbox=85)
    assert 1 == result.returncode
    report = json.loads(report_path.read_text())
    assert (15, 4, 10, 1, 14) == (
        report["source_conversations"],
        report["imported"],
        report["already_imported"],
        report["invalid"],
        total,
    )
    status = run_importer(["status", "--checkpoint", str(tmp_path / "cp.sqlite"), "--json"])
    body = json.loads(status.stdout)
    assert (14, 14) == (body["parts"]["done"], body["source_conversations_complete"])
    assert {"pending": 0, "done": 0, "failed": 0} == body["uploads"]
    assert ["S-broken"] == [e["source_id"] for e in body["last_errors"]]  # the invalid one


def test_attachments_uploaded_after_creation_land_on_their_thread(tmp_path: Path) -> None:
    """--attachments upload: the CSV sample's receipt is uploaded to the thread that named it."""
    root = Path(__file__).resolve().parents[2]
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(
            base_args(root / "samples/csv/export", sandbox.url, tmp_path, "--attachments", "upload")
        )
        found = [
            (thread["type"], attachment["file_name"], attachment["size"])
            for conv in sandbox.store.conversations(mailbox=85)
            for thread in sandbox.store.threads(conv["id"])
            for attachment in sandbox.store.attachments(thread["id"])
        ]
    assert 0 == result.returncode, result.stderr[-2000:]
    receipt = root / "samples/csv/export/files/receipt-1042.txt"
    assert [("customer", "receipt-1042.txt", receipt.stat().st_size)] == found
    status = run_importer(["status", "--checkpoint", str(tmp_path / "cp.sqlite"), "--json"])
    assert {"pending": 0, "done": 1, "failed": 0} == json.loads(status.stdout)["uploads"]


def test_since_leaves_out_invalid_conversations_of_other_dates_in_run_too(
    tmp_path: Path,
) -> None:
    """`run --since` selects an invalid conversation by its readable date, as `validate` does."""
    export = tmp_path / "range.jsonl"
    records = [("old-bad", "2019-03-01T10:00:00Z", "bad@"), ("new", "2024-07-01T10:00:00Z", "")]
    export.write_text(
        "".join(
            json.dumps(
                {
                    "source_id": source_id,
                    "subject": "Dated",
                    "customer": {"email": email or "c@example.com"},
                    "messages": [{"created_at": at, "author_role": "customer", "body_text": "hi"}],
                }
            )
            + "\n"
            for source_id, at, email in records
        )
    )
    report = tmp_path / "r.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(
            base_args(
                export, sandbox.url, tmp_path, "--since", "2024-06-01", "--report", str(report)
            )
        )
    assert 0 == result.returncode, result.stderr[-2000:]
    body = json.loads(report.read_text())
    assert (1, 1, 0) == (body["source_conversations"], body["imported"], body["invalid"])


def test_a_dropdown_label_is_sent_as_its_option_id(tmp_path: Path) -> None:
    """The export holds "High"; Help Scout takes the id of the option: the conversation is
    imported with it, and an unknown label is left out with a warning, not a failed import."""
    export = tmp_path / "fields.jsonl"
    export.write_text(
        "".join(
            json.dumps(
                {
                    "source_id": source_id,
                    "subject": f"Fields {source_id}",
                    "customer": {"email": f"{source_id}@example.com"},
                    "custom_fields": {"Priority": priority, "Notes": "hello"},
                    "messages": [
                        {"created_at": "2024-03-01T10:00:00Z", "author_role": "customer",
                         "body_text": "hi"}
                    ],
                }
            )
            + "\n"
            for source_id, priority in (("e1", "high"), ("e2", "Urgent"))
        )
    )  # fmt: skip
    report = tmp_path / "r.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(base_args(export, sandbox.url, tmp_path, "--report", str(report)))
        stored = {c["subject"]: c["fields"] for c in sandbox.store.conversations(mailbox=85)}
        priority = next(f for f in sandbox.store.fields(85) if f["name"] == "Priority")
    assert 0 == result.returncode, result.stderr[-2000:]
    body = json.loads(report.read_text())
    assert (2, 0) == (body["imported"], body["failed"])
    high = next(option_id for option_id, label in priority["options"] if label == "High")
    assert {"id": priority["id"], "value": str(high)} in stored["Fields e1"]
    assert priority["id"] not in [f["id"] for f in stored["Fields e2"]]
    assert any("Urgent" in w["message"] for w in body["warnings"])


def test_a_message_by_a_colleague_in_copy_is_theirs_in_help_scout(tmp_path: Path) -> None:
    """Help Scout takes a thread's own customer: the colleague's message is created by them."""
    export = tmp_path / "cc.jsonl"
    messages = [
        {"created_at": "2024-03-01T10:00:00Z", "author_role": "customer",
         "body_text": "from main", "author_email": "main@example.com"},
        {"created_at": "2024-03-01T10:05:00Z", "author_role": "customer",
         "body_text": "from cc", "author_email": "cc.person@example.com",
         "author_name": "CC Person"},
    ]  # fmt: skip
    customer = {"email": "main@example.com", "first_name": "Main"}
    record = {"source_id": "cc1", "subject": "Copy", "customer": customer, "messages": messages}
    export.write_text(json.dumps(record) + "\n")
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(base_args(export, sandbox.url, tmp_path))
        (conv,) = sandbox.store.conversations(mailbox=85)
        authors = {
            t["text"]: (sandbox.store.customer(t["customer_id"]) or {}).get("first_name")
            for t in sandbox.store.threads(conv["id"])
        }
    assert 0 == result.returncode, result.stderr[-2000:]
    assert {"from main": "Main", "from cc": "CC"} == authors


def test_a_second_run_of_a_checkpoint_in_use_is_refused(tmp_path: Path, export_dir: Path) -> None:
    """Two runs of one checkpoint at once would both send what each thinks is pending: the
    second is refused (exit 2) before it sends anything."""
    export = write_export(export_dir / "conversations.jsonl", 5)
    config = SandboxConfig(mailboxes=[85], faults={"throttle": 1.0}, window_s=60)
    with running_sandbox(config) as sandbox:
        first = start_importer(base_args(export, sandbox.url, tmp_path))
        deadline = time.monotonic() + 30
        while sandbox.stats.by_status.get(429, 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)  # the first run holds the checkpoint and waits out 429s
        posts_before = sandbox.stats.by_status.get(429, 0)
        second = run_importer(base_args(export, sandbox.url, tmp_path))
        first.send_signal(signal.SIGTERM)
        assert 130 == first.wait(timeout=30)
        assert first.stderr is not None
        first.stderr.close()
        created = sandbox.store.count_conversations(mailbox=85)
    assert 0 < posts_before
    assert 2 == second.returncode, second.stderr
    assert "another importer run is using this checkpoint" in second.stderr
    assert 0 == created
