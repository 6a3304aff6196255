"""The zendesk reader, registered as the `importer.readers` entry point `zendesk`."""

from importer.readers.zendesk.reader import READER, ZendeskReader

__all__ = ["READER", "ZendeskReader"]
