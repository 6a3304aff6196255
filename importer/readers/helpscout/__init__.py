"""The helpscout reader, registered as the `importer.readers` entry point `helpscout`."""

from importer.readers.helpscout.reader import READER, HelpScoutReader

__all__ = ["READER", "HelpScoutReader"]
