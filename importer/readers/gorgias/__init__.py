"""The gorgias reader, registered as the `importer.readers` entry point `gorgias`."""

from importer.readers.gorgias.reader import READER, GorgiasReader

__all__ = ["READER", "GorgiasReader"]
