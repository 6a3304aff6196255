"""Move help-desk history into Help Scout through the Mailbox API 2.0."""

__version__ = "0.1.0"
