"""Run the real ``tap-helpscout`` against another base URL (the sandbox), from an authorization
code.

Run with the Python of the tap's own environment (``.venv-tap/bin/python``, ``make tap-env``),
never the project's: it imports nothing of the importer.

::

    python tap_wrapper.py API_URL [--authorization-code CODE] -- TAP-ARGUMENTS...

The tap has no base-URL option: its client posts to ``https://api.helpscout.net/v2/oauth2/token``
and reads ``https://api.helpscout.net/v2/...``. This wrapper patches ``requests.Session.request``,
which every request of the tap goes through, to send what starts with that address to
``API_URL`` instead; nothing of the tap itself is patched. With ``--authorization-code``, the code
is first exchanged at ``API_URL``'s token endpoint (``grant_type=authorization_code`` with the
config's ``client_id`` and ``client_secret``) and the refresh token answered is written into the
tap's ``--config`` file, as a person setting the tap up would; the tap then refreshes it (and writes
the rotated one back to the file itself) as it does against Help Scout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import requests

HELPSCOUT = "https://api.helpscout.net"


def point_requests_at(base: str) -> None:
    """Every ``requests`` call to ``https://api.helpscout.net...`` goes to ``base...``."""
    original = requests.Session.request

    def request(self: requests.Session, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(HELPSCOUT):
            url = base + url[len(HELPSCOUT) :]
        return original(self, method, url, *args, **kwargs)

    requests.Session.request = request  # type: ignore[method-assign]


def exchange_code(base: str, config_path: Path, code: str) -> None:
    """Put the refresh token the code is exchanged for into the tap's config file."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    answer = requests.post(
        f"{base}/v2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": config["client_id"],
            "client_secret": config["client_secret"],
        },
        timeout=30,
    )
    if answer.status_code != 200:
        sys.exit(f"the authorization code was refused: {answer.status_code} {answer.text}")
    config["refresh_token"] = answer.json()["refresh_token"]
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="tap_wrapper.py", usage="%(prog)s API_URL [--authorization-code CODE] -- TAP-ARGS..."
    )
    parser.add_argument("api_url")
    parser.add_argument("--authorization-code")
    if "--" not in argv:
        parser.error("give the tap's own arguments after --")
    split = argv.index("--")
    options, tap_args = parser.parse_args(argv[:split]), argv[split + 1 :]
    base = options.api_url.rstrip("/")
    if options.authorization_code:
        config = argparse.ArgumentParser(add_help=False)
        config.add_argument("--config", "-c", required=True)
        known, _ = config.parse_known_args(tap_args)
        exchange_code(base, Path(known.config), options.authorization_code)
    point_requests_at(base)
    from tap_helpscout import main as tap_main  # after the patch, as the tap would be started

    sys.argv = ["tap-helpscout", *tap_args]
    tap_main()


if __name__ == "__main__":
    main(sys.argv[1:])
