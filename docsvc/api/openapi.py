"""The OpenAPI 3.1 document of /api/v1, kept next to the routes it describes."""

from __future__ import annotations

from typing import Any

from docsvc import __version__

_ERROR = {"$ref": "#/components/responses/Error"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _ERROR for s in statuses}


_DOC_ID = {"name": "document_id", "in": "path", "required": True, "schema": {"type": "string"}}
_VERSION = {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}
_PDF = {"description": "The PDF; ETag is its SHA-256",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


PATHS: dict[str, Any] = {
    "/health": {"get": {
        "summary": "Health of the database and blob store", "security": [],
        "responses": {"200": _json({"type": "object"}), "503": _json({"type": "object"})},
    }},
    "/openapi.json": {"get": {
        "summary": "This document", "security": [],
        "responses": {"200": _json({"type": "object"})},
    }},
    "/documents": {
        "post": {
            "summary": "Upload a PDF with its metadata (creates a draft document)",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file", "metadata"],
                "properties": {"file": {"type": "string", "format": "binary"},
                               "metadata": {"type": "string",
                                            "description": "JSON object: see Metadata"}},
            }}}},
            "responses": {"201": _json(_ref("DocumentWithWarnings"), "Created"),
                          **_errors(400, 401, 403, 413, 415, 422, 503)},
        },
        "get": {
            "summary": "List and search the registry, newest first",
            "parameters": [
                _query("q", {"type": "string"}, "Words of the subject or number/notation; "
                       "diacritics and case are ignored"),
                _query("type_name", {"type": "string"}),
                _query("direction", {"type": "string", "enum": ["outgoing", "incoming"]}),
                _query("issued_from", {"type": "string", "format": "date"}),
                _query("issued_to", {"type": "string", "format": "date"}),
                _query("organ_id", {"type": "string"}, "Issuing body"),
                _query("after", {"type": "string"}, "Cursor: next_after of the previous page"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
            ],
            "responses": {"200": _json({"type": "object", "properties": {
                "data": {"type": "array", "items": _ref("Document")},
                "next_after": {"type": ["string", "null"]}}}), **_errors(400, 401)},
        },
    },
    "/documents/{document_id}": {"get": {
        "summary": "A document with its versions", "parameters": [_DOC_ID],
        "responses": {"200": _json(_ref("Document")), **_errors(401, 404)},
    }, "patch": {
        "summary": "Correct metadata fields (clerk of the owner; null clears a field). A "
                   "registered document keeps its number, notation, date, type, issuing body, "
                   "direction, arrival number/date and secrecy; a received one what the "
                   "sender's header said (409 fields_locked); audited with before/after",
        "parameters": [_DOC_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "description": "Any metadata fields of POST /documents"}}}},
        "responses": {"200": _json(_ref("DocumentWithWarnings")),
                      **_errors(400, 401, 403, 404, 409)},
    }},
    "/documents/{document_id}/content": {"get": {
        "summary": "The main file's latest version (the PDF; never an attachment)",
        "parameters": [_DOC_ID],
        "responses": {"200": _PDF, "304": {"description": "Not modified"}, **_errors(401, 404)},
    }},
    "/documents/{document_id}/versions/{number}/content": {"get": {
        "summary": "One version's PDF", "parameters": [_DOC_ID, _VERSION],
        "responses": {"200": _PDF, "304": {"description": "Not modified"}, **_errors(401, 404)},
    }},
    "/documents/{document_id}/attachments/{number}/content": {"get": {
        "summary": "One attachment of the document (phụ lục), by its number in `attachments`",
        "parameters": [_DOC_ID, _VERSION],
        "responses": {"200": {"description": "The attachment's bytes, with its media type"},
                      "304": {"description": "Not modified"}, **_errors(401, 404)},
    }},
    "/documents/{document_id}/register": {"post": {
        "summary": "Register the document: assigns code_number (outgoing) or arrival_number and "
                   "arrival_date (incoming); idempotent",
        "description": "With {\"number\": N, \"imported\": true}: an outgoing document already "
                       "numbered on paper is entered with its printed number into the register "
                       "of its year (409 number_taken when used).",
        "parameters": [_DOC_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "number": {"type": ["integer", "string"], "description": "the printed số"},
                "imported": {"type": "boolean"}}}}}},
        "responses": {"200": _json(_ref("DocumentWithWarnings")),
                      **_errors(400, 401, 403, 404, 409, 503)},
    }},
    "/documents/{document_id}/history": {"get": {
        "summary": "The document's audit entries in order (auditors, owning clerks)",
        "parameters": [_DOC_ID],
        "responses": {"200": _json({"type": "object", "properties": {
            "data": {"type": "array", "items": _ref("AuditEntry")}}}), **_errors(401, 403, 404)},
    }},
    "/users": {
        "get": {"summary": "People of the administrator's organisation (admin)",
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403)}},
        "post": {"summary": "Create a person (admin)",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["username", "roles"], "properties": {
                         "username": {"type": "string"}, "full_name": {"type": "string"},
                         "organ_id": {"type": "string"}, "password": {"type": "string"},
                         "roles": {"type": "array", "items": {"type": "string", "enum": [
                             "clerk", "signer", "auditor", "admin"]}},
                         "clearance": {"type": "string",
                                       "enum": ["none", "mat", "toi_mat", "tuyet_mat"]},
                         "audits_subordinates": {"type": "boolean"}}}}}},
                 "responses": {"201": _json({"type": "object"}, "Created"),
                               **_errors(400, 401, 403, 409)}},
    },
    "/users/{username}/tokens": {"post": {
        "summary": "Issue a token for a person (admin); shown in this response only",
        "parameters": [{"name": "username", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"201": _json({"type": "object", "properties": {
            "id": {"type": "integer"}, "token": {"type": "string"},
            "prefix": {"type": "string"}}}, "Created"), **_errors(400, 401, 403, 404)},
    }},
    "/tokens/{token_id}": {"delete": {
        "summary": "Revoke a token (admin)",
        "parameters": [{"name": "token_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 404)},
    }},
    "/registers/{kind}": {"get": {
        "summary": "The outgoing or incoming register of a year, in number order",
        "parameters": [
            {"name": "kind", "in": "path", "required": True,
             "schema": {"type": "string", "enum": ["outgoing", "incoming"]}},
            _query("year", {"type": "integer"}),
            _query("secret", {"type": "boolean"}, "The separate register of secret documents"),
        ],
        "responses": {"200": {"description": "Rows (JSON, or CSV with Accept: text/csv)",
                              "content": {"application/json": {"schema": {"type": "object"}},
                                          "text/csv": {"schema": {"type": "string"}}}},
                      **_errors(400, 401, 404)},
    }},
}

# Reading the documents (issue 12): extraction, full-text search, background jobs.
_FILE_OR_PDF = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
PATHS.update({
    "/extract": {"post": {
        "summary": "Read the Phụ lục VI fields of any PDF (confidence, page and box each); stores nothing",
        "requestBody": _FILE_OR_PDF,
        "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 403, 413, 415, 422)},
    }},
    "/search": {"get": {
        "summary": "Full-text search over the text of every version, ranked, with highlighted snippets",
        "parameters": [
            _query("q", {"type": "string"}, "Words, a number (185) or a number/notation "
                   "(185/TB-UBND); diacritics and case are ignored"),
            _query("code_number", {"type": "string"}), _query("code_notation", {"type": "string"}),
            _query("type_name", {"type": "string"}), _query("organ_id", {"type": "string"}),
            _query("direction", {"type": "string", "enum": ["outgoing", "incoming"]}),
            _query("issued_from", {"type": "string", "format": "date"}),
            _query("issued_to", {"type": "string", "format": "date"}),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
        ],
        "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 403)},
    }},
    "/documents/{document_id}/versions/{number}/searchable": {"get": {
        "summary": "The searchable (OCR'd) rendition of a version; the original stays the record",
        "parameters": [_DOC_ID, _VERSION],
        "responses": {"200": _PDF, **_errors(401, 404, 410)},
    }},
    "/jobs/{job_id}": {"get": {
        "summary": "A background job (OCR, extraction, indexing): state and progress",
        "parameters": [_JOB_ID],
        "responses": {"200": _json({"type": "object"}), **_errors(401, 404)},
    }},
    "/documents/{document_id}/jobs": {
        "get": {"summary": "The background jobs of a document", "parameters": [_DOC_ID],
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404)}},
        "post": {"summary": "Run OCR (kind ocr) or re-index (kind index) a version in the background",
                 "parameters": [_DOC_ID],
                 "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                 "responses": {"202": _json({"type": "object"}), **_errors(400, 401, 403, 404)}},
    },
})

_METADATA_PROPERTIES: dict[str, Any] = {
    "direction": {"type": "string", "enum": ["outgoing", "incoming"]},
    "organ_id": {"type": "string", "description": "Issuing body, QĐ 20/2020 (000.00.00.H48)"},
    "organ_name": {"type": "string", "maxLength": 200},
    "type_name": {"type": "string", "description": "Thông báo, or its abbreviation TB"},
    "code_number": {"type": "string", "maxLength": 11},
    "code_notation": {"type": "string", "maxLength": 30},
    "issued_date": {"type": "string", "format": "date"},
    "place": {"type": "string"},
    "subject": {"type": "string", "maxLength": 500},
    "signer_competence": {"type": "string", "maxLength": 200,
                          "description": "As printed, one line per authority, each starting with "
                                         "TM., KT., TL., TUQ. or Q. (e.g. \"TL. CHỦ TỊCH\")"},
    "signer_position": {"type": "string", "maxLength": 100},
    "signer_name": {"type": "string", "maxLength": 50},
    "recipients": {"type": "array", "items": {"type": "object", "properties": {
        "organ_id": {"type": "string"}, "organ_name": {"type": "string"}}}},
    "to_places": {"type": "array", "items": {"type": "string"}},
    "references": {"type": "array", "items": {"type": "string"}},
    "priority": {"type": "integer", "minimum": 0, "maximum": 4},
    "secrecy": {"type": "string", "enum": ["none", "mat", "toi_mat", "tuyet_mat"]},
    "due_date": {"type": "string", "format": "date"},
    "page_amount": {"type": "integer"},
    "issued_amount": {"type": "integer"},
    "description": {"type": "string", "maxLength": 500},
    "language": {"type": "string"},
    "file_catalog": {"type": "integer"}, "file_notation": {"type": "string"},
    "doc_ordinal": {"type": "integer"},
    "arrival_date": {"type": "string", "format": "date"},
    "arrival_number": {"type": "integer"},
}

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "responses": {"Error": _json({"type": "object", "required": ["error"], "properties": {
        "error": {"type": "object", "required": ["code", "message", "details"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "details": {"type": "object"}}}}}, "Error")},
    "schemas": {
        "Metadata": {"type": "object", "required": ["direction", "organ_id", "organ_name",
                                                    "type_name", "subject"],
                     "properties": _METADATA_PROPERTIES},
        "Version": {"type": "object", "properties": {
            "number": {"type": "integer"}, "kind": {"type": "string"},
            "sha256": {"type": "string"}, "size": {"type": "integer"},
            "media_type": {"type": "string"}, "created_at": {"type": "string"}}},
        "Document": {"type": "object", "properties": {
            "id": {"type": "string"}, "status": {"type": "string"},
            "owner_organ_id": {"type": "string"},
            "number_notation": {"type": ["string", "null"]},
            **_METADATA_PROPERTIES,
            "versions": {"type": "array", "items": _ref("Version")}}},
        "AuditEntry": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"},
            "action": {"type": "string"}, "object_id": {"type": ["string", "null"]},
            "content_sha256": {"type": ["string", "null"]}, "outcome": {"type": "string"},
            "prev_hash": {"type": "string"}, "entry_hash": {"type": "string"}}},
        "Warning": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "details": {"type": "object"}}},
        "DocumentWithWarnings": {"allOf": [_ref("Document"), {"type": "object", "properties": {
            "warnings": {"type": "array", "items": _ref("Warning")}}}]},
    },
}


def _all_paths() -> dict[str, Any]:
    """Return the registry's paths plus those each area module declares in OPENAPI_PATHS."""
    from docsvc.api import exchange, signatures, verification

    paths = dict(PATHS)
    for module in (signatures, verification, exchange):
        paths.update(module.OPENAPI_PATHS)
    return paths


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "docsvc", "version": __version__,
                 "description": "Registry, signing and exchange of official documents "
                                "(Nghị định 30/2020, edXML QCVN 102)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _all_paths(),
        "components": COMPONENTS,
    }
