"""``importer undo`` against the real sandbox, through the real CLI: it deletes exactly what the
checkpoint records as created (split conversations and uploaded attachments included), keeps
what an agent worked on and everything it did not create, sends nothing the second time, and a
run afterwards imports the undone conversations again."""

from __future__ import annotations

import base64
import json
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox.agents import delete_requests
from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import base_args, run_importer, start_importer

pytestmark = pytest.mark.integration

REPORT_KEYS = {
    "command", "dry_run", "conversations", "parts", "deleted", "would_delete", "kept_changed",
    "already_gone", "failed", "requests", "throttled", "retries", "elapsed_s", "errors",
}  # fmt: skip


def write_export(path: Path, count: int, *, long: int = 0, files: int = 0) -> Path:
    """``count`` canonical conversations U0..; U0 has 150 messages (two parts) when ``long``;
    the next ``files`` each carry one attachment (uploaded after creation)."""
    lines = []
    for index in range(count):
        size = 150 if long and index == 0 else 2
        messages: list[dict[str, Any]] = [
            {
                "created_at": 1_640_995_200 + index * 3600 + n * 60,
                "author_role": "customer" if n % 2 == 0 else "agent",
                "body_text": f"conversation {index} message {n}",
            }
            for n in range(size)
        ]
        if 0 < index <= files:
            data = base64.b64encode(f"file {index}".encode()).decode()
            messages[0]["attachments"] = [
                {"file_name": f"f{index}.txt", "content_type": "text/plain", "data_base64": data}
            ]
        record = {
            "source_id": f"U{index}",
            "subject": f"Undo {index}",
            "customer": {"id": f"c{index}", "email": f"c{index}@example.com"},
            "messages": messages,
            "status": "closed",
        }
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def api(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request to the sandbox with a fresh token."""

    def send(method: str, path: str, body: Any, token: str = "") -> tuple[int, Any, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None, answer.headers
        except urllib.error.HTTPError as exc:
            return exc.code, None, exc.headers

    grant = {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox"}
    token = send("POST", "/v2/oauth2/token", grant)[1]["access_token"]
    status, answer, headers = send(method, path, body, token)
    if status == 201:
        return status, int(headers["Resource-ID"])
    return status, answer


def someone_elses(url: str) -> int:
    """A conversation created in Help Scout by someone else (not imported)."""
    body = {
        "subject": "Live", "type": "email", "mailboxId": 85, "status": "active",
        "customer": {"email": "live@example.com"},
        "threads": [{"type": "customer", "text": "help",
                     "customer": {"email": "live@example.com"}}],
    }  # fmt: skip
    status, conversation_id = api(url, "POST", "/v2/conversations", body)
    assert 201 == status
    return int(conversation_id)


def undo(url: str, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / "undo.json"
    args = ["undo", "--checkpoint", str(tmp_path / "cp.sqlite"), "--api-url", url]
    done = run_importer([*args, "--no-progress", "--rate-limit", "100000", "--report", str(report),
                         *extra])  # fmt: skip
    return done.returncode, json.loads(report.read_text()), done.stderr


def ids_by_subject(store: Any) -> dict[str, int]:
    return {c["subject"]: int(c["id"]) for c in store.conversations(85)}


@pytest.mark.parametrize("deleted_get", ["404", "state"])
def test_undo_deletes_exactly_what_was_created_and_keeps_what_agents_touched(
    tmp_path: Path, export_dir: Path, deleted_get: str
) -> None:
    export = write_export(export_dir / "u.jsonl", 6, long=1, files=2)
    with running_sandbox(SandboxConfig(mailboxes=[85], deleted_get=deleted_get)) as sandbox:
        url, store = sandbox.url, sandbox.store
        live = someone_elses(url)
        ran = run_importer(base_args(export, url, tmp_path, "--attachments", "upload"))
        assert 0 == ran.returncode, ran.stderr
        created = ids_by_subject(store)
        assert 8 == len(created)  # 7 parts and the live one
        replied, patched = created["Undo 4"], created["Undo 5"]
        assert 201 == api(url, "POST", f"/v2/conversations/{replied}/reply", {"text": "ok"})[0]
        patch = {"op": "replace", "path": "/status", "value": "active"}
        assert 204 == api(url, "PATCH", f"/v2/conversations/{patched}", patch)[0]

        code, dry, _ = undo(url, tmp_path)
        assert REPORT_KEYS == set(dry)
        assert (1, True, 6, 7) == (code, dry["dry_run"], dry["conversations"], dry["parts"])
        assert (5, 2, 0) == (dry["would_delete"], dry["kept_changed"], dry["deleted"])
        assert [] == delete_requests(store)
        assert {"changed"} == {e["code"] for e in dry["errors"]}

        code, done, _ = undo(url, tmp_path, "--yes")
        assert (1, False) == (code, done["dry_run"])
        assert (5, 2, 0, 0) == (
            done["deleted"],
            done["kept_changed"],
            done["already_gone"],
            done["failed"],
        )
        deleted = {created[s] for s in created if s not in ("Live", "Undo 4", "Undo 5")}
        assert sorted((cid, 204) for cid in deleted) == sorted(delete_requests(store))
        assert {"Live", "Undo 4", "Undo 5"} == set(ids_by_subject(store))
        assert live == ids_by_subject(store)["Live"]

        code, again, _ = undo(url, tmp_path, "--yes")
        assert (0, 2) == (again["deleted"], again["kept_changed"])
        assert 5 == len(delete_requests(store))  # the second undo sent no DELETE

        status = run_importer(["status", "--checkpoint", str(tmp_path / "cp.sqlite"), "--json"])
        assert 5 == json.loads(status.stdout)["undone"]["deleted"]
        verify_report = tmp_path / "verify.json"
        checked = run_importer(["verify", "--checkpoint", str(tmp_path / "cp.sqlite"),
                                "--report", str(verify_report)])  # fmt: skip
        assert verify_report.exists(), checked.stderr
        verified = json.loads(verify_report.read_text())
        assert (4, 2) == (verified["not_imported"], verified["conversations_checked"])

        again_args = ["--attachments", "upload", "--report", str(tmp_path / "r.json")]
        rerun = run_importer(base_args(export, url, tmp_path, *again_args))
        assert 0 == rerun.returncode, rerun.stderr
        body = json.loads((tmp_path / "r.json").read_text())
        assert (4, 2) == (body["imported"], body["already_imported"])
        assert 8 == len(store.conversations(85))
        assert not deleted & set(ids_by_subject(store).values())  # new ids, none adopted


def test_undo_survives_sigkills_and_never_deletes_twice(tmp_path: Path, export_dir: Path) -> None:
    """A SIGTERM (exit 130), then SIGKILLs midway through the undo: rerun until it ends; every
    conversation the run created got exactly one DELETE (no 404: none was sent again after it
    landed), none is left, and the last undo exits 0."""
    export = write_export(export_dir / "u.jsonl", 30, long=1)
    config = SandboxConfig(mailboxes=[85], latency_ms=(15, 30))
    with running_sandbox(config) as sandbox:
        url, store = sandbox.url, sandbox.store
        ran = run_importer(base_args(export, url, tmp_path))
        assert 0 == ran.returncode, ran.stderr
        created = set(ids_by_subject(store).values())
        assert 31 == len(created)
        args = ["undo", "--checkpoint", str(tmp_path / "cp.sqlite"), "--api-url", url, "--yes",
                "--no-progress", "--rate-limit", "100000", "--workers", "3"]  # fmt: skip
        kills = 0
        for wanted in (3, 9, 16):
            process = start_importer(args)
            deadline = time.monotonic() + 60
            while len(delete_requests(store)) < wanted and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM if wanted == 3 else signal.SIGKILL)
                kills += 1
            code = process.wait(timeout=20)
            if wanted == 3:
                assert 130 == code  # a SIGTERM: the requests in flight settle, exit 130
            assert process.stderr is not None
            process.stderr.close()
        assert kills >= 2
        code, last, stderr = undo(url, tmp_path, "--yes")
        assert (0, 0, 0) == (code, last["failed"], last["kept_changed"]), stderr
        answers = delete_requests(store)
        assert [] == [entry for entry in answers if entry[1] != 204]
        assert sorted(created) == sorted(cid for cid, _ in answers)  # each exactly once
        assert [] == store.conversations(85)
        status = run_importer(["status", "--checkpoint", str(tmp_path / "cp.sqlite"), "--json"])
        undone = json.loads(status.stdout)["undone"]
        assert (31, 0) == (undone["deleted"] + undone["gone"], undone["deleting"])


def test_undo_refuses_a_checkpoint_a_run_is_using(tmp_path: Path) -> None:
    """A run holds the checkpoint: undo stops with exit 2 before any request, naming it."""
    from importer.pipeline.checkpoint import Checkpoint, RunHeader

    path = tmp_path / "cp.sqlite"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        header = RunHeader(sandbox.url, 85, "canonical")
        with Checkpoint.open(path, header):
            done = run_importer(["undo", "--checkpoint", str(path), "--api-url", sandbox.url])
        assert 2 == done.returncode
        assert "another importer run is using this checkpoint" in done.stderr
        assert {} == dict(sandbox.stats.by_status)  # not one request, not even the token


def test_undo_selects_by_run_tag_and_source_id(tmp_path: Path, export_dir: Path) -> None:
    """Two runs (the second a delta with its own --tag): --run latest and --tag select each
    run's conversations as recorded; --source-id one; --include-changed deletes a changed one."""
    export = write_export(export_dir / "u.jsonl", 3)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        url, store = sandbox.url, sandbox.store
        first = run_importer(base_args(export, url, tmp_path, "--tag", "wave1"))
        assert 0 == first.returncode, first.stderr
        write_export(export, 5)  # two more conversations: a delta run
        second = run_importer(base_args(export, url, tmp_path, "--tag", "wave2"))
        assert 0 == second.returncode, second.stderr
        _, latest, _ = undo(url, tmp_path, "--run", "latest")
        _, tagged, _ = undo(url, tmp_path, "--tag", "wave1")
        _, one, _ = undo(url, tmp_path, "--source-id", "U1", "--run", "1")
        assert (2, 3, 1) == (latest["would_delete"], tagged["would_delete"], one["would_delete"])
        changed = ids_by_subject(store)["Undo 3"]
        assert 201 == api(url, "POST", f"/v2/conversations/{changed}/notes", {"text": "n"})[0]
        code, done, _ = undo(url, tmp_path, "--yes", "--run", "2", "--include-changed")
        assert (0, 2, 0) == (code, done["deleted"], done["kept_changed"])
        assert {"Undo 0", "Undo 1", "Undo 2"} == set(ids_by_subject(store))


def test_parts_recorded_before_version_4_are_judged_by_user_updated_at_alone(
    tmp_path: Path, export_dir: Path
) -> None:
    """Parts without the recorded facts (an older checkpoint): a note says so, and an agent's
    reply (more threads, userUpdatedAt within the allowance) no longer keeps them."""
    import sqlite3

    export = write_export(export_dir / "u.jsonl", 2)
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        url = sandbox.url
        ran = run_importer(base_args(export, url, tmp_path))
        assert 0 == ran.returncode, ran.stderr
        replied = ids_by_subject(sandbox.store)["Undo 1"]
        assert 201 == api(url, "POST", f"/v2/conversations/{replied}/reply", {"text": "ok"})[0]
        with sqlite3.connect(tmp_path / "cp.sqlite") as raw:
            raw.execute("UPDATE parts SET threads = NULL, sent_status = NULL, last_write_at = NULL")
        code, dry, _ = undo(url, tmp_path)
    assert (0, 2, 0) == (code, dry["would_delete"], dry["kept_changed"])
    assert ["older_checkpoint"] == [entry["code"] for entry in dry["errors"]]
