"""The canonical reader, registered as the `importer.readers` entry point `canonical`."""

from importer.readers.canonical.reader import READER, CanonicalReader

__all__ = ["READER", "CanonicalReader"]
