"""The downloader and a host that is down, on loopback: a port nobody listens on refuses every
connection. What makes a host down (connections that find no one) and what does not (an answer
of any kind, a URL the address policy refuses), and `importer plan` naming the hosts it cannot
reach with the conversations that need them."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from importer.errors import DownloadError
from importer.helpscout.download_hosts import HostDownError, HostWatch
from importer.helpscout.downloads import AttachmentDownloader, DownloadLimits
from importer.sandbox.testing import SandboxConfig, running_sandbox

from . import test_downloads
from .conftest import run_importer
from .file_server import FileServer
from .test_downloads import FAST, NO_WAIT
from .test_plan_cli import plan_args
from .test_run_download_host_down import COUNT, export_of, free_port

pytestmark = pytest.mark.integration

LIMITS = replace(FAST, max_attempts=4, read_s=1.0, per_file_s=10.0)
files = test_downloads.files  # the misbehaving file server, once for the module


async def outcomes(
    urls: list[str], hosts: HostWatch, limits: DownloadLimits = LIMITS
) -> tuple[list[BaseException | bytes], int]:
    """What fetching each URL in turn ends with, and the GETs sent."""
    results: list[BaseException | bytes] = []
    async with AttachmentDownloader(limits, clock=NO_WAIT, hosts=hosts) as downloader:
        for url in urls:
            try:
                results.append(await downloader.fetch(url))
            except (DownloadError, HostDownError) as exc:
                results.append(exc)
        return results, downloader.attempts


def test_a_file_whose_every_try_is_refused_makes_its_host_down_and_the_next_is_not_tried() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    hosts = HostWatch(600)
    results, attempts = asyncio.run(outcomes([f"{base}/a.png", f"{base}/b.png"], hosts))
    assert all(isinstance(result, HostDownError) for result in results), results
    assert attempts == 4  # the second file waits for the host: no connection tried
    assert hosts.is_down(base.removeprefix("http://"))


def test_answers_and_refusals_by_the_address_policy_never_make_a_host_down(
    files: FileServer,
) -> None:
    hosts = HostWatch(600)
    missing = [files.url(f"missing/{n}.png") for n in range(6)]
    private = [f"http://10.0.0.5/{n}.png" for n in range(6)]
    results, _ = asyncio.run(outcomes(missing + private, hosts, replace(LIMITS, max_attempts=1)))
    codes = [getattr(result, "code", None) for result in results]
    assert codes == ["http_404"] * 6 + ["address_policy"] * 6
    assert hosts.down() == []


def test_plan_names_the_hosts_it_cannot_reach_and_the_conversations_that_need_them(
    tmp_path: Path, files: FileServer
) -> None:
    port = free_port()
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    export = export_of(export_dir / "c.jsonl", files, port)
    report_path = tmp_path / "plan.json"
    with running_sandbox(SandboxConfig(mailboxes=[85])) as sandbox:
        result = run_importer(
            plan_args(export, sandbox.url, report_path, "--allow-host", "127.0.0.1"), timeout=60
        )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    host = f"127.0.0.1:{port}"
    assert [(h["host"], h["conversations"]) for h in report["unreachable_hosts"]] == [
        (host, COUNT // 2)
    ]
    warned = [w for w in report["warnings"] if w["code"] == "link_hosts"]
    assert len(warned) == 1
    assert f"{host} (" in warned[0]["message"]
    assert f"{COUNT // 2} conversation(s) need its files" in warned[0]["message"]
    assert files.base.removeprefix("http://") not in warned[0]["message"]  # that one answers
    assert f"attachment host {host} cannot be reached" in result.stdout + result.stderr
    assert "sig=s3cr3t" not in report_path.read_text()


def test_with_a_wait_of_zero_the_files_of_a_host_that_is_down_are_left_out() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    results, attempts = asyncio.run(outcomes([f"{base}/a.png", f"{base}/b.png"], HostWatch(0)))
    assert [getattr(result, "code", None) for result in results] == ["host_down"] * 2
    assert all(isinstance(result, DownloadError) for result in results)
    assert "--download-host-wait 0 leaves its files out" in str(results[1])
    assert attempts == 4  # the second file is not tried
