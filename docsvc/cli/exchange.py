"""CLI commands of the exchange area, attached to ``docsvc.cli.main``."""
