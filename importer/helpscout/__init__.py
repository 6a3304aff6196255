"""The Help Scout Mailbox API 2.0 client: auth, pacing, and the one outcome classifier."""

from importer.helpscout.auth import Credentials
from importer.helpscout.client import ClientStats, HelpScoutClient
from importer.helpscout.outcome import Outcome, OutcomeKind, RawResponse, RequestKind, classify
from importer.helpscout.pacing import Pacer
from importer.helpscout.transport import Timeouts

__all__ = [
    "ClientStats",
    "Credentials",
    "HelpScoutClient",
    "Outcome",
    "OutcomeKind",
    "Pacer",
    "RawResponse",
    "RequestKind",
    "Timeouts",
    "classify",
]
