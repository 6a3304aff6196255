"""The ``aiohttp.web`` application: routes, and one middleware for latency, auth, limits, faults.

Order of checks for every ``/v2/*`` request except the token endpoint:
latency -> bearer token (401) -> budget (429, nothing spent) -> fault draw on the writes
(``throttle``: 429, nothing spent) -> spend 2 units for a write, 1 for a read -> the fault's
effect around the handler -> rate-limit headers on the answer.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable

from aiohttp import web

from importer.sandbox import accounts, conversations, oauth, reads
from importer.sandbox.agents import add_agent_routes
from importer.sandbox.config import SandboxConfig
from importer.sandbox.hal import vnd_error
from importer.sandbox.limits import cost_of
from importer.sandbox.state import SANDBOX_KEY, ParamError, Sandbox, sandbox_of
from importer.sandbox.store import Store
from importer.sandbox.validation import FieldError
from importer.sandbox.web import add_web_routes, pages_guard

TOKEN_PATH = "/v2/oauth2/token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _authorized(sb: Sandbox, request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and sb.token_valid(token.strip())


def _too_many(sb: Sandbox) -> web.Response:
    wait = str(sb.limiter.retry_after())
    return web.json_response(
        {"message": "API rate limit exceeded"},
        status=429,
        headers={"X-RateLimit-Retry-After": wait, "Retry-After": wait},
    )


def _finish(sb: Sandbox, response: web.StreamResponse) -> web.StreamResponse:
    """Rate-limit headers on the answer, and count it."""
    budget = sb.limiter.peek()
    if budget is not None:
        response.headers["X-RateLimit-Limit-Minute"] = str(budget.limit)
        response.headers["X-RateLimit-Remaining-Minute"] = str(budget.remaining)
    sb.stats.record_status(response.status)
    return response


def _close_connection(request: web.Request, *, reset: bool) -> None:
    """Close the connection without an answer; ``reset`` sends a TCP RST instead of a FIN."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


async def _call(handler: Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except ParamError as exc:
        value = request.query.get(str(exc))
        return vnd_error(400, "Bad request", [FieldError(str(exc), "must be 1 or more", value)])
    except web.HTTPException as exc:
        return vnd_error(exc.status, exc.reason)


@web.middleware
async def sandbox_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency, auth, rate limit and faults around every handler."""
    if not request.path.startswith("/v2/"):
        return await handler(request)  # the web pages: no token, no budget (importer.sandbox.web)
    sb = sandbox_of(request)
    if sb.config.latency_ms is not None:
        low, high = sb.config.latency_ms
        await asyncio.sleep(sb.rng.uniform(low, high) / 1000.0)
    if request.path == TOKEN_PATH:
        return _finish(sb, await _call(handler, request))
    if not _authorized(sb, request):
        response = vnd_error(401, "Invalid, missing or expired access token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="sandbox"'
        return _finish(sb, response)
    cost = cost_of(request.method)
    if not sb.limiter.allows(cost):
        return _finish(sb, _too_many(sb))
    faultable = getattr(request.match_info.handler, "faultable", False)
    fault = sb.faults.draw() if faultable and request.method == "POST" else None
    if fault is not None:
        sb.stats.record_fault(fault)
    if fault == "throttle":
        return _finish(sb, _too_many(sb))
    sb.limiter.spend(cost)
    if fault == "error500":
        return _finish(sb, vnd_error(500, "Internal Server Error"))
    if fault == "reset":
        _close_connection(request, reset=True)
        return web.Response(status=204)  # never reaches the client: the transport is gone
    answer = await _call(handler, request)
    if fault == "drop":
        _close_connection(request, reset=False)
        return answer  # aiohttp cannot write it to the closed transport and lets it go
    if fault == "slow":
        await asyncio.sleep(sb.config.slow_s)
    return _finish(sb, answer)


def build_app(config: SandboxConfig, store: Store | None = None) -> web.Application:
    """The sandbox as an ``aiohttp.web.Application``; its state is ``app[SANDBOX_KEY]``."""
    client_max = max(config.max_body_bytes, config.max_attachment_bytes) + 1024 * 1024
    app = web.Application(middlewares=[pages_guard, sandbox_middleware], client_max_size=client_max)
    app[SANDBOX_KEY] = Sandbox(config, store)
    conv = r"/v2/conversations/{id:\d+}"
    app.router.add_post(TOKEN_PATH, oauth.token)
    app.router.add_get("/v2/conversations", reads.list_conversations)
    app.router.add_post("/v2/conversations", conversations.create_conversation)
    app.router.add_get(conv, reads.get_conversation)
    add_agent_routes(app, conv)  # DELETE, reply, notes, PATCH (importer undo's tests)
    app.router.add_get(f"{conv}/threads", reads.list_threads)
    app.router.add_get(conv + r"/attachments/{attachment_id:\d+}/data", reads.attachment_data)
    app.router.add_post(
        conv + r"/threads/{thread_id:\d+}/attachments", conversations.upload_attachment
    )
    app.router.add_get("/v2/mailboxes", accounts.list_mailboxes)
    app.router.add_get(r"/v2/mailboxes/{id:\d+}/fields", accounts.mailbox_fields)
    app.router.add_get(r"/v2/mailboxes/{id:\d+}/folders", accounts.mailbox_folders)
    app.router.add_get("/v2/teams", accounts.nothing_listed)
    app.router.add_get(r"/v2/teams/{id:\d+}/members", accounts.team_members)
    app.router.add_get("/v2/workflows", accounts.nothing_listed)
    app.router.add_get("/v2/reports/happiness/ratings", accounts.happiness_ratings)
    app.router.add_get("/v2/users", accounts.list_users)
    app.router.add_get("/v2/users/me", accounts.me)
    app.router.add_get("/v2/customers", accounts.list_customers)
    app.router.add_post("/v2/customers", accounts.create_customer)
    app.router.add_get(r"/v2/customers/{id:\d+}", accounts.get_customer)
    add_web_routes(app)
    return app
