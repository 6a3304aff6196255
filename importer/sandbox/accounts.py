"""Token endpoint, mailboxes and fields, users, customers."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web

from importer.sandbox.conversations import faultable
from importer.sandbox.hal import (
    customer_json,
    field_json,
    hal,
    mailbox_json,
    page_of,
    user_json,
    vnd_error,
)
from importer.sandbox.reads import parse_stamp
from importer.sandbox.search import Predicate, QueryError, compile_query
from importer.sandbox.state import origin_of, query_int, read_json, sandbox_of
from importer.sandbox.validation import FieldError, check_customer_create


def _oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def _token_params(request: web.Request) -> dict[str, str]:
    """Token request fields from JSON, a form, the query string and HTTP Basic, merged."""
    params: dict[str, str] = dict(request.query.items())
    raw = await request.read()
    ctype = request.content_type
    if raw and (ctype == "application/json" or ctype.endswith("+json")):
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            raise ValueError("the JSON body is not an object")
        params.update({k: str(v) for k, v in body.items() if v is not None})
    elif raw:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user, _, secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise ValueError("the Basic credentials cannot be decoded") from None
        params.setdefault("client_id", user)
        params.setdefault("client_secret", secret)
    return params


async def token(request: web.Request) -> web.StreamResponse:
    """``POST /v2/oauth2/token``: client credentials; OAuth-style errors."""
    sb = sandbox_of(request)
    try:
        params = await _token_params(request)
    except ValueError as exc:
        return _oauth_error("invalid_request", str(exc))
    grant = params.get("grant_type")
    if not grant:
        return _oauth_error("invalid_request", "Missing grant_type")
    if grant not in ("client_credentials", "refresh_token", "authorization_code"):
        return _oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant}")
    if not params.get("client_id") or not params.get("client_secret"):
        return _oauth_error("invalid_request", "Missing client_id or client_secret")
    if params["client_id"] != sb.config.app_id or params["client_secret"] != sb.config.app_secret:
        return _oauth_error("invalid_client", "Bad client credentials")
    if grant == "refresh_token":
        return _oauth_error("invalid_request", "Invalid refresh_token")
    if grant == "authorization_code":
        return _oauth_error("invalid_grant", "Invalid authorization code")
    access, ttl = sb.issue_token()
    return web.json_response({"access_token": access, "token_type": "Bearer", "expires_in": ttl})


def _page(request: web.Request) -> int:
    return query_int(request, "page", 1) or 1


async def list_mailboxes(request: web.Request) -> web.StreamResponse:
    """``GET /v2/mailboxes``."""
    sb = sandbox_of(request)
    origin = origin_of(request)
    items = [mailbox_json(origin, m) for m in sb.store.mailboxes()]
    return hal(page_of(request, "mailboxes", items, _page(request)))


async def mailbox_fields(request: web.Request) -> web.StreamResponse:
    """``GET /v2/mailboxes/{id}/fields``."""
    sb = sandbox_of(request)
    mailbox_id = int(request.match_info["id"])
    if sb.store.mailbox(mailbox_id) is None:
        return vnd_error(404, f"Mailbox {mailbox_id} not found")
    items = [field_json(f) for f in sb.store.fields(mailbox_id)]
    return hal(page_of(request, "fields", items, _page(request)))


async def list_users(request: web.Request) -> web.StreamResponse:
    """``GET /v2/users``: ``email`` is an exact (case-insensitive) match, alternates included."""
    sb = sandbox_of(request)
    users = sb.store.users()
    wanted = request.query.get("email")
    if wanted:
        wanted = wanted.strip().lower()
        users = [u for u in users if wanted in _emails_of(u)]
    origin = origin_of(request)
    return hal(page_of(request, "users", [user_json(origin, u) for u in users], _page(request)))


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
    return hal(page_of(request, "customers", items, _page(request)))


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
    customer_id = sb.store.create_customer(profile, emails, phones, sb.now())
    return web.Response(
        status=201,
        headers={
            "Resource-ID": str(customer_id),
            "Location": f"{origin_of(request)}/v2/customers/{customer_id}",
        },
    )
