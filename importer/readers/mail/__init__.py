"""The mail reader, registered as the `importer.readers` entry point `mail`."""

from importer.readers.mail.reader import READER, MailReader

__all__ = ["READER", "MailReader"]
