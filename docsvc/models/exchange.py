"""Exchange models (filled by the exchange work; see docsvc/models/__init__.py)."""

__all__: list[str] = []
