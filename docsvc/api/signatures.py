"""Routes of the signing area: sign a document (a new version), and the administrators'
signer profiles. Keys are opened once per process and kept in ``app.extensions``.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import current_app, jsonify, request, url_for

from docsvc.api import actor, api, db, runtime
from docsvc.api.serialize import version_to_dict
from docsvc.errors import BadRequestError
from docsvc.services import identity
from docsvc.services import signers as profiles
from docsvc.services import signing as svc

_EXTENSION = "docsvc.signing"


def signing_tools() -> profiles.SigningTools:
    """Return this process's signing tools (keys opened once, on first use)."""
    tools = current_app.extensions.get(_EXTENSION)
    if tools is None:
        tools = current_app.extensions.setdefault(_EXTENSION,
                                                  profiles.SigningTools(runtime().settings))
    return tools


def _body() -> Any:
    return request.get_json(silent=True)


@api.post("/documents/<document_id>/signatures")
def sign_document(document_id: str):  # type: ignore[no-untyped-def]
    """Sign the latest version as ``role`` with profile ``signer``; 201 with the new version.

    With ``"dry_run": true``: 200 with the page, the boxes and a PNG of the page (base64).
    """
    body = _body()
    if isinstance(body, dict) and body.get("dry_run") is True:
        preview = svc.preview_signature(
            db(), runtime().blobs, signing_tools(), document_id=document_id, actor=actor(),
            request=lambda: svc.parse_signature_request(body))
        return jsonify({**preview.to_dict(), "document_id": document_id,
                        "png_base64": base64.b64encode(preview.png).decode("ascii")})
    outcome = svc.sign_document(
        db(), runtime().blobs, signing_tools(), document_id=document_id, actor=actor(),
        request=lambda: svc.parse_signature_request(body),
    )
    body = version_to_dict(outcome.version)
    body.update(document_id=document_id, signature=svc.signature_to_dict(outcome.record),
                warnings=[w.to_dict() for w in outcome.warnings])
    location = url_for("api.version_content", document_id=document_id,
                       number=outcome.version.number)
    return jsonify(body), 201, {"Location": location}


def _admin_scope(organ_id: str | None) -> str:
    who = actor()
    organ_id = organ_id or who.organ_id or ""
    profiles.ensure_allowed_to_manage(who, organ_id,
                                      identity.subordinate_organs(db(), who.organ_id or ""))
    return organ_id


@api.get("/signers")
def list_signers():  # type: ignore[no-untyped-def]
    """List the signer profiles of an organisation the caller administers (``?organ_id=``)."""
    organ_id = _admin_scope(request.args.get("organ_id") or None)
    found = profiles.list_signer_profiles(db(), organ_ids=[organ_id])
    return jsonify({"data": [profiles.profile_to_dict(p) for p in found]})


_PROFILE_FIELDS = ("id", "role", "display_name", "position", "username", "key_source",
                   "p12_path", "passphrase_file", "passphrase_env", "pkcs11_token_label",
                   "pkcs11_key_label", "pkcs11_cert_label", "pin_file", "pin_env", "chain_file",
                   "picture_path")


@api.post("/signers")
def create_signer():  # type: ignore[no-untyped-def]
    """Register a signer profile (key files and secrets are named, never sent)."""
    body = _body()
    raw_organ = body.get("organ_id") if isinstance(body, dict) else None
    organ_id = _admin_scope(raw_organ if isinstance(raw_organ, str) else None)
    if not isinstance(body, dict):
        raise BadRequestError("Cần một đối tượng JSON.", "A JSON object is required.")
    for secret in ("passphrase", "pin"):
        if secret in body:
            raise BadRequestError(
                "Không gửi mật khẩu/PIN; hãy chỉ ra tệp hoặc biến môi trường chứa nó.",
                "Do not send the passphrase or PIN; name its file or environment variable.",
                details={"field": secret})
    values = {name: body.get(name) for name in _PROFILE_FIELDS}
    bad = [n for n, v in values.items() if v is not None and not isinstance(v, str)]
    if bad:
        raise BadRequestError(details={"fields": [{"field": n, "message": "text"} for n in bad]})
    values["key_source"] = values["key_source"] or "pkcs12"
    spec = profiles.ProfileSpec(organ_id=organ_id, **{k: v or "" if k in (
        "id", "role", "display_name") else v for k, v in values.items()})
    profile = profiles.add_signer_profile(db(), signing_tools(), actor(), spec)
    return jsonify(profiles.profile_to_dict(profile)), 201


