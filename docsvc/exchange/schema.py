"""Our XSDs for the packages we emit (``schemas/edxml-*.xsd``): loading and validation.

The XSDs are package data (``docsvc.schemas``, mapped from the top-level ``schemas/`` folder),
found with ``importlib.resources`` in a checkout, an editable install and a wheel alike.
Loading is explicit; nothing is read at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import as_file, files
from pathlib import Path

from lxml import etree

from docsvc.exchange.errors import EdxmlSchemaError, SchemaUnavailableError
from docsvc.exchange.model import NS
from docsvc.exchange.xmlsafe import ParseLimits, parse_tree

DOCUMENT_XSD = "edxml-document.xsd"
STATUS_XSD = "edxml-status.xsd"
SCHEMA_PACKAGE = "docsvc.schemas"
_MAX_VIOLATIONS = 50


@dataclass(frozen=True)
class EdxmlSchemas:
    document: etree.XMLSchema
    status: etree.XMLSchema


def load_schemas(path: str | Path | None = None) -> EdxmlSchemas:
    """Load the document and status XSDs from ``path`` (default: the installed ``docsvc.schemas``)."""
    if path is not None:
        return _load_from(Path(path))
    try:
        with as_file(files(SCHEMA_PACKAGE)) as folder:
            return _load_from(folder)
    except (ModuleNotFoundError, OSError) as exc:  # an install without its package data
        raise SchemaUnavailableError(
            f"Không tìm thấy lược đồ XSD trong gói {SCHEMA_PACKAGE}: {exc}",
            f"The edXML XSDs are missing from the package {SCHEMA_PACKAGE}: {exc}",
            details={"package": SCHEMA_PACKAGE},
        ) from None


def _load_from(folder: Path) -> EdxmlSchemas:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return EdxmlSchemas(
            document=etree.XMLSchema(etree.parse(str(folder / DOCUMENT_XSD), parser)),
            status=etree.XMLSchema(etree.parse(str(folder / STATUS_XSD), parser)),
        )
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise SchemaUnavailableError(
            f"Không nạp được lược đồ XSD từ {folder}: {exc}",
            f"Cannot load the edXML XSDs from {folder}: {exc}",
            details={"path": str(folder)},
        ) from None


@lru_cache(maxsize=1)
def _default_schemas() -> EdxmlSchemas:
    return load_schemas()


def validate_package(
    data: bytes, schemas: EdxmlSchemas | None = None, *, limits: ParseLimits | None = None
) -> None:
    """Validate a package against our XSD; raise EdxmlSchemaError listing every violation."""
    schemas = schemas or _default_schemas()
    root = parse_tree(data, limits)
    is_status = root.find(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader/{{{NS}}}MessageHeader/"
                          f"{{{NS}}}StatusCode") is not None  # fmt: skip
    schema = schemas.status if is_status else schemas.document
    if schema.validate(root):
        return
    violations = [
        {"line": error.line, "message": error.message}
        for error in list(schema.error_log)[:_MAX_VIOLATIONS]
    ]
    kind = "trạng thái" if is_status else "văn bản"
    raise EdxmlSchemaError(
        f"Gói tin {kind} không khớp lược đồ XSD ({len(schema.error_log)} lỗi).",
        f"The {'status' if is_status else 'document'} package does not match the XSD "
        f"({len(schema.error_log)} violations).",
        details={"violations": violations},
    )
