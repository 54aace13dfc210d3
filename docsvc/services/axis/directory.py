"""Synchronise the directory from the axis (getSynchronizeUnit, getAgenciesListQD20,
getAgenciesList): units it lists are added with origin ``axis``; entries made here are never
overwritten; entries from the axis follow it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from docsvc.axis import AxisClient, AxisError, AxisRefusedError
from docsvc.exchange import is_valid_organ_id
from docsvc.metadata import nfc
from docsvc.models import AxisSettings, Organization, utcnow
from docsvc.security import Actor
from docsvc.services import audit

OPERATIONS = ("getSynchronizeUnit", "getAgenciesListQD20", "getAgenciesList")
ORIGIN = "axis"


def _text(item: dict[str, Any], name: str, limit: int) -> str | None:
    value = item.get(name)
    if value is None or isinstance(value, dict | list):
        return None
    text = nfc(str(value).strip())
    return text[:limit] or None


def fetch_units(client: AxisClient) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Return the units the axis lists, by code (later lists fill what earlier ones lack), and
    per operation ``ok``, ``unsupported`` (the axis refused it) or the error.

    Raises the AxisError of the first operation when every operation failed the same way
    (unreachable, authentication refused …).
    """
    units: dict[str, dict[str, Any]] = {}
    outcome: dict[str, str] = {}
    errors: list[AxisError] = []
    for operation in OPERATIONS:
        try:
            items = client.agencies(operation)
        except AxisRefusedError as exc:
            outcome[operation] = f"unsupported: {exc.details.get('ErrorCode', '')}"
            continue
        except AxisError as exc:
            outcome[operation] = exc.code
            errors.append(exc)
            continue
        outcome[operation] = f"ok: {len(items)}"
        by_id = {str(i.get("id")): i for i in items if i.get("id") not in (None, "")}
        for item in items:
            code = _text(item, "code", 13)
            if not code:
                continue
            parent = by_id.get(str(item.get("pid"))) if item.get("pid") not in (None, "") else None
            unit = units.setdefault(code, {"code": code})
            for name, limit in (("name", 200), ("mail", 100)):
                unit.setdefault(name, _text(item, name, limit))
                unit[name] = unit[name] or _text(item, name, limit)
            if parent is not None and not unit.get("parent"):
                unit["parent"] = _text(parent, "code", 13)
            if item.get("deleted") is True:
                unit["deleted"] = True
    if errors and len(errors) == len(OPERATIONS):
        raise errors[0]
    return units, outcome


def sync_directory(session: Session, client: AxisClient, *, actor: Actor,
                   allow: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Bring the axis's units into the directory; return what changed. Commits."""
    units, outcome = fetch_units(client)
    created, updated, kept_local, invalid, deleted = [], [], [], [], []
    for code, unit in sorted(units.items()):
        if not is_valid_organ_id(code, allow) or not unit.get("name"):
            invalid.append(code)
            continue
        parent = unit.get("parent")
        parent = parent if parent and is_valid_organ_id(parent, allow) else None
        org = session.get(Organization, code)
        if org is None:
            if unit.get("deleted"):
                continue
            session.add(Organization(organ_id=code, name=unit["name"], parent_id=parent,
                                     email=unit.get("mail"), origin=ORIGIN))
            created.append(code)
        elif org.origin != ORIGIN:
            kept_local.append(code)
        elif unit.get("deleted"):
            deleted.append(code)  # kept: messages point at it; the axis no longer routes to it
        elif (org.name, org.parent_id, org.email) != (unit["name"], parent, unit.get("mail")):
            org.name, org.parent_id, org.email = unit["name"], parent, unit.get("mail")
            updated.append(code)
    report = {"operations": outcome, "created": len(created), "updated": len(updated),
              "kept_local": len(kept_local), "invalid": len(invalid), "deleted_upstream": deleted[:50],
              "invalid_codes": invalid[:20]}
    row = session.get(AxisSettings, 1)
    if row is not None:
        row.directory_synced_at, row.directory_report = utcnow(), report
    audit.record(session, actor, "axis.sync_directory", object_type="directory", details=report)
    session.commit()
    return report
