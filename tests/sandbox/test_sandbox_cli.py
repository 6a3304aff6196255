"""``importer sandbox`` as a process, and the threaded runner tests and benchmarks use."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner
from sandbox_helpers import conversation

from importer.sandbox.cli import sandbox_command
from importer.sandbox.config import SandboxConfig
from importer.sandbox.testing import running_sandbox, sandbox_process

pytestmark = pytest.mark.integration


def _token(url: str) -> str:
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox"}
    ).encode()
    with urllib.request.urlopen(f"{url}/v2/oauth2/token", data=form, timeout=5) as resp:
        return str(json.load(resp)["access_token"])


def _create(url: str, token: str, body: dict) -> str:
    request = urllib.request.Request(
        f"{url}/v2/conversations", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 201
        return str(resp.headers["Resource-ID"])


def test_cli_serves_until_sigterm_and_exits_0() -> None:
    """--port 0 prints the real port; token + create work over urllib; SIGTERM exits 0."""
    with sandbox_process(["--mailbox", "85", "--seed", "1"]) as (proc, url):
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        conversation_id = _create(url, _token(url), conversation())
        assert conversation_id.isdigit()
    assert proc.returncode == 0


def test_cli_listening_line_format() -> None:
    """The start line names the URL, the mailboxes and the app id."""
    cmd = [sys.executable, "-m", "importer", "sandbox", "--port", "0", "--mailbox", "85"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
    assert line.startswith("sandbox listening on http://127.0.0.1:")
    assert line.endswith("(mailboxes 1, 85; app id sandbox)")
    assert proc.returncode == 0


def test_port_in_use_exits_2_with_a_clear_message() -> None:
    """A taken port is a SandboxError: message on stderr, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(sandbox_command, ["--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--fault", "explode=0.1"], "--fault"), (["--fault", "drop=2"], "between 0 and 1"),
     (["--latency-ms", "80-20"], "--latency-ms"), (["--search-created-at", "now"], "now")],
)  # fmt: skip
def test_bad_options_are_refused(args: list[str], message: str) -> None:
    """Bad option values stop the command with exit 2 and name the option."""
    result = CliRunner().invoke(sandbox_command, ["--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_running_sandbox_in_a_thread() -> None:
    """running_sandbox serves from a background thread; store and stats are readable."""
    config = SandboxConfig(mailboxes=[85], rate_limit=100, window_s=60)
    with running_sandbox(config) as sb:
        assert sb.url.startswith("http://127.0.0.1:")
        _create(sb.url, _token(sb.url), conversation())
        assert sb.store.count_conversations() == 1
        assert sb.store.conversations(mailbox=85)[0]["subject"] == "Printer on fire"
        assert len(sb.store.threads(sb.store.conversations()[0]["id"])) == 3
        assert [c["email"] for c in sb.store.customers()] == ["ann@example.com"]
        assert sb.stats.by_status == {200: 1, 201: 1}
        assert sb.stats.units_per_window == [2]


def test_db_file_keeps_the_state(tmp_path: pytest.TempPathFactory) -> None:
    """With --db the state survives the sandbox and ids continue."""
    db = str(tmp_path / "sandbox.sqlite")  # type: ignore[operator]
    with running_sandbox(SandboxConfig(mailboxes=[85], db=db)) as sb:
        first = _create(sb.url, _token(sb.url), conversation())
    with running_sandbox(SandboxConfig(mailboxes=[85], db=db)) as sb:
        assert sb.store.count_conversations() == 1
        second = _create(sb.url, _token(sb.url), conversation())
    assert int(second) == int(first) + 1
