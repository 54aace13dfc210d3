"""People, linked systems and their tokens: create them, authenticate requests, log in.

Tokens are shown once and stored as SHA-256; passwords as Argon2id. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.errors import AuthenticationError, BadRequestError, ConflictError, NotFoundError
from docsvc.metadata import is_standard_organ_id, nfc
from docsvc.models import (
    ROLES,
    SECRECY_LEVELS,
    ApiToken,
    LinkedSystem,
    LoginThrottle,
    Organization,
    User,
    WebSession,
    utcnow,
)
from docsvc.sealing import VXP_SECRET, Sealer
from docsvc.security import (
    Actor,
    check_password,
    digests_match,
    hash_password,
    new_token,
    token_digest,
)
from docsvc.services import audit

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


def _check_organ_id(organ_id: str, allowed: frozenset[str]) -> None:
    if not (is_standard_organ_id(organ_id) or organ_id in allowed):
        raise BadRequestError(f"Mã định danh cơ quan không hợp lệ: {organ_id}",
                              f"Invalid OrganId: {organ_id}", details={"organ_id": organ_id})


def add_user(
    session: Session, actor: Actor, *, username: str, roles: Sequence[str], organ_id: str,
    full_name: str = "", password: str | None = None, clearance: str = "none",
    audits_subordinates: bool = False, allowed_organ_ids: frozenset[str] = frozenset(),
) -> User:
    """Create a person; raise ``ConflictError`` if the username is taken."""
    bad_roles = sorted(set(roles) - set(ROLES))
    if not roles or bad_roles:
        raise BadRequestError("Vai trò không hợp lệ.", "Invalid roles.",
                              details={"roles": list(roles), "allowed": list(ROLES)})
    if clearance not in SECRECY_LEVELS:
        raise BadRequestError("Mức độ mật không hợp lệ.", "Invalid clearance.",
                              details={"clearance": clearance, "allowed": list(SECRECY_LEVELS)})
    _check_organ_id(organ_id, allowed_organ_ids)
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise ConflictError("Tên đăng nhập đã tồn tại.", "Username already exists.",
                            details={"username": username})
    user = User(username=username, full_name=nfc(full_name), organ_id=organ_id,
                roles=sorted(set(roles)), clearance=clearance, audits_subordinates=audits_subordinates,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", object_type="user", object_id=username,
                 organ_id=organ_id, details={"roles": user.roles, "clearance": clearance})
    session.commit()
    return user


def get_user(session: Session, username: str) -> User:
    """Return a person by username or raise ``NotFoundError``."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError("Không tìm thấy người dùng.", "User not found.",
                            details={"username": username})
    return user


def issue_token(
    session: Session, actor: Actor, *, username: str | None = None, system_id: int | None = None,
    label: str | None = None, expires_in: dt.timedelta | None = None,
) -> tuple[str, ApiToken]:
    """Create a token for a person or a system; return it in clear (shown once) and its row."""
    token = new_token()
    row = ApiToken(token_sha256=token_digest(token), prefix=token[:10], label=label,
                   expires_at=utcnow() + expires_in if expires_in else None)
    if username is not None:
        user = get_user(session, username)
        row.user_id, owner, organ_id = user.id, f"user:{username}", user.organ_id
    else:
        system = session.get(LinkedSystem, system_id)
        if system is None:
            raise NotFoundError("Không tìm thấy hệ thống.", "System not found.",
                                details={"system_id": system_id})
        row.system_id, owner, organ_id = system.id, f"system:{system.id}", system.organ_id
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.issue", object_type="token", object_id=str(row.id),
                 organ_id=organ_id, details={"owner": owner, "prefix": row.prefix,
                                             "expires_at": row.expires_at.isoformat()
                                             if row.expires_at else None})
    session.commit()
    return token, row


