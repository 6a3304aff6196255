"""helpscout."""
