"""docsvc: keep, sign and exchange official documents of a Vietnamese province and its communes."""

__version__ = "0.1.0"
