"""What the client needs before it opens a socket: the API URL rule, TLS, timeouts."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from importer.errors import UsageError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_TOTAL_TIMEOUT_S",
    "Timeouts",
    "check_api_url",
    "is_loopback_host",
    "make_ssl_context",
]

DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_TOTAL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to connect, and for a whole request (connect, send, answer)."""

    connect: float = DEFAULT_CONNECT_TIMEOUT_S
    total: float = DEFAULT_TOTAL_TIMEOUT_S

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        """The equivalent aiohttp timeout."""
        return aiohttp.ClientTimeout(
            total=self.total, connect=self.connect, sock_connect=self.connect
        )


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str) -> str:
    """The API URL without a trailing slash; ``https`` anywhere, plain ``http`` only on loopback.

    :raises UsageError: for another scheme, a missing host, or ``http`` to a remote host.
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(
            f"--api-url must be an http(s) URL with a host, got {parts.scheme}://{host}{parts.path}"
        )
    if parts.username or parts.password or parts.query:
        raise UsageError("--api-url must not hold credentials or a query string")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise UsageError(
            f"--api-url http://{host} is not a loopback address: use https, or "
            "http only for 127.0.0.1, localhost or ::1 (the sandbox)"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def make_ssl_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """The system trust store, plus the certificates of ``ca_bundle`` when given. Verification
    is always on; there is deliberately no way to turn it off."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"--ca-bundle {ca_bundle}: cannot load CA certificates ({type(exc).__name__}); "
                "give a PEM file of CA certificates"
            ) from None
    return context
