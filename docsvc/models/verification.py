"""Verification models (filled by the verification work; see docsvc/models/__init__.py)."""

__all__: list[str] = []
