"""CLI commands of the signing area, attached to ``docsvc.cli.main``."""
