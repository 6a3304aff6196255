"""Every option of the sandbox in one dataclass, shared by ``importer sandbox`` and the tests."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from importer.errors import SandboxError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_APP_ID = "sandbox"
DEFAULT_APP_SECRET = "sandbox"
#: the authorization code the sandbox accepts (any number of times); its listening line prints it
DEFAULT_AUTHORIZATION_CODE = "sandbox-code"
DEFAULT_WINDOW_S: float = 60
DEFAULT_TOKEN_TTL = 172800
DEFAULT_MAX_BODY_BYTES = 262144
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
DEFAULT_SLOW_S: float = 30
DEFAULT_SEARCH_LAG: float = 0
DEFAULT_SEARCH_CREATED_AT = "historical"
DEFAULT_MAILBOX_ID = 1
DEFAULT_OWNER_EMAIL = "owner@sandbox.test"
PAGE_SIZE = 50

FAULT_KINDS = ("error500", "drop", "reset", "slow", "throttle")
SEARCH_CREATED_AT_MODES = ("historical", "api")
DEFAULT_DELETED_GET = "404"
DELETED_GET_MODES = ("404", "state")


@dataclass(frozen=True)
class FieldSpec:
    """A custom field of a mailbox, as ``GET /v2/mailboxes/{id}/fields`` lists it."""

    id: int
    name: str
    type: str = "singleline"
    required: bool = False
    order: int = 1
    #: dropdown options as ``(option id, label)`` pairs
    options: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class UserSpec:
    """A Help Scout user (agent) of the sandbox account."""

    email: str
    first_name: str = ""
    last_name: str = ""
    alternate_emails: tuple[str, ...] = ()


DEFAULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(id=1, name="Source ID", type="singleline", order=1),
    FieldSpec(
        id=2,
        name="Priority",
        type="dropdown",
        order=2,
        options=((21, "Low"), (22, "Normal"), (23, "High")),
    ),
    FieldSpec(id=3, name="Notes", type="multiline", order=3),
)


@dataclass
class SandboxConfig:
    """Options of the sandbox; CLI flags map one to one onto these fields."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    #: SQLite file holding the state; ``None`` keeps it in memory
    db: str | None = None
    #: mailboxes besides mailbox 1
    mailboxes: Sequence[int] = ()
    #: users besides user 1 (``owner@sandbox.test``); an email or a UserSpec
    users: Sequence[str | UserSpec] = ()
    app_id: str = DEFAULT_APP_ID
    app_secret: str = DEFAULT_APP_SECRET
    #: the code ``grant_type=authorization_code`` exchanges for an access and a refresh token
    authorization_code: str = DEFAULT_AUTHORIZATION_CODE
    #: units per window; ``None`` means unlimited
    rate_limit: int | None = None
    window_s: float = DEFAULT_WINDOW_S
    token_ttl: float = DEFAULT_TOKEN_TTL
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: body limit of attachment uploads (v1 documented 10 MB); no CLI flag
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    #: fault kind -> rate between 0 and 1
    faults: Mapping[str, float] = field(default_factory=dict)
    slow_s: float = DEFAULT_SLOW_S
    search_lag: float = DEFAULT_SEARCH_LAG
    search_created_at: str = DEFAULT_SEARCH_CREATED_AT
    #: what a GET of a deleted conversation answers: "404", or "state" (the conversation with
    #: ``state: deleted``); the real API's behaviour is not documented
    deleted_get: str = DEFAULT_DELETED_GET
    #: extra latency of every answer, in milliseconds
    latency_ms: tuple[int, int] | None = None
    seed: int | None = None
    #: custom fields given to every mailbox; ``mailbox_fields`` overrides per mailbox
    fields: Sequence[FieldSpec] = DEFAULT_FIELDS
    mailbox_fields: Mapping[int, Sequence[FieldSpec]] = field(default_factory=dict)
    #: HTTP status for a create naming an unknown mailboxId: 400 (path mailboxId) or 404
    unknown_mailbox_status: int = 400
    #: clock of the rate-limit windows (monotonic seconds)
    clock: Callable[[], float] = time.monotonic
    #: wall clock of stamps, token expiry and search lag (epoch seconds)
    wall_clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse values the sandbox cannot run with, naming the option."""
        for kind, rate in self.faults.items():
            if kind not in FAULT_KINDS:
                raise SandboxError(
                    f"--fault: unknown kind {kind!r}; use one of {', '.join(FAULT_KINDS)}"
                )
            if not 0.0 <= rate <= 1.0:
                raise SandboxError(f"--fault {kind}={rate}: the rate must be between 0 and 1")
        if sum(self.faults.values()) > 1.0 + 1e-9:
            raise SandboxError("--fault: the rates add up to more than 1")
        if self.search_created_at not in SEARCH_CREATED_AT_MODES:
            raise SandboxError("--search-created-at: use historical or api")
        if self.deleted_get not in DELETED_GET_MODES:
            raise SandboxError("--deleted-get: use 404 or state")
        if self.rate_limit is not None and self.rate_limit < 1:
            raise SandboxError("--rate-limit: must be at least 1 unit")
        if self.window_s <= 0 or self.token_ttl <= 0:
            raise SandboxError("--window-s and --token-ttl must be positive")
        if not self.authorization_code or any(c.isspace() for c in self.authorization_code):
            raise SandboxError("--authorization-code: give a code without spaces")
        if self.unknown_mailbox_status not in (400, 404):
            raise SandboxError("unknown_mailbox_status must be 400 or 404")
        if self.latency_ms is not None and not 0 <= self.latency_ms[0] <= self.latency_ms[1]:
            raise SandboxError("--latency-ms: use MIN-MAX with 0 <= MIN <= MAX")

    @property
    def mailbox_ids(self) -> list[int]:
        """Mailbox 1 plus every ``--mailbox``, without duplicates, in order."""
        ids = [DEFAULT_MAILBOX_ID]
        ids += [m for m in self.mailboxes if m not in ids]
        return ids

    @property
    def user_specs(self) -> list[UserSpec]:
        """User 1 (the token's owner) first, then every ``--user`` (ids 2, 3, ...)."""
        specs = [UserSpec(DEFAULT_OWNER_EMAIL, "Sandbox", "Owner")]
        for user in self.users:
            specs.append(user if isinstance(user, UserSpec) else parse_user(user))
        return specs

    def fields_of(self, mailbox_id: int) -> Sequence[FieldSpec]:
        """The custom fields of one mailbox."""
        return self.mailbox_fields.get(mailbox_id, self.fields)


def parse_fault(text: str) -> tuple[str, float]:
    """``drop=0.05`` -> ``("drop", 0.05)``."""
    kind, sep, rate = text.partition("=")
    kind = kind.strip()
    if not sep or kind not in FAULT_KINDS:
        raise SandboxError(f"--fault {text!r}: use KIND=RATE, KIND one of {', '.join(FAULT_KINDS)}")
    try:
        value = float(rate)
    except ValueError:
        raise SandboxError(f"--fault {text!r}: RATE must be a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise SandboxError(f"--fault {text!r}: RATE must be between 0 and 1")
    return kind, value


def parse_latency(text: str) -> tuple[int, int]:
    """``20-80`` -> ``(20, 80)``; a single number is a fixed latency."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise SandboxError(f"--latency-ms {text!r}: use MIN-MAX in milliseconds, e.g. 20-80")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else low
    if high < low:
        raise SandboxError(f"--latency-ms {text!r}: MIN is above MAX")
    return low, high


def parse_user(text: str) -> UserSpec:
    """``--user EMAIL[,ALTERNATE...]``: the first email is the user's, the rest alternates."""
    emails = [e.strip() for e in text.split(",") if e.strip()]
    if not emails or any("@" not in e for e in emails):
        raise SandboxError(f"--user {text!r}: use EMAIL or EMAIL,ALTERNATE,...")
    local = emails[0].split("@", 1)[0]
    first, _, last = local.replace("_", ".").partition(".")
    return UserSpec(emails[0], first.capitalize() or "Agent", last.capitalize(), tuple(emails[1:]))
