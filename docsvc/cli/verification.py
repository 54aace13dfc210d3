"""CLI commands of the verification area, attached to ``docsvc.cli.main``."""
