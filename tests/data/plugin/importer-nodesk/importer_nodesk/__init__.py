"""The NoDesk reader, registered as the `importer.readers` entry point `nodesk`."""

from importer_nodesk.reader import READER, NoDeskReader

__all__ = ["READER", "NoDeskReader"]
