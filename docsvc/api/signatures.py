"""Routes of the signatures area (see docsvc/api/__init__.py).

Define OPENAPI_PATHS here (paths relative to /api/v1) for the OpenAPI document.
"""

from typing import Any

OPENAPI_PATHS: dict[str, Any] = {}
