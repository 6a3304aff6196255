"""``make demo``: start the sandbox, import every export under samples/ and verify each import
(``importer verify``), print the reports, stop.

State lives under .demo/ (the sandbox's database and one checkpoint per export), so a second
``make demo`` finds everything already imported; ``make demo-clean`` resets it. Exits 0 when every
import and every verify exits 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
PORT = int(os.environ.get("SANDBOX_PORT", "8765"))
MAILBOX = "85"
# the Help Scout sample is a dump of a mailbox: it is merged into another one, as a user would
MAILBOX_OF = {"helpscout": "86"}
RATE = "1200"
AGENTS = (  # the samples' agents, so that their replies are theirs in the sandbox
    "sam@northwind.example",
    "priya@northwind.example",
    "priya.raman@support.example",
    "tom.becker@support.example",
    "aiko.tanaka@support.example",
    "sam.osei@support.example",
)
# the platform samples name attachments by URL on this host (scripts/sample_files.py), as an
# old help desk's file links: the demo serves samples/ there while it imports
FILES_PORT = 8766


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_sample_files() -> ThreadingHTTPServer | None:
    """samples/ on 127.0.0.1:8766 in a thread, or None (with a note) when the port is taken."""
    handler = partial(_QuietFiles, directory=str(ROOT / "samples"))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", FILES_PORT), handler)
    except OSError as exc:
        print(
            f"note: cannot serve the samples' attachment files on port {FILES_PORT} ({exc}); "
            "the imports go on without them, each file named in its report",
            flush=True,
        )
        return None
    threading.Thread(target=server.serve_forever, name="sample-files", daemon=True).start()
    return server


def start_sandbox() -> subprocess.Popen[str]:
    DEMO.mkdir(mode=0o700, exist_ok=True)  # customer data: its owner's alone
    command = [
        sys.executable,
        "-m",
        "importer",
        "sandbox",
        "--port",
        str(PORT),
        "--mailbox",
        MAILBOX,
        "--mailbox",
        MAILBOX_OF["helpscout"],
        "--db",
        str(DEMO / "sandbox.sqlite"),
        "--rate-limit",
        RATE,
        *[arg for agent in AGENTS for arg in ("--user", agent)],
    ]
    sandbox = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert sandbox.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = sandbox.stderr.readline()
        if not line:
            break
        if re.search(r"listening on http://", line):
            print(line.strip(), flush=True)
            return sandbox
    sandbox.kill()
    raise SystemExit(
        f"the sandbox did not start on port {PORT} (is the port taken? set SANDBOX_PORT)"
    )


def main() -> int:
    exports = sorted(p for p in (ROOT / "samples").glob("*/export") if p.is_dir())
    sandbox = start_sandbox()
    files = serve_sample_files()
    env = dict(os.environ, HELPSCOUT_APP_ID="sandbox", HELPSCOUT_APP_SECRET="sandbox")
    env.pop("HELPSCOUT_ACCESS_TOKEN", None)
    worst = 0
    try:
        for export in exports:
            name = export.parent.name
            mailbox = MAILBOX_OF.get(name, MAILBOX)
            print(
                f"\n== importing samples/{name}/export into the sandbox (mailbox {mailbox})",
                flush=True,
            )
            command = [
                sys.executable,
                "-m",
                "importer",
                "run",
                str(export.relative_to(ROOT)),
                "--mailbox",
                mailbox,
                "--api-url",
                f"http://127.0.0.1:{PORT}",
                "--rate-limit",
                RATE,
                "--checkpoint",
                str(DEMO / f"{name}.checkpoint.sqlite"),
                "--report",
                str(DEMO / f"{name}-report.json"),
                # the sample files' server is on this machine, refused unless allowed
                "--allow-host",
                "127.0.0.1",
            ]
            code = subprocess.call(command, cwd=ROOT, env=env)
            print(f"-> exit {code}; report in .demo/{name}-report.json", flush=True)
            worst = max(worst, code)
            print(f"== verifying samples/{name}/export against the sandbox", flush=True)
            verify = [
                *command[:3],
                "verify",
                "--checkpoint",
                str(DEMO / f"{name}.checkpoint.sqlite"),
                "--report",
                str(DEMO / f"{name}-verify.json"),
            ]
            code = subprocess.call(verify, cwd=ROOT, env=env)
            print(f"-> exit {code}; report in .demo/{name}-verify.json", flush=True)
            worst = max(worst, code)
    finally:
        if files is not None:
            files.shutdown()
        sandbox.terminate()
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
    print(
        "\n== the rehearsal as the agents will see it: start the sandbox on the demo's state,"
        f"\n   .venv/bin/importer sandbox --db .demo/sandbox.sqlite --port {PORT}"
        f"\n   and open http://127.0.0.1:{PORT}/ (the samples are in mailboxes {MAILBOX} and"
        f" {MAILBOX_OF['helpscout']})",
        flush=True,
    )
    return worst


if __name__ == "__main__":
    sys.exit(main())