def revoke_token(session: Session, actor: Actor, *, token_id: int | None = None,
                 prefix: str | None = None) -> ApiToken:
    """Revoke a token by id or by its shown prefix; revoking twice changes nothing."""
    stmt = select(ApiToken)
    stmt = stmt.where(ApiToken.id == token_id) if token_id is not None else stmt.where(
        ApiToken.prefix == prefix)
    rows = session.execute(stmt).scalars().all()
    if len(rows) != 1:
        raise NotFoundError("Không tìm thấy mã truy cập.", "Token not found.",
                            details={"token_id": token_id, "prefix": prefix, "matches": len(rows)})
    row = rows[0]
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", object_type="token", object_id=str(row.id),
                     details={"prefix": row.prefix})
    session.commit()
    return row


def list_tokens(session: Session, username: str) -> Sequence[ApiToken]:
    """Return the tokens of a person, newest first."""
    user = get_user(session, username)
    return session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                           .order_by(ApiToken.id.desc())).scalars().all()


def ensure_organization(session: Session, organ_id: str, name: str, parent_id: str | None = None) -> None:
    """Add an organisation to the directory unless it is already there (no commit)."""
    if session.get(Organization, organ_id) is None:
        session.add(Organization(organ_id=organ_id, name=nfc(name), parent_id=parent_id))
        session.flush()


VXP_SYSTEM_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
VXP_SECRET_MIN = 16


def _seal_vxp_secret(session: Session, system_id: str, secret: str | None,
                     sealer: Sealer | None) -> str:
    """Check a VXP system id and secret and return the secret sealed for storage."""
    if not VXP_SYSTEM_ID.fullmatch(system_id):
        raise BadRequestError("Mã hệ thống VXP chỉ gồm chữ, số, '.', '_', '-' (tối đa 100).",
                              "A VXP system id is 1-100 letters, digits, '.', '_' or '-'.",
                              details={"vxp_system_id": system_id})
    if session.execute(select(LinkedSystem).where(
            LinkedSystem.vxp_system_id == system_id)).scalar_one_or_none() is not None:
        raise ConflictError("Mã hệ thống VXP đã được dùng.", "VXP system id already in use.",
                            details={"vxp_system_id": system_id})
    if not secret or len(secret) < VXP_SECRET_MIN or secret != secret.strip() or len(secret) > 200:
        raise BadRequestError(
            f"Bí mật VXP dài {VXP_SECRET_MIN}–200 ký tự, không có khoảng trắng đầu/cuối.",
            f"A VXP secret has {VXP_SECRET_MIN}-200 characters, no surrounding spaces.")
    if sealer is None:
        raise BadRequestError("Thiếu khóa mã hóa bí mật VXP.", "No key to encrypt the VXP secret.")
    return sealer.seal(secret, purpose=VXP_SECRET, subject=system_id)


def add_system(
    session: Session, actor: Actor, *, organ_id: str, name: str,
    client_cert_sha256: str | None = None, xml_signing_cert: str | None = None,
    allowed_organ_ids: frozenset[str] = frozenset(), vxp_system_id: str | None = None,
    vxp_secret: str | None = None, sealer: Sealer | None = None,
) -> tuple[LinkedSystem, str]:
    """Register a linked system for ``organ_id`` and give it a token (returned in clear once).

    With ``vxp_system_id`` the system may also use the national axis SDK's protocol: its
    ``vxp_secret`` is stored sealed by ``sealer`` (both then required).
    """
    _check_organ_id(organ_id, allowed_organ_ids)
    sealed = (_seal_vxp_secret(session, vxp_system_id, vxp_secret, sealer)
              if vxp_system_id is not None else None)
    ensure_organization(session, organ_id, name)
    system = LinkedSystem(organ_id=organ_id, name=nfc(name), client_cert_sha256=client_cert_sha256,
                          xml_signing_cert=xml_signing_cert, vxp_system_id=vxp_system_id,
                          vxp_secret_sealed=sealed)
    session.add(system)
    session.flush()
    audit.record(session, actor, "system.create", object_type="system", object_id=str(system.id),
                 organ_id=organ_id, details={"name": system.name, "vxp_system_id": vxp_system_id})
    token, _ = issue_token(session, actor, system_id=system.id, label="system")
    return system, token


def subordinate_organs(session: Session, organ_id: str) -> frozenset[str]:
    """Return every organisation below ``organ_id`` in the directory (any depth)."""
    found: set[str] = set()
    frontier = {organ_id}
    while frontier:
        children = set(session.execute(
            select(Organization.organ_id).where(Organization.parent_id.in_(frontier))).scalars())
        frontier = children - found - {organ_id}
        found |= frontier
    return frozenset(found)


