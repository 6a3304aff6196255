"""How long to wait before trying again: exponential, capped, spread by a jitter the caller
draws (pure, so tests give it a fixed value). Why apart: the client's retries, the pacer's
backoff after 429s, the token fetch and the attachment downloads all wait by the same rule.
"""

from __future__ import annotations


def backoff_delay(
    attempt: int, *, base: float = 1.0, cap: float = 60.0, jitter: float = 0.5, factor: float = 0.2
) -> float:
    """Seconds before retry number ``attempt`` (1-based): ``base * 2**(attempt-1)``, capped,
    then spread by ``±factor`` using ``jitter`` in [0, 1). Pure: the caller draws ``jitter``."""
    if attempt < 1:
        return 0.0
    exponent = min(attempt - 1, 62)  # no overflow for absurd attempt numbers
    delay = min(cap, base * (2.0**exponent))
    spread = 1.0 + factor * (2.0 * min(max(jitter, 0.0), 1.0) - 1.0)
    return min(cap, max(0.0, delay * spread))
