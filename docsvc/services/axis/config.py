"""The upstream axis's configuration: set it (secret sealed, never logged), read it back as a
client, report its state, and test it with one authenticated call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from docsvc.axis import AxisClient, AxisError, Endpoint
from docsvc.errors import BadRequestError, NotFoundError
from docsvc.models import AxisSettings, utcnow
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.vxp.auth import decrypt_secret, encrypt_secret

ROW_ID = 1


class AxisNotConfiguredError(NotFoundError):
    code = "axis_not_configured"
    message_vi = "Chưa cấu hình trục liên thông: dùng docsvc axis set."
    message_en = "No axis is configured: use docsvc axis set."


@dataclass(frozen=True)
class AxisConfig:
    """The axis as the worker uses it (the secret in clear only in memory)."""

    endpoint: str
    system_id: str
    secret: str
    from_code: str | None
    timeout: float

    def __repr__(self) -> str:
        return f"AxisConfig({self.endpoint!r}, {self.system_id!r})"

    def client(self, **kwargs: Any) -> AxisClient:
        """Return a new SDK-style service object for this axis."""
        return AxisClient(self.endpoint, self.system_id, self.secret, timeout=self.timeout, **kwargs)


def _bound(system_id: str) -> str:
    """What the sealed secret is bound to: this use and the system id."""
    return f"axis-upstream:{system_id}"


def set_axis(session: Session, actor: Actor, *, endpoint: str, system_id: str, secret: str | None,
             keys: tuple[str, ...], from_code: str | None = None) -> AxisSettings:
    """Configure the axis; without ``secret`` the stored one is kept (same system id only).

    Raises BadRequestError for a bad endpoint, system id or secret. Commits.
    """
    endpoint, system_id = endpoint.strip(), system_id.strip()
    try:
        Endpoint.parse(endpoint)
    except ValueError as exc:
        raise BadRequestError("Địa chỉ trục phải là URL http(s) không có tham số truy vấn.",
                              "The axis endpoint must be an http(s) URL without a query.",
                              details={"endpoint": endpoint[:300]}) from exc
    if len(endpoint) > 300:
        raise BadRequestError("Địa chỉ trục dài quá 300 ký tự.", "The axis endpoint is over 300 characters.")
    if not system_id or len(system_id) > 100 or any(c.isspace() or ord(c) > 0x7E for c in system_id):
        raise BadRequestError("Mã hệ thống (systemid) phải là 1–100 ký tự ASCII, không khoảng trắng.",
                              "The system id must be 1-100 ASCII characters without spaces.")
    row = session.get(AxisSettings, ROW_ID)
    if secret is not None:
        secret = secret.strip()
        if not secret or len(secret) > 500 or any(c in "\r\n" for c in secret):
            raise BadRequestError("Khóa bí mật trục không hợp lệ (1–500 ký tự, một dòng).",
                                  "Invalid axis secret (1-500 characters, one line).")
        sealed = encrypt_secret(secret, keys[0], system_id=_bound(system_id))
    elif row is not None and row.system_id == system_id:
        sealed = row.sealed_secret
    else:
        raise BadRequestError("Cần khóa bí mật của trục (--secret-stdin, --secret-file hoặc --secret-env).",
                              "The axis secret is needed (--secret-stdin, --secret-file or --secret-env).")
    if row is None:
        row = AxisSettings(id=ROW_ID, endpoint=endpoint, system_id=system_id, sealed_secret=sealed,
                           enabled=True, poll_failures=0)
        session.add(row)
    row.endpoint, row.system_id, row.sealed_secret = endpoint, system_id, sealed
    row.from_code = (from_code or "").strip() or None
    row.updated_at, row.enabled = utcnow(), True
    row.last_error, row.next_poll_at, row.poll_failures = None, None, 0
    audit.record(session, actor, "axis.set", object_type="axis", object_id=system_id,
                 details={"endpoint": endpoint, "secret_replaced": secret is not None})
    session.commit()
    return row


def load_axis(session: Session, keys: tuple[str, ...], *, timeout: float = 30.0) -> AxisConfig | None:
    """Return the configured axis with its secret opened, or None when none is configured."""
    row = session.get(AxisSettings, ROW_ID)
    if row is None or not row.enabled:
        return None
    secret = decrypt_secret(row.sealed_secret, keys, system_id=_bound(row.system_id))
    return AxisConfig(row.endpoint, row.system_id, secret, row.from_code, timeout)


def is_configured(session: Session) -> bool:
    """Tell whether an axis is configured and enabled (no secret opened)."""
    row = session.get(AxisSettings, ROW_ID)
    return row is not None and row.enabled


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def axis_status(session: Session) -> dict[str, Any]:
    """Return the axis's configuration (no secret) and state, with the queues through it."""
    from sqlalchemy import func, select

    from docsvc.models import AxisInbound, Delivery

    row = session.get(AxisSettings, ROW_ID)
    if row is None:
        raise AxisNotConfiguredError()
    outbound = dict(session.execute(select(Delivery.state, func.count()).where(
        Delivery.mode == "axis").group_by(Delivery.state)).all())
    inbound = dict(session.execute(select(AxisInbound.state, func.count()).group_by(
        AxisInbound.state)).all())
    oldest = session.execute(select(func.min(Delivery.created_at)).where(
        Delivery.mode == "axis", Delivery.state == "queued")).scalar()
    errors = [{"message_id": m, "attempts": a, "last_error": e} for m, a, e in session.execute(
        select(Delivery.message_id, Delivery.attempts, Delivery.last_error).where(
            Delivery.mode == "axis", Delivery.state == "queued", Delivery.last_error.is_not(None))
        .order_by(Delivery.created_at).limit(10)).all()]
    return {
        "endpoint": row.endpoint, "system_id": row.system_id, "secret": "(sealed)",
        "enabled": row.enabled, "from_code": row.from_code, "updated_at": _iso(row.updated_at),
        "last_poll_at": _iso(row.last_poll_at), "last_ok_at": _iso(row.last_ok_at),
        "last_error": row.last_error, "next_poll_at": _iso(row.next_poll_at),
        "poll_failures": row.poll_failures, "directory_synced_at": _iso(row.directory_synced_at),
        "directory": row.directory_report,
        "outbound": {"by_state": outbound, "oldest_queued_at": _iso(oldest), "errors": errors},
        "inbound": {"by_state": inbound},
    }


@dataclass(frozen=True)
class AxisCheck:
    ok: bool
    code: str
    message_vi: str
    message_en: str
    details: dict[str, Any]


def check_axis(config: AxisConfig) -> AxisCheck:
    """Make one authenticated call that changes nothing (getAgenciesList: listing the inbox may
    lease packages) and say what is wrong, if anything."""
    try:
        with config.client() as client:
            agencies = client.agencies("getAgenciesList")
    except AxisError as exc:
        return AxisCheck(False, exc.code, exc.text_vi, exc.text_en, exc.details)
    return AxisCheck(True, "ok", f"Kết nối trục thành công: xác thực được chấp nhận, danh bạ có "
                      f"{len(agencies)} đơn vị.", f"Connected to the axis: authentication accepted, "
                      f"the directory lists {len(agencies)} units.", {"agencies": len(agencies)})
