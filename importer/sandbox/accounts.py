"""Mailboxes, their fields and folders, users, customers; teams, workflows and the happiness
ratings report (always empty: the sandbox has none, but a client listing them gets 200)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from importer.sandbox.conversations import faultable
from importer.sandbox.hal import (
    customer_json,
    field_json,
    hal,
    iso,
    mailbox_json,
    page_of,
    user_json,
    vnd_error,
)
from importer.sandbox.reads import parse_stamp
from importer.sandbox.search import Predicate, QueryError, compile_query
from importer.sandbox.state import origin_of, query_int, read_json, sandbox_of
from importer.sandbox.validation import FieldError, check_customer_create


def _page(request: web.Request) -> int:
    return query_int(request, "page", 1) or 1


async def list_mailboxes(request: web.Request) -> web.StreamResponse:
    """``GET /v2/mailboxes``."""
    sb = sandbox_of(request)
    origin = origin_of(request)
    items = [mailbox_json(origin, m) for m in sb.store.mailboxes()]
    return hal(page_of(request, "mailboxes", items, page=_page(request)))


async def mailbox_fields(request: web.Request) -> web.StreamResponse:
    """``GET /v2/mailboxes/{id}/fields``."""
    sb = sandbox_of(request)
    mailbox_id = int(request.match_info["id"])
    if sb.store.mailbox(mailbox_id) is None:
        return vnd_error(404, f"Mailbox {mailbox_id} not found")
    items = [field_json(f) for f in sb.store.fields(mailbox_id)]
    return hal(page_of(request, "fields", items, page=_page(request)))


async def mailbox_folders(request: web.Request) -> web.StreamResponse:
    """``GET /v2/mailboxes/{id}/folders``: one folder, ``folderId`` of its conversations."""
    sb = sandbox_of(request)
    mailbox = sb.store.mailbox(int(request.match_info["id"]))
    if mailbox is None:
        return vnd_error(404, f"Mailbox {request.match_info['id']} not found")
    rows = sb.store.conversations(mailbox["id"])
    folder = {
        "id": mailbox["id"] * 100 + 1, "name": "Unassigned", "type": "open", "userId": 0,
        "totalCount": len(rows), "activeCount": sum(r["status"] == "active" for r in rows),
        "updatedAt": iso(max((r["modified_at"] for r in rows), default=sb.now())),
    }  # fmt: skip
    return hal(page_of(request, "folders", [folder], page=_page(request)))


async def nothing_listed(request: web.Request) -> web.StreamResponse:
    """``GET /v2/teams``, ``/v2/workflows``: an empty page (``_embedded`` left out)."""
    return hal(page_of(request, request.path.rsplit("/", 1)[-1], [], page=_page(request)))


async def team_members(request: web.Request) -> web.StreamResponse:
    """``GET /v2/teams/{id}/members``: 404, there are no teams."""
    return vnd_error(404, f"Team {request.match_info['id']} not found")


async def happiness_ratings(request: web.Request) -> web.StreamResponse:
    """``GET /v2/reports/happiness/ratings``: no ratings, in the report's own paging."""
    return hal({"results": [], "page": _page(request), "pages": 1, "count": 0})


async def list_users(request: web.Request) -> web.StreamResponse:
    """``GET /v2/users``: ``email`` is an exact (case-insensitive) match, alternates included."""
    sb = sandbox_of(request)
    users = sb.store.users()
    wanted = request.query.get("email")
    if wanted:
        wanted = wanted.strip().lower()
        users = [u for u in users if wanted in _emails_of(u)]
    origin = origin_of(request)
    return hal(
        page_of(request, "users", [user_json(origin, u) for u in users], page=_page(request))
    )


def _emails_of(user: dict[str, Any]) -> list[str]:
    return [user["email"].lower(), *(a.lower() for a in user["alternate_emails"] or [])]


async def me(request: web.Request) -> web.StreamResponse:
    """``GET /v2/users/me``: the token's owner, user 1."""
    sb = sandbox_of(request)
    user = sb.store.user(1)
    assert user is not None
    return hal(user_json(origin_of(request), user))


def _contains(key: str, wanted: str) -> Predicate:
    return lambda doc: wanted in str(doc[key] or "").lower()


async def list_customers(request: web.Request) -> web.StreamResponse:
    """``GET /v2/customers``: ``query`` (``email:"..."`` matches emails containing it)."""
    sb = sandbox_of(request)
    predicates = []
    if request.query.get("query"):
        try:
            predicates.append(compile_query(request.query["query"]))
        except QueryError as exc:
            return vnd_error(400, "Bad request", [FieldError("query", str(exc),
                                                             request.query["query"])])  # fmt: skip
    for name in ("firstName", "lastName"):
        if request.query.get(name):
            wanted = request.query[name].lower()
            predicates.append(_contains(name, wanted))
    since = None
    if request.query.get("modifiedSince"):
        since = parse_stamp(request.query["modifiedSince"])
        if since is None:
            error = FieldError("modifiedSince", "malformed date", request.query["modifiedSince"])
            return vnd_error(400, "Bad request", [error])
    origin = origin_of(request)
    items = []
    for row in sb.store.customers():
        if not sb.visible(row["created_via_api_at"]):
            continue
        if since is not None and row["created_via_api_at"] < since:
            continue
        doc: dict[str, Any] = {
            "id": row["id"], "firstName": row["first_name"], "lastName": row["last_name"],
            "emails": [e["value"].lower() for e in row["emails"]],
            "subject": "", "body": "", "tags": [],
        }  # fmt: skip
        if all(p(doc) for p in predicates):
            items.append(customer_json(origin, row))
    return hal(page_of(request, "customers", items, page=_page(request)))


async def get_customer(request: web.Request) -> web.StreamResponse:
    """``GET /v2/customers/{id}``."""
    sb = sandbox_of(request)
    row = sb.store.customer(int(request.match_info["id"]))
    if row is None:
        return vnd_error(404, f"Customer {request.match_info['id']} not found")
    return hal(customer_json(origin_of(request), row))


@faultable
async def create_customer(request: web.Request) -> web.StreamResponse:
    """``POST /v2/customers`` (§5.3) -> 201 + Resource-ID; an email already held -> 409."""
    sb = sandbox_of(request)
    body = await read_json(request, sb.config.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    errors = check_customer_create(body)
    if errors:
        return vnd_error(400, "Bad request", errors)
    emails = [
        {"type": e.get("type") or "work", "value": e["value"]} for e in body.get("emails") or []
    ]
    for email in emails:
        if sb.store.customer_id_by_email(email["value"]) is not None:
            return vnd_error(409, f"A customer with email {email['value']} already exists")
    phones = [
        {"type": p.get("type") or "work", "value": p["value"]} for p in body.get("phones") or []
    ]
    if body.get("phone"):
        phones.append({"type": "work", "value": body["phone"]})
    profile = {k: v for k, v in body.items() if k not in ("emails", "phones", "phone")}
    customer_id = sb.store.create_customer(profile, emails, phones, now=sb.now())
    return web.Response(
        status=201,
        headers={
            "Resource-ID": str(customer_id),
            "Location": f"{origin_of(request)}/v2/customers/{customer_id}",
        },
    )