def actor_for_user(session: Session, user: User) -> Actor:
    """Build the request's actor for a person."""
    subordinates = (subordinate_organs(session, user.organ_id)
                    if user.audits_subordinates and "auditor" in user.roles else frozenset())
    return Actor(kind="user", name=user.username, organ_id=user.organ_id,
                 roles=frozenset(user.roles), clearance=user.clearance,
                 audits_subordinates=user.audits_subordinates, subordinate_organs=subordinates,
                 user_id=user.id)


def authenticate_token(session: Session, token: str) -> Actor:
    """Return the actor of a bearer token; raise ``AuthenticationError`` if it is not valid now."""
    digest = token_digest(token)
    row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == digest)).scalar_one_or_none()
    now = utcnow()
    if (row is None or not digests_match(row.token_sha256, digest) or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)):
        raise AuthenticationError()
    if row.user is not None:
        if not row.user.active:
            raise AuthenticationError()
        return actor_for_user(session, row.user)
    system = row.system
    if system is None or not system.active:
        raise AuthenticationError()
    return Actor(kind="system", name=f"{system.id}:{system.name}", organ_id=system.organ_id,
                 system_id=system.id, client_cert_sha256=system.client_cert_sha256)


def start_web_session(session: Session, user: User) -> str:
    """Open a server-side browser session for ``user``; return the id the cookie carries."""
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id=token_digest(sid), user_id=user.id))
    session.commit()
    return sid


def web_session_user(session: Session, sid: str | None, user_id: object) -> User | None:
    """Return the active user of an open browser session, or None."""
    if not isinstance(sid, str) or not isinstance(user_id, int):
        return None
    row = session.get(WebSession, token_digest(sid))
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def end_web_session(session: Session, sid: str | None) -> None:
    """End a browser session (logout): its cookie opens nothing any more."""
    if isinstance(sid, str):
        row = session.get(WebSession, token_digest(sid))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            session.commit()


def login(session: Session, username: str, password: str, *, source: str = "",
          now: dt.datetime | None = None) -> User:
    """Check a password; five failures in a row of one name from one ``source`` (the client
    address) lock that pair for 15 minutes.

    Unknown names, inactive users and real ones take the same time (one argon2 computation),
    get the same answers and lock out the same way, so the answers tell no name apart; and a
    stranger's failures do not lock the person out from their own address.
    """
    now = now or utcnow()
    name = username[:64]
    source = source[:64]
    user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
    anonymous = Actor(kind="user", name=name, organ_id=user.organ_id if user else None)
    throttle = session.get(LoginThrottle, (name, source))
    locked_until = throttle.locked_until if throttle is not None else None
    if locked_until is not None and locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=dt.UTC)
    if locked_until is not None and locked_until > now:
        check_password(None, password)
        audit.record(session, anonymous, "login", object_type="user", object_id=name,
                     outcome="refused", details={"reason": "locked", "source": source})
        session.commit()
        raise AuthenticationError("Tài khoản tạm khóa do đăng nhập sai nhiều lần; thử lại sau.",
                                  "Account locked after repeated failures; try again later.",
                                  details={"reason": "locked"})
    known = user is not None and user.active
    if not (check_password(user.password_hash, password) if known and user is not None
            else check_password(None, password)):
        if throttle is None:
            throttle = LoginThrottle(username=name, source=source, failures=0)
            session.add(throttle)
        throttle.failures = (throttle.failures or 0) + 1
        throttle.updated_at = now
        if throttle.failures >= MAX_FAILED_LOGINS:
            throttle.locked_until = now + LOCKOUT
            throttle.failures = 0
        audit.record(session, anonymous, "login", object_type="user", object_id=name,
                     outcome="failure", details={"source": source})
        session.commit()
        raise AuthenticationError("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password.")
    assert user is not None
    if throttle is not None:
        session.delete(throttle)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, anonymous, "login", object_type="user", object_id=name,
                 details={"source": source})
    session.commit()
    return user
