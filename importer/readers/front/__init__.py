"""The front reader, registered as the `importer.readers` entry point `front`."""

from importer.readers.front.reader import READER, FrontReader

__all__ = ["READER", "FrontReader"]
