"""Who may see a page served beside an API, and the headers every page carries.

Why: the sandbox holds a rehearsal's customer data, and a live status page a run's errors. A
page on ``127.0.0.1`` is still reachable from any web site the viewer opens, through DNS
rebinding (a name of the attacker's that resolves to 127.0.0.1): so a page answers only when
the request's ``Host`` names the loopback address and port it came in on. Bound elsewhere, the
sandbox's pages are off unless its app secret was given (``--app-secret``), and then they ask
for the app id and secret (HTTP basic authentication). Every page carries a
Content-Security-Policy without inline scripts or styles, so a message body holding
``<script>`` or a remote image can neither run nor load even if the sanitiser missed it; no
CORS header is ever sent, so no other origin reads a page.

Shared by the sandbox's pages (:mod:`importer.sandbox.web`) and the run's status page
(:mod:`importer.status_page`); it imports nothing of the importer.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape

from aiohttp import web

#: the policy of every page: scripts, styles and images from the page's own server only
#: (images also as ``data:`` URLs, which inline images of a body are)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Credentials:
    """The app id and secret that open the pages on an address that is not loopback."""

    user: str
    secret: str


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, ``[::1]`` or ``localhost``) is a loopback address."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(header: str) -> tuple[str, int | None]:
    """``Host`` header -> (name, port); ``[::1]:80`` -> (``::1``, 80); no port -> None."""
    header = header.strip().lower()
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        name, sep, port_text = header.rpartition(":")
        if not sep:
            name, port_text = header, ""
    try:
        return name, int(port_text) if port_text else None
    except ValueError:
        return name, -1


def served_address(request: web.Request) -> tuple[str, int] | None:
    """The local address and port the request came in on."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not sockname:
        return None
    return str(sockname[0]), int(sockname[1])


def host_matches(request: web.Request) -> bool:
    """The ``Host`` names the loopback address (or ``localhost``) and the port it came in on."""
    served = served_address(request)
    if served is None:
        return False
    address, port = served
    name, host_port = split_host(request.headers.get("Host", ""))
    if host_port is None:
        host_port = 80
    return host_port == port and (name in (address.lower(), "localhost")) and is_loopback(name)


def refusal(request: web.Request, credentials: Credentials | None) -> web.Response | None:
    """Why this request gets no page (the answer to send), or None when it may have one.

    On a loopback bind: refused unless :func:`host_matches`. Elsewhere: refused unless
    ``credentials`` are set and the request gives them (basic authentication).
    """
    served = served_address(request)
    if served is not None and is_loopback(served[0]):
        if host_matches(request):
            return None
        return error_page(
            421,
            "Not this host",
            "These pages answer only requests addressed to the loopback address and port they"
            " are served on (no other host name): open the address the command printed.",
        )
    if credentials is None:
        return error_page(
            403,
            "Pages off on this address",
            "The pages are served on a loopback address only. To serve them on another address,"
            " start the sandbox with --app-secret, and open them with the app id and secret.",
        )
    if _gives(request, credentials):
        return None
    response = error_page(
        401, "App id and secret needed", "Sign in with the sandbox's app id and app secret."
    )
    response.headers["WWW-Authenticate"] = 'Basic realm="sandbox pages", charset="UTF-8"'
    return response


def _gives(request: web.Request, credentials: Credentials) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, _, secret = decoded.partition(":")
    return hmac.compare_digest(user.encode(), credentials.user.encode()) & hmac.compare_digest(
        secret.encode(), credentials.secret.encode()
    )


def secured(response: web.StreamResponse) -> web.StreamResponse:
    """``response`` with :data:`SECURITY_HEADERS` (and never a CORS header)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    for name in [h for h in response.headers if h.lower().startswith("access-control-")]:
        del response.headers[name]
    return response


def error_page(status: int, title: str, message: str) -> web.Response:
    """A small HTML page saying what went wrong and what to do."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{escape(title)}</title><link rel="icon" href="data:,"></head>'
        f"<body><main><h1>{escape(title)}</h1><p>{escape(message)}</p></main></body></html>"
    )
    response = web.Response(status=status, text=body, content_type="text/html")
    secured(response)
    return response


async def guarded(
    request: web.Request, handler: Handler, credentials: Credentials | None
) -> web.StreamResponse:
    """``handler``'s answer when :func:`refusal` lets the request through, with the security
    headers; an HTTP error the handler raises becomes a small page with them too."""
    refused = refusal(request, credentials)
    if refused is not None:
        return refused
    try:
        return secured(await handler(request))
    except web.HTTPException as exc:
        if exc.status < 400:
            secured(exc)
            raise
        return error_page(exc.status, exc.reason, exc.text or exc.reason)
