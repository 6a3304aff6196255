"""The token request: client credentials exchanged for an access token at the token endpoint.

It goes through the session's own send and classifier (one place decides what an answer means)
but not through the pacer: the token endpoint does not spend the API's rate limit. What is worth
another try is tried again after the answer's Retry-After, else exponential backoff, up to the
session's ``max_attempts``; refused credentials, or no answer after the last try, end as
:class:`~importer.errors.CredentialsError`. Apart from :mod:`importer.helpscout.session` because
it is the one request that has no token to send and no budget to wait for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from importer.clock import Clock
from importer.errors import CredentialsError
from importer.helpscout.auth import Credentials, token_of, token_refused
from importer.helpscout.outcome import Outcome, OutcomeKind, backoff_delay
from importer.settings import ENV_APP_ID, ENV_APP_SECRET

TOKEN_PATH = "/v2/oauth2/token"

#: posts the token request's form and returns what its answer means
PostForm = Callable[[dict[str, str]], Awaitable[Outcome]]


async def request_token(
    post: PostForm,
    credentials: Credentials,
    *,
    token_url: str,
    max_attempts: int,
    rand: Callable[[], float],
    clock: Clock,
    emit: Callable[..., None],
) -> tuple[str, float]:
    """A token and its lifetime (seconds) from the token endpoint at ``token_url``, each try
    posted by ``post``; ``emit(name, **fields)`` is told of every retry."""
    app_id, app_secret = _client_credentials(credentials)
    form = {
        "grant_type": "client_credentials",
        "client_id": app_id,
        "client_secret": app_secret,
    }
    attempt = 0
    while True:
        attempt += 1
        outcome = await post(form)
        if outcome.kind is OutcomeKind.OK:
            return token_of(outcome)
        last = attempt >= max_attempts
        if outcome.kind is OutcomeKind.FATAL or last:
            raise token_refused(outcome, attempt, token_url)
        delay = _backoff(outcome, attempt, rand)
        emit(
            "request.retry",
            method="POST",
            path=TOKEN_PATH,
            code=outcome.code,
            attempt=attempt,
            delay_s=round(delay, 3),
        )
        await clock.sleep(delay)


def _backoff(outcome: Outcome, attempt: int, rand: Callable[[], float]) -> float:
    """Seconds before trying again: the answer's Retry-After, else exponential backoff."""
    if outcome.retry_after is not None:
        return outcome.retry_after
    return backoff_delay(attempt, jitter=rand())


def _client_credentials(credentials: Credentials) -> tuple[str, str]:
    if not (credentials.app_id and credentials.app_secret):  # pragma: no cover (TokenManager)
        raise CredentialsError(f"{ENV_APP_ID} and {ENV_APP_SECRET} are needed for a token")
    return credentials.app_id, credentials.app_secret
