"""Routes of the signing area: sign a document (a new version), and the administrators'
signer profiles. Keys are opened once per process, by the runtime's signing tools.
"""

from __future__ import annotations

import base64
from typing import Any, cast

from flask import jsonify, request, url_for

from docsvc.api import actor, api, db, runtime
from docsvc.api.serialize import version_to_dict
from docsvc.errors import BadRequestError
from docsvc.services import identity
from docsvc.services import signers as profiles
from docsvc.services import signing as svc


def signing_tools() -> profiles.SigningTools:
    """Return this process's signing tools (the runtime's: keys opened once, on first use)."""
    return runtime().signing


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
                   "pkcs11_token_label", "pkcs11_key_label", "pkcs11_cert_label")
_UPLOADS = {"p12": profiles.MAX_P12_BYTES, "picture": profiles.MAX_PICTURE_BYTES,
            "chain": profiles.MAX_P12_BYTES}


def _names_server_path(name: str) -> bool:
    return name in profiles.SERVER_PATH_FIELDS or name.endswith(("_path", "_file", "_env"))


@api.post("/signers")
def create_signer():  # type: ignore[no-untyped-def]
    """Register a signer profile: multipart with the PKCS#12 (``p12``), its ``passphrase`` and
    the PNG ``picture``, or a token label the operator granted. Server paths are refused."""
    multipart = request.mimetype == "multipart/form-data"
    body: Any = request.form.to_dict() if multipart else _body()
    raw_organ = body.get("organ_id") if isinstance(body, dict) else None
    organ_id = _admin_scope(raw_organ if isinstance(raw_organ, str) else None)
    if not isinstance(body, dict):
        raise BadRequestError("Cần một đối tượng JSON hoặc biểu mẫu.",
                              "A JSON object or a form is required.")
    refused = sorted(n for n in {*body, *(request.files if multipart else ())}
                     if _names_server_path(n))
    if refused:
        raise profiles.ServerPathRefusedError(details={"fields": refused})
    if "pin" in body:
        raise BadRequestError("Mã PIN của thiết bị ký do người vận hành cấu hình.",
                              "The token's PIN is configured by the operator.",
                              details={"field": "pin"})
    values = {name: body.get(name) for name in _PROFILE_FIELDS}
    bad = [n for n, v in values.items() if v is not None and not isinstance(v, str)]
    passphrase = body.get("passphrase")
    if passphrase is not None and not isinstance(passphrase, str):
        bad.append("passphrase")
    if bad:
        raise BadRequestError(details={"fields": [{"field": n, "message": "text"} for n in bad]})
    uploads: dict[str, bytes | None] = {}
    for name, limit in _UPLOADS.items():
        storage = request.files.get(name) if multipart else None
        data = storage.stream.read(limit + 1) if storage is not None else None
        if data is not None and len(data) > limit:
            raise (profiles.InvalidPictureError if name == "picture"
                   else profiles.InvalidKeyFileError)(details={"field": name})
        uploads[name] = data
    values["key_source"] = values["key_source"] or "pkcs12"
    spec = profiles.ProfileSpec(organ_id=organ_id, **cast(dict[str, Any], {k: v or "" if k in (
        "id", "role", "display_name") else v or None for k, v in values.items()}))
    chain = uploads["chain"]
    profile = profiles.add_signer_profile(
        db(), signing_tools(), actor(), spec, p12=uploads["p12"],
        passphrase=passphrase.encode() if isinstance(passphrase, str) else None,
        picture=uploads["picture"],
        chain_pem=chain.decode("ascii", "replace") if chain is not None else None)
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
    "key_source": {"enum": ["pkcs12", "pkcs11"]},
    "p12": {"type": "string", "format": "binary", "description": "PKCS#12 file (stored sealed)"},
    "passphrase": {"type": "string", "description": "its passphrase (stored sealed)"},
    "picture": {"type": "string", "format": "binary", "description": "transparent PNG"},
    "chain": {"type": "string", "format": "binary", "description": "PEM CA certificates"},
    "pkcs11_token_label": {"type": "string",
                           "description": "a token the operator granted to the agency"},
    "pkcs11_key_label": {"type": "string"}, "pkcs11_cert_label": {"type": "string"},
}, "description": "server paths (*_path, *_file, *_env) are refused with 422 "
                  "server_path_refused"}


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
                                 "content": {"multipart/form-data": {"schema": _PROFILE},
                                             "application/json": {"schema": _PROFILE}}},
                 "responses": {"201": _json(_PROFILE, "Created"),
                               **{str(s): _ERROR for s in (400, 401, 403, 409, 422, 503)}}},
    },
}