_ERROR = {"$ref": "#/components/responses/Error"}
_DOC_ID = {"name": "document_id", "in": "path", "required": True, "schema": {"type": "string"}}
_PLACEMENT = {"type": "object", "properties": {
    "page": {"type": "integer", "description": "1-based; negative counts from the end"},
    "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
            "description": "[x1, y1, x2, y2] in points, origin bottom left"},
    "field": {"type": "string", "description": "an existing empty signature field"},
    "search": {"type": "string", "description": "text to find (default: the signer's name)"},
}}
_PROFILE = {"type": "object", "properties": {
    "id": {"type": "string"}, "role": {"enum": ["person", "agency"]},
    "organ_id": {"type": "string"}, "display_name": {"type": "string"},
    "position": {"type": "string"}, "username": {"type": "string"},
    "key_source": {"enum": ["pkcs12", "pkcs11"]}, "p12_path": {"type": "string"},
    "passphrase_file": {"type": "string"}, "passphrase_env": {"type": "string"},
    "pkcs11_token_label": {"type": "string"}, "pkcs11_key_label": {"type": "string"},
    "pin_file": {"type": "string"}, "pin_env": {"type": "string"},
    "chain_file": {"type": "string"}, "picture_path": {"type": "string"},
}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OPENAPI_PATHS: dict[str, Any] = {
    "/documents/{document_id}/signatures": {"post": {
        "summary": "Sign the latest version (PAdES); the signed PDF becomes a new version",
        "description": "person: a signer with their bound person profile; agency, attachment, "
                       "copy: a clerk of the owning agency with its agency profile. Nothing is "
                       "stored on failure.",
        "parameters": [_DOC_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["role", "signer"], "properties": {
                "role": {"enum": ["person", "agency", "attachment", "copy"]},
                "signer": {"type": "string", "description": "signer profile id"},
                "level": {"enum": ["B-B", "B-T", "B-LT", "B-LTA"],
                          "description": "default B-LT with a TSA and trust roots, else B-B"},
                "placement": _PLACEMENT,
                "allow_lower_level": {"type": "boolean", "default": False},
                "based_on": {"type": "integer", "description": "version the client saw"},
                "copy_form": {"type": "string", "description": "copy stamp text (role copy)"},
                "dry_run": {"type": "boolean", "default": False,
                            "description": "only preview: page, boxes and a PNG; nothing "
                                           "is signed"},
            }}}}},
        "responses": {
            "200": _json({"type": "object", "description": "dry run: page, page_size, "
                          "boxes {person, seal}, seal_text, png_base64"}, "Preview"),
            "201": _json({"type": "object", "description": "the new version, its signature "
                          "and warnings"}, "Signed"),
            **{str(s): _ERROR for s in (400, 401, 403, 404, 409, 422, 503)},
        },
    }},
    "/signers": {
        "get": {"summary": "Signer profiles of an organisation (administrators)",
                "parameters": [{"name": "organ_id", "in": "query", "required": False,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json({"type": "object"}, "OK"),
                              **{str(s): _ERROR for s in (401, 403)}}},
        "post": {"summary": "Register a signer profile (administrators)",
                 "requestBody": {"required": True,
                                 "content": {"application/json": {"schema": _PROFILE}}},
                 "responses": {"201": _json(_PROFILE, "Created"),
                               **{str(s): _ERROR for s in (400, 401, 403, 409, 422, 503)}}},
    },
}
