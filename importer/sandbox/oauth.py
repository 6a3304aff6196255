"""``POST /v2/oauth2/token``: the client-credentials, authorization-code and refresh-token grants
(helpscout-api.md §1.2), with OAuth-style errors.

The authorization-code grant takes the one fixed code of ``SandboxConfig.authorization_code``
(printed by the listening line), any number of times. It and the refresh grant answer with a
``refresh_token`` too; a refresh token is good for one refresh, which issues the next one
(rotation): used again, or never issued, it gets 400 ``invalid_request``, as the API answers.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web

from importer.sandbox.state import Sandbox, sandbox_of

GRANTS = ("client_credentials", "refresh_token", "authorization_code")


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


def _tokens(sb: Sandbox, *, refresh: bool) -> web.Response:
    access, ttl = sb.issue_token()
    body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ttl}
    if refresh:
        body["refresh_token"] = sb.issue_refresh_token()
    return web.json_response(body)


async def token(request: web.Request) -> web.StreamResponse:
    """``POST /v2/oauth2/token``."""
    sb = sandbox_of(request)
    try:
        params = await _token_params(request)
    except ValueError as exc:
        return _oauth_error("invalid_request", str(exc))
    grant = params.get("grant_type")
    if not grant:
        return _oauth_error("invalid_request", "Missing grant_type")
    if grant not in GRANTS:
        return _oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant}")
    if not params.get("client_id") or not params.get("client_secret"):
        return _oauth_error("invalid_request", "Missing client_id or client_secret")
    if params["client_id"] != sb.config.app_id or params["client_secret"] != sb.config.app_secret:
        return _oauth_error("invalid_client", "Bad client credentials")
    if grant == "refresh_token":
        if not sb.redeem_refresh_token(params.get("refresh_token", "")):
            return _oauth_error("invalid_request", "Invalid refresh_token")
        return _tokens(sb, refresh=True)
    if grant == "authorization_code":
        if not params.get("code"):
            return _oauth_error("invalid_request", "Missing code")
        if params["code"] != sb.config.authorization_code:
            return _oauth_error("invalid_grant", "Invalid authorization code")
        return _tokens(sb, refresh=True)
    return _tokens(sb, refresh=False)
