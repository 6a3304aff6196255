"""The sandbox's read-only web pages, served at ``/`` beside the API: the mailboxes, a
mailbox's conversations (paged, searchable by subject or customer email), and one conversation
as Help Scout shows it.

Why: a migration is judged by how its history looks to the agents afterwards; these pages let
a person look at a rehearsal that way before the real run. They read the sandbox's store
directly (never the API, so they spend no rate-limit budget and need no token) and change
nothing. Who may see them is :mod:`importer.sandbox.web.guard`'s decision.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from importer.sandbox.config import DEFAULT_APP_SECRET
from importer.sandbox.state import sandbox_of
from importer.sandbox.web import guard, pages
from importer.sandbox.web.guard import Credentials, Handler

#: the files under ``/static/``, and their types
STATIC_FILES = {"sandbox.css": "text/css", "sandbox.js": "text/javascript"}


def static_handler(package: str, files: dict[str, str]) -> Handler:
    """A handler serving ``/static/{name}`` from ``package``'s ``static`` folder (only
    ``files``, by name)."""

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound(text="No such file.")
        data = resources.files(package).joinpath("static", name).read_bytes()
        return web.Response(body=data, content_type=files[name], charset="utf-8")

    return serve


@web.middleware
async def pages_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request but the API's (``/v2/``) goes through :func:`guard.guarded`: pages on a
    loopback bind need their own ``Host``; elsewhere, the app id and a secret that was given."""
    if request.path.startswith("/v2/"):
        return await handler(request)
    config = sandbox_of(request).config
    given = config.app_secret != DEFAULT_APP_SECRET
    credentials = Credentials(config.app_id, config.app_secret) if given else None
    return await guard.guarded(request, handler, credentials)


def add_web_routes(app: web.Application) -> None:
    """Register the pages on the sandbox's ``app`` (its middlewares must begin with
    :func:`pages_guard`)."""
    app.router.add_get("/", pages.mailboxes)
    app.router.add_get(r"/mailboxes/{id:\d+}", pages.conversations)
    app.router.add_get(r"/conversations/{id:\d+}", pages.conversation)
    app.router.add_get(r"/conversations/{id:\d+}/attachments/{attachment_id:\d+}", pages.attachment)
    app.router.add_get(r"/conversation/{id:\d+}/{number:\d+}", pages.web_link)
    app.router.add_get("/static/{name}", static_handler(__name__, STATIC_FILES))
