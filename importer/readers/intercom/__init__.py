"""The intercom reader, registered as the `importer.readers` entry point `intercom`."""

from importer.readers.intercom.reader import READER, IntercomReader

__all__ = ["READER", "IntercomReader"]
