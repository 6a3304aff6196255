"""The csv reader, registered as the `importer.readers` entry point `csv`."""

from importer.readers.csv.reader import READER, CsvReader

__all__ = ["READER", "CsvReader"]
