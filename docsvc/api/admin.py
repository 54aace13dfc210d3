"""Routes for administrators: people, their tokens, and linked systems."""

from __future__ import annotations

import datetime as dt

from flask import jsonify, request
from sqlalchemy import select

from docsvc.api import actor, api, db, runtime
from docsvc.errors import BadRequestError, NotFoundError, PermissionDeniedError
from docsvc.models import ApiToken, User
from docsvc.security import Actor
from docsvc.services import identity


def _require_admin_of(organ_id: str | None) -> Actor:
    who = actor()
    if not who.has_role("admin"):
        raise PermissionDeniedError()
    if organ_id is not None and organ_id != who.organ_id and organ_id not in identity.subordinate_organs(
            db(), who.organ_id or ""):
        raise PermissionDeniedError()
    return who


def _user_dict(user: User) -> dict:
    return {"username": user.username, "full_name": user.full_name, "organ_id": user.organ_id,
            "roles": user.roles, "clearance": user.clearance,
            "audits_subordinates": user.audits_subordinates, "active": user.active,
            "locked": user.locked_until is not None}


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequestError("Cần một đối tượng JSON.", "A JSON object is required.")
    return body


@api.get("/users")
def list_users():  # type: ignore[no-untyped-def]
    """List the people of the administrator's organisation."""
    who = _require_admin_of(None)
    users = db().execute(select(User).where(User.organ_id == who.organ_id).order_by(User.username))
    return jsonify({"data": [_user_dict(u) for u in users.scalars()]})


@api.post("/users")
def create_user():  # type: ignore[no-untyped-def]
    """Create a person (``username``, ``roles``, ``organ_id``, optional ``password``…)."""
    body = _json_body()
    organ_id = body.get("organ_id") or actor().organ_id
    if not isinstance(organ_id, str):
        raise BadRequestError(details={"fields": [{"field": "organ_id", "message": "text"}]})
    who = _require_admin_of(organ_id)
    user = identity.add_user(
        db(), who, username=str(body.get("username", "")).strip(), roles=body.get("roles") or [],
        organ_id=organ_id, full_name=body.get("full_name", ""), password=body.get("password"),
        clearance=body.get("clearance", "none"),
        audits_subordinates=bool(body.get("audits_subordinates", False)),
        allowed_organ_ids=runtime().settings.organ_id_allow)
    return jsonify(_user_dict(user)), 201


@api.post("/users/<username>/tokens")
def issue_user_token(username: str):  # type: ignore[no-untyped-def]
    """Issue a token for a person; the token is in this response only."""
    # The same answer for a name that does not exist and one outside the caller's agencies
    # (404), and 403 for non-administrators whatever the name: no name can be told apart.
    who = _require_admin_of(None)
    try:
        user = identity.get_user(db(), username)
        _require_admin_of(user.organ_id)
    except (NotFoundError, PermissionDeniedError):
        raise NotFoundError("Không tìm thấy người dùng.", "User not found.",
                            details={"username": username[:64]}) from None
    body = request.get_json(silent=True) or {}
    days = body.get("expires_in_days")
    if days is not None and (not isinstance(days, int) or days < 1):
        raise BadRequestError("expires_in_days phải là số nguyên dương.",
                              "expires_in_days must be a positive integer.")
    token, row = identity.issue_token(db(), who, username=username, label=body.get("label"),
                                      expires_in=dt.timedelta(days=days) if days else None)
    return jsonify({"id": row.id, "token": token, "prefix": row.prefix,
                    "expires_at": row.expires_at.isoformat() if row.expires_at else None}), 201


@api.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    """Revoke a token."""
    row = db().get(ApiToken, token_id)
    owner_org = (row.user.organ_id if row and row.user else row.system.organ_id if row and row.system
                 else None)
    who = _require_admin_of(owner_org)
    revoked = identity.revoke_token(db(), who, token_id=token_id)
    assert revoked.revoked_at is not None  # revoke_token sets it
    return jsonify({"id": revoked.id, "revoked_at": revoked.revoked_at.isoformat()})
