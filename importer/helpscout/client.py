"""The Help Scout Mailbox API 2.0 client: the endpoints the importer uses.

Each is one request (or one walk over pages) through :class:`ApiSession`, which paces, retries,
refreshes the token and classifies every answer (:mod:`importer.helpscout.session`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from importer.helpscout.outcome import Outcome, RequestKind
from importer.helpscout.session import ApiSession, ClientStats, _embedded

__all__ = ["ClientStats", "HelpScoutClient"]


class HelpScoutClient(ApiSession):
    """Async client of the Mailbox API 2.0; use as ``async with HelpScoutClient(...) as c``."""

    # --- writes ------------------------------------------------------------------------------

    async def create_conversation(self, payload: dict[str, Any]) -> Outcome:
        """``POST /v2/conversations`` once per attempt: CREATED, REJECTED or IN_DOUBT."""
        return await self._call(
            "POST", "/v2/conversations", RequestKind.WRITE, json_body=payload, not_found_fatal=True
        )

    async def create_customer(self, body: dict[str, Any]) -> Outcome:
        """``POST /v2/customers``: CREATED (customer id), REJECTED or IN_DOUBT."""
        return await self._call(
            "POST", "/v2/customers", RequestKind.WRITE, json_body=body, not_found_fatal=True
        )

    async def upload_attachment(
        self,
        conversation_id: int,
        thread_id: int,
        file_name: str,
        *,
        mime_type: str,
        data_b64: str,
    ) -> Outcome:
        """Attach a file to a thread; a 404 (conversation or thread gone) is REJECTED."""
        path = f"/v2/conversations/{int(conversation_id)}/threads/{int(thread_id)}/attachments"
        body = {"fileName": file_name, "mimeType": mime_type, "data": data_b64}
        return await self._call("POST", path, RequestKind.WRITE, json_body=body, require_id=False)

    # --- reads -------------------------------------------------------------------------------

    async def iter_conversations(
        self,
        mailbox: int,
        *,
        status: str = "all",
        modified_since: str | None = None,
        query: str | None = None,
        custom_fields_by_ids: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every conversation ``GET /v2/conversations`` lists (status ``all`` unless told
        otherwise), page after page."""
        params: dict[str, str] = {"mailbox": str(int(mailbox)), "status": status}
        if modified_since:
            params["modifiedSince"] = modified_since
        if query:
            params["query"] = query
        if custom_fields_by_ids:
            params["customFieldsByIds"] = custom_fields_by_ids
        async for conversation in self._iter_pages("/v2/conversations", "conversations", params):
            yield conversation

    async def get_conversation(
        self, conversation_id: int, *, embed_threads: bool = False
    ) -> dict[str, Any]:
        """``GET /v2/conversations/{id}``; a 404 raises :class:`RejectedApiError`."""
        params = {"embed": "threads"} if embed_threads else None
        return await self._get_json(f"/v2/conversations/{int(conversation_id)}", params)

    async def look_up_conversation(
        self, conversation_id: int, *, embed_threads: bool = False
    ) -> Outcome:
        """``GET /v2/conversations/{id}`` as an outcome, for ``undo``: OK with the body,
        REJECTED ``not_found`` (deleted, or never there) or ``redirect`` (a 301: merged into
        another conversation; redirects are never followed)."""
        params = {"embed": "threads"} if embed_threads else None
        path = f"/v2/conversations/{int(conversation_id)}"
        return await self._call("GET", path, RequestKind.READ, params=params)

    async def delete_conversation(self, conversation_id: int) -> Outcome:
        """``DELETE /v2/conversations/{id}`` (documented: 204): CREATED (its status 204),
        REJECTED ``not_found`` (404: gone already), IN_DOUBT (the answer was lost: look the
        conversation up before sending it again), FATAL (403...)."""
        path = f"/v2/conversations/{int(conversation_id)}"
        return await self._call("DELETE", path, RequestKind.WRITE, require_id=False)

    async def list_threads(self, conversation_id: int) -> list[dict[str, Any]]:
        """Every thread of a conversation (API order: newest first), following pages."""
        return await self._paged(f"/v2/conversations/{int(conversation_id)}/threads", "threads")

    async def list_mailboxes(self) -> list[dict[str, Any]]:
        """Every mailbox the token's user can see."""
        return await self._paged("/v2/mailboxes", "mailboxes")

    async def list_users(self) -> list[dict[str, Any]]:
        """Every user of the account (``GET /v2/users``, every page)."""
        return await self._paged("/v2/users", "users")

    async def mailbox_fields(self, mailbox: int) -> list[dict[str, Any]]:
        """The custom fields of a mailbox; an unknown mailbox raises :class:`FatalApiError`."""
        return await self._paged(
            f"/v2/mailboxes/{int(mailbox)}/fields", "fields", not_found_fatal=True
        )

    async def me(self) -> dict[str, Any]:
        """The user the token belongs to."""
        return await self._get_json("/v2/users/me")

    async def find_user_by_email(self, email: str) -> dict[str, Any] | None:
        """The user with this email (or alternate email), compared case-insensitively."""
        body = await self._get_json("/v2/users", {"email": email})
        wanted = email.strip().lower()
        for user in _embedded(body, "users"):
            emails = [user.get("email"), *(user.get("alternateEmails") or [])]
            if any(isinstance(e, str) and e.strip().lower() == wanted for e in emails):
                return user
        return None

    async def find_customer_by_email(
        self, email: str, *, max_pages: int = 5
    ) -> dict[str, Any] | None:
        """The customer whose email is exactly ``email`` (case-insensitive). The search is
        fuzzy ("containing"), so every hit is checked client-side."""
        wanted = email.strip().lower()
        escaped = email.strip().replace("\\", "\\\\").replace('"', '\\"')
        params = {"query": f'(email:"{escaped}")'}
        async for customer in self._iter_pages(
            "/v2/customers", "customers", params, max_pages=max_pages
        ):
            if wanted in _customer_emails(customer):
                return customer
        return None

    async def find_customer_by_marker(
        self, marker: str, modified_since: str
    ) -> dict[str, Any] | None:
        """The customer created since ``modified_since`` whose ``background`` is ``marker``
        (how a customer without email is found again after its create answer was lost)."""
        params = {"modifiedSince": modified_since, "sortField": "modifiedAt", "sortOrder": "asc"}
        async for customer in self._iter_pages("/v2/customers", "customers", params):
            if customer.get("background") == marker:
                return customer
        return None


def _customer_emails(customer: dict[str, Any]) -> set[str]:
    found: list[Any] = [customer.get("email")]
    for container in (customer.get("emails"), _embedded(customer, "emails")):
        if isinstance(container, list):
            found.extend(e.get("value") if isinstance(e, dict) else e for e in container)
    return {e.strip().lower() for e in found if isinstance(e, str)}
