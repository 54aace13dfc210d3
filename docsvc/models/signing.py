"""Signing models (filled by the signing work; see docsvc/models/__init__.py)."""

__all__: list[str] = []
