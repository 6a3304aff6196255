"""`importer fetch-attachments` before the run, `run --attachments-dir` after the links died,
`plan` warning about links that cannot be fetched, and the address policy of all three (the file
server listens on 127.0.0.1: allowed by `--allow-host 127.0.0.1`, refused without it)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from importer.helpscout.downloads import fetched_file
from importer.sandbox.testing import SandboxConfig, running_sandbox

from .conftest import base_args, importer_env, run_importer
from .file_server import SECRET_AUTH, FileServer, content, serving_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def export_with_links(path: Path, links: list[tuple[str, str]]) -> Path:
    """One conversation per (file name, URL)."""
    lines = []
    for index, (name, url) in enumerate(links):
        lines.append(
            json.dumps(
                {
                    "source_id": f"L{index}",
                    "subject": f"Links {index}",
                    "customer": {"email": f"l{index}@example.com"},
                    "messages": [
                        {
                            "created_at": f"2022-02-{index + 1:02d}T08:00:00Z",
                            "author_role": "customer",
                            "body_text": "see the file",
                            "attachments": [{"file_name": name, "url": url}],
                        }
                    ],
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def links(files: FileServer) -> list[tuple[str, str]]:
    return [
        ("a.pdf", files.url("good/a.pdf?size=5000&sig=s3cr3t")),
        ("b.png", files.url("good/b.png?size=700")),
        ("gone.txt", files.url("missing/gone.txt")),
        ("private.doc", files.url("secret/private.doc")),
        ("c.csv", files.url("flaky/c.csv")),
    ]


#: the file server's address, allowed
ALLOW = ["--allow-host", "127.0.0.1"]


def fetch(
    export: Path, folder: Path, report: Path, *options: str, allow: list[str] = ALLOW, **env: str
) -> dict[str, Any]:
    args = ["fetch-attachments", str(export), "--to", str(folder), "--report", str(report)]
    result = run_importer(
        [*args, *allow, *options],
        env=importer_env(**env),
    )
    body: dict[str, Any] = json.loads(report.read_text())
    body["exit"] = result.returncode
    return body


def test_fetch_then_run_after_the_links_died(tmp_path: Path, export_dir: Path) -> None:
    folder = tmp_path / "files"
    with serving_files() as files:
        export = export_with_links(export_dir / "c.jsonl", links(files))
        first = fetch(export, folder, tmp_path / "f1.json")
        host = files.base.split("//")[1].split(":")[0]
        second = fetch(
            export, folder, tmp_path / "f2.json", IMPORTER_SOURCE_AUTH=f"{host}={SECRET_AUTH}"
        )
        urls = dict(links(files))
    assert first["exit"] == 1
    assert (first["attachments"], first["fetched"], first["failed"]) == (5, 3, 2)
    assert {e["file_name"] for e in first["errors"]} == {"gone.txt", "private.doc"}
    assert "s3cr3t" not in json.dumps(first)
    assert fetched_file(folder, urls["a.pdf"]).read_bytes() == content("a.pdf", 5000)
    # the rerun keeps what it has, and the login makes the private file reachable
    assert second["exit"] == 1
    assert (second["already_fetched"], second["fetched"], second["failed"]) == (3, 1, 1)
    assert fetched_file(folder, urls["private.doc"]).read_bytes() == content("private.doc", 1000)

    # the file server is gone: every link is dead now; the run reads the folder
    report_path = tmp_path / "run.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(
            base_args(
                export,
                sandbox.url,
                tmp_path,
                "--report",
                str(report_path),
                "--attachments-dir",
                str(folder),
                "--download-tries",
                "1",
                # the old help desk is gone for good: what is not in the folder is left out
                "--download-host-wait",
                "0",
                *ALLOW,
            )
        )
        stored = {
            attachment["file_name"]: sandbox.store.attachment_data(attachment["id"])
            for conv in sandbox.store.conversations(mailbox=85)
            for thread in sandbox.store.threads(conv["id"])
            for attachment in sandbox.store.attachments(thread["id"])
        }
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(stored) == {"a.pdf", "b.png", "private.doc", "c.csv"}
    assert stored["a.pdf"] == content("a.pdf", 5000)
    report = json.loads(report_path.read_text())
    assert [e["message"].split(":")[0] for e in report["errors"]] == ["gone.txt"]


def test_credentials_go_only_to_their_host(tmp_path: Path, export_dir: Path) -> None:
    with serving_files() as files:
        other_host = files.base.replace("127.0.0.1", "localhost")
        export = export_with_links(
            export_dir / "c.jsonl",
            [("x.doc", files.url("secret/x.doc")), ("y.doc", f"{other_host}/good/y.doc")],
        )
        body = fetch(
            export,
            tmp_path / "files",
            tmp_path / "f.json",
            "--allow-host",
            "localhost",
            IMPORTER_SOURCE_AUTH=f"127.0.0.1={SECRET_AUTH}",
        )
        sent = list(files.authorizations)
    assert body["exit"] == 0, body["errors"]
    assert sent == [SECRET_AUTH]  # to 127.0.0.1 only, never to localhost


def test_a_malformed_source_auth_is_a_usage_error(tmp_path: Path, export_dir: Path) -> None:
    export = export_with_links(export_dir / "c.jsonl", [("a", "http://127.0.0.1:9/a")])
    result = run_importer(
        ["fetch-attachments", str(export), "--to", str(tmp_path / "f")],
        env=importer_env(IMPORTER_SOURCE_AUTH="no-equals-sign"),
    )
    assert result.returncode == 2
    assert "IMPORTER_SOURCE_AUTH must be HOST=AUTHORIZATION" in result.stderr


def test_plan_warns_when_links_cannot_be_fetched(tmp_path: Path, export_dir: Path) -> None:
    with serving_files() as files, running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        export = export_with_links(
            export_dir / "c.jsonl",
            [(f"gone{index}.txt", files.url(f"missing/gone{index}.txt")) for index in range(3)],
        )
        report_path = tmp_path / "plan.json"
        result = run_importer(
            [
                "plan",
                str(export),
                "--mailbox",
                "85",
                "--api-url",
                sandbox.url,
                "--report",
                str(report_path),
                *ALLOW,
            ]
        )
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = json.loads(report_path.read_text())["warnings"]
    assert any("fetch-attachments" in w["message"] for w in warnings), warnings
    assert files.hits["missing/gone0.txt"] == 1  # tried, and found missing


def test_loopback_and_private_links_are_refused_unless_allowed(
    tmp_path: Path, export_dir: Path
) -> None:
    """Without --allow-host every link to the loopback server (whatever its spelling) or to a
    private or link-local address is refused at once, reported like any file that could not be
    had, and nothing reaches the server; --allow-host 127.0.0.1 fetches its files (not those of
    other names of this machine); --allow-private-urls fetches them all (only loopback links
    then: no test connects to another address)."""
    with serving_files() as files:
        port = files.base.rsplit(":", 1)[1]
        loopback = [
            ("a.txt", files.url("good/a.txt?sig=s3cr3t")),
            ("b.txt", f"http://2130706433:{port}/good/b.txt"),
            ("c.txt", f"http://[::ffff:127.0.0.1]:{port}/good/c.txt"),
            ("d.txt", f"http://localhost:{port}/good/d.txt"),
        ]
        private = [
            ("meta.json", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
            ("e.txt", "http://10.0.0.1/e.txt"),
        ]
        export = export_with_links(export_dir / "c.jsonl", loopback + private)
        started = time.monotonic()
        refused = fetch(export, tmp_path / "f1", tmp_path / "f1.json", allow=[])
        took = time.monotonic() - started
        hits_unallowed = sum(files.hits.values())
        allowed = fetch(export, tmp_path / "f2", tmp_path / "f2.json")
        only_loopback = export_with_links(export_dir.parent / "loopback.jsonl", loopback)
        everything = fetch(
            only_loopback, tmp_path / "f3", tmp_path / "f3.json", allow=["--allow-private-urls"]
        )
    assert refused["exit"] == 1
    assert (refused["attachments"], refused["fetched"], refused["failed"]) == (6, 0, 6)
    assert {e["code"] for e in refused["errors"]} == {"address_policy"}
    assert all("refused by the address policy" in e["message"] for e in refused["errors"])
    assert "s3cr3t" not in json.dumps(refused)
    assert hits_unallowed == 0
    assert took < 20  # no timeout waited out, no retries (the command's start-up is most of it)

    codes = {e["file_name"]: e["code"] for e in allowed["errors"]}
    # ::ffff:127.0.0.1 is 127.0.0.1, allowed (fetched where this machine has IPv6)
    assert codes.pop("c.txt", "fetched") != "address_policy"
    assert codes == {
        "b.txt": "invalid_url",  # allowed (127.0.0.1 spelled otherwise), refused by aiohttp
        "d.txt": "address_policy",  # another name of this machine is another host
        "meta.json": "address_policy",
        "e.txt": "address_policy",
    }
    assert fetched_file(tmp_path / "f2", loopback[0][1]).read_bytes() == content("a.txt", 1000)
    assert everything["fetched"] >= 2  # a.txt and d.txt at least
    assert {e["file_name"] for e in everything["errors"]} <= {"b.txt", "c.txt"}


@pytest.mark.parametrize("command", ["fetch-attachments", "run", "plan"])
def test_allow_host_takes_a_host_alone(tmp_path: Path, export_dir: Path, command: str) -> None:
    export = export_with_links(export_dir / "c.jsonl", [("a", "http://127.0.0.1:9/a")])
    where = ["--to", str(tmp_path / "f")] if command == "fetch-attachments" else ["--mailbox", "85"]
    result = run_importer(
        [command, str(export), *where, "--allow-host", "http://127.0.0.1:9/"], env=importer_env()
    )
    assert result.returncode == 2
    assert "--allow-host" in result.stderr
    assert "without scheme, port or path" in result.stderr
