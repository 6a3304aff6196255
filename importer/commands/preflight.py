"""Set-up against Help Scout, reads only: ``plan``, ``run`` and ``verify`` check the mailbox and
the source-id field before anything is planned, so a wrong one stops the command at once (exit 2)
and leaves nothing behind; ``run`` then gets its agents' directory and planning context here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from importer.commands.agents import UserDirectory
from importer.errors import StoppedError, UsageError
from importer.helpscout.client import HelpScoutClient
from importer.planning.records import plan_context
from importer.planning.stream import count_for_progress
from importer.readers import Export
from importer.settings import RunSettings
from importer.transform.fields import MailboxField, field_kind, fields_by_name
from importer.transform.plan import PlanContext


async def preflight(client: HelpScoutClient, settings: RunSettings) -> dict[str, MailboxField]:
    """Check the mailbox and the source-id field; return the mailbox's custom fields by name."""
    mailbox = settings.mailbox
    mailboxes = await client.list_mailboxes()
    if not any(box.get("id") == mailbox for box in mailboxes):
        known = ", ".join(f"{box.get('id')} ({box.get('name')})" for box in mailboxes) or "none"
        raise UsageError(
            f"--mailbox {mailbox}: no such mailbox for these credentials; known: {known}"
        )
    fields = await client.mailbox_fields(int(mailbox or 0))
    by_name = fields_by_name(fields)
    wanted = settings.transform.source_id_field
    if wanted is not None:
        field = next((f for f in fields if f.get("id") == wanted), None)
        if field is None:
            raise UsageError(
                f"--source-id-field {wanted}: mailbox {mailbox} has no such custom field"
            )
        kind = field_kind(field.get("type"))
        if kind not in ("singleline", "text", ""):
            raise UsageError(
                f"--source-id-field {wanted}: field {field.get('name')!r} is {field.get('type')}; "
                "it must be a single-line text field"
            )
    return by_name


async def token_user(client: HelpScoutClient) -> int | None:
    """The id of the token's own user: the author of replies and notes of unmatched agents."""
    me = await client.me()
    user_id = me.get("id") if isinstance(me, dict) else None
    return user_id if isinstance(user_id, int) else None


async def online_context(
    client: HelpScoutClient,
    settings: RunSettings,
    export: Export,
    *,
    users: dict[str, int],
    mailbox_fields: dict[str, MailboxField],
) -> tuple[PlanContext, UserDirectory]:
    """Planning as ``run`` plans (``run`` and ``verify`` alike): the mailbox's fields, the
    users, the default user (the token's when none is given)."""
    default_user = settings.default_user or await token_user(client)
    directory = UserDirectory(users, client.find_user_by_email)
    ctx = plan_context(
        settings.transform,
        export,
        offline=False,
        mailbox=settings.mailbox,
        resolve_user=directory.resolve,
        default_user=default_user,
        mailbox_fields=mailbox_fields,
    )
    return ctx, directory


@dataclass(frozen=True)
class Ready:
    """What ``run``'s set-up found: the agents' directory, the planning context, and how many
    conversations the run counts to (None: not asked for, or no cheap total)."""

    directory: UserDirectory
    ctx: PlanContext
    total: int | None


async def set_up(
    client: HelpScoutClient,
    export: Export,
    settings: RunSettings,
    *,
    users: dict[str, int],
    count_total: bool,
    stop: asyncio.Event,
) -> Ready:
    """``run``'s set-up, before its checkpoint exists: a refused start leaves nothing behind."""
    mailbox_fields = await preflight(client, settings)
    ctx, directory = await online_context(
        client, settings, export, users=users, mailbox_fields=mailbox_fields
    )
    total = None
    if count_total:  # for the progress bar, or a listener of the run's events
        total = await count_for_progress(export, settings.transform, stop)
    if stop.is_set():  # a stop during set-up that a swallowed cancellation did not carry
        raise StoppedError("stopped during set-up")
    return Ready(directory, ctx, total)
