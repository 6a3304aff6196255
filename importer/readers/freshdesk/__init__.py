"""The freshdesk reader, registered as the `importer.readers` entry point `freshdesk`."""

from importer.readers.freshdesk.reader import READER, FreshdeskReader

__all__ = ["READER", "FreshdeskReader"]
