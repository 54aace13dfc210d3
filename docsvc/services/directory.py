"""The directory of organisations (QĐ 20/2020 OrganIds): list, import and export it as JSON or
CSV, seed the demo province, and tell how each organisation is reached (pull or push).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from docsvc.errors import BadRequestError, InvalidMetadataError
from docsvc.exchange import is_valid_organ_id
from docsvc.metadata import fold, nfc
from docsvc.models import Organization, User
from docsvc.security import Actor
from docsvc.services import audit

FIELDS = ("organ_id", "name", "parent_id", "address", "email", "telephone", "endpoint_url")
"""The text fields of a directory entry."""
FLAGS = ("zip_attachments",)
"""The yes/no fields: JSON booleans, or in CSV ``true``/``false``, ``1``/``0``, ``yes``/``no``
(empty means no). An entry without the field leaves an existing organisation's value as it is."""
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no", ""})
_LIMITS = {"name": 200, "address": 300, "email": 100, "telephone": 50, "endpoint_url": 300}
SEED_FILE = "directory_seed.json"


@dataclass(frozen=True)
class ImportReport:
    """What an import changed: OrganIds created, updated and left as they were."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


def reach(org: Organization) -> str:
    """Return ``push`` when the organisation runs its own docsvc (an endpoint), else ``pull``."""
    return "push" if org.endpoint_url else "pull"


def organization_to_dict(org: Organization) -> dict[str, Any]:
    """Return the JSON (and CSV) form of a directory entry."""
    data: dict[str, Any] = {name: getattr(org, name) for name in FIELDS}
    data["reach"] = reach(org)
    data.update({name: bool(getattr(org, name)) for name in FLAGS})
    data["origin"] = org.origin or "local"  # "axis": synchronised from the national axis
    return data


def list_organizations(
    session: Session, *, parent_id: str | None = None, q: str | None = None
) -> Sequence[Organization]:
    """Return the directory in OrganId order, optionally the children of one organisation."""
    stmt = select(Organization).order_by(Organization.organ_id)
    if parent_id:
        stmt = stmt.where(Organization.parent_id == parent_id)
    rows = session.execute(stmt).scalars().all()
    if q:
        wanted = fold(q)
        rows = [r for r in rows if wanted in fold(r.name) or wanted in r.organ_id]
    return rows


def find(session: Session, organ_id: str) -> Organization | None:
    """Return one directory entry, or None."""
    return session.get(Organization, organ_id)


def is_hosted(session: Session, organ_id: str, local_organ_id: str) -> bool:
    """Tell whether this instance keeps ``organ_id``'s registry (its own agency or one with people
    here), so packages addressed to it become documents here and not only mailbox messages."""
    if organ_id == local_organ_id:
        return True
    return bool(session.execute(select(exists().where(User.organ_id == organ_id))).scalar())


def _clean(entry: Any, index: int, allow: frozenset[str], problems: list[dict[str, str]]) -> dict | None:
    where = f"organizations[{index}]"
    if not isinstance(entry, dict):
        problems.append({"field": where, "problem": "an object"})
        return None
    row: dict[str, Any] = {}
    for name in FIELDS:
        if name not in entry and name not in ("organ_id", "name"):
            continue  # not in the file: an existing entry keeps it (set-endpoint survives a seed)
        value = entry.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            row[name] = None
            continue
        if not isinstance(value, str):
            problems.append({"field": f"{where}.{name}", "problem": "text"})
            continue
        value = nfc(value.strip())
        if len(value) > _LIMITS.get(name, 13):
            problems.append({"field": f"{where}.{name}", "problem": f"at most {_LIMITS.get(name, 13)}"})
        row[name] = value
    for name in ("organ_id", "parent_id"):
        value = row.get(name)
        if value and not is_valid_organ_id(value, allow):
            problems.append({"field": f"{where}.{name}", "problem": f"not an OrganId: {value}"})
    if not row.get("organ_id"):
        problems.append({"field": f"{where}.organ_id", "problem": "required"})
    if not row.get("name"):
        problems.append({"field": f"{where}.name", "problem": "required"})
    url = row.get("endpoint_url")
    if url and not url.startswith(("http://", "https://")):
        problems.append({"field": f"{where}.endpoint_url", "problem": "an http(s) URL"})
    for name in FLAGS:
        if name not in entry:
            continue  # files written before the field existed: keep what is there
        flag = _flag(entry[name])
        if flag is None:
            problems.append({"field": f"{where}.{name}", "problem":
                             f"true/false, 1/0 or yes/no (empty = false), not: {entry[name]!s:.50}"})
            continue
        row[name] = flag
    return row


def _flag(value: Any) -> bool | None:
    """Read a yes/no field (JSON boolean or null, 0/1, or CSV text); None when it is neither."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def import_directory(
    session: Session, actor: Actor, entries: Iterable[Any], *, allow: frozenset[str] = frozenset()
) -> ImportReport:
    """Create or update directory entries (all checked first: one bad entry imports nothing).

    A field the file leaves out keeps its value; a field present but empty is cleared.

    Raises ``InvalidMetadataError`` listing every bad field.
    """
    problems: list[dict[str, str]] = []
    rows = [r for i, e in enumerate(entries) if (r := _clean(e, i, allow, problems)) is not None]
    seen: set[str] = set()
    for row in rows:
        if row["organ_id"] in seen:
            problems.append({"field": row["organ_id"], "problem": "listed twice"})
        seen.add(row["organ_id"])
    if problems:
        raise InvalidMetadataError("Danh bạ cơ quan không hợp lệ.", "Invalid directory entries.",
                                   details={"fields": problems})
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for row in rows:
        org = session.get(Organization, row["organ_id"])
        if org is None:
            session.add(Organization(**row))
            created.append(row["organ_id"])
            continue
        changes = {k: v for k, v in row.items() if getattr(org, k) != v}
        for name, value in changes.items():
            setattr(org, name, value)
        (updated if changes else unchanged).append(row["organ_id"])
    audit.record(session, actor, "directory.import", object_type="directory",
                 details={"created": len(created), "updated": len(updated)})
    session.commit()
    return ImportReport(tuple(created), tuple(updated), tuple(unchanged))


def parse_directory(data: bytes, fmt: str) -> list[dict[str, Any]]:
    """Read directory entries from JSON (a list, or ``{"organizations": [...]}``) or CSV bytes."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequestError("Tệp danh bạ phải mã hóa UTF-8.", "The directory file must be UTF-8.") from None
    if fmt == "csv":
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequestError("Tệp JSON không hợp lệ.", f"Invalid JSON: {exc}") from None
    if isinstance(value, dict):
        value = value.get("organizations")
    if not isinstance(value, list):
        raise BadRequestError("JSON phải là danh sách cơ quan.",
                              'JSON must be a list, or {"organizations": [...]}.')
    return value


def export_directory(session: Session, fmt: str) -> str:
    """Return the whole directory as JSON or CSV text (same fields as the import)."""
    rows = [organization_to_dict(o) for o in list_organizations(session)]
    if fmt == "csv":
        out = io.StringIO()
        # new columns go last, so readers of older exports still find theirs in place
        writer = csv.DictWriter(out, fieldnames=[*FIELDS, "reach", *FLAGS, "origin"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
        return out.getvalue()
    return json.dumps({"organizations": rows}, ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def ensure_own_organization(session: Session, actor: Actor, organ_id: str, name: str) -> bool:
    """Put this instance's own agency in the directory, so packages addressed to it are
    accepted from the first start (idempotent: an existing entry is left as operators set it).

    Return True when the entry was created.
    """
    if session.get(Organization, organ_id) is not None:
        return False
    session.add(Organization(organ_id=organ_id, name=nfc(name)))
    audit.record(session, actor, "directory.import", object_type="directory",
                 details={"created": 1, "updated": 0, "own_agency": organ_id})
    session.commit()
    return True


def seed_entries() -> list[dict[str, Any]]:
    """Return the demo directory of the province of Quảng Ngãi shipped with docsvc."""
    raw = resources.files("docsvc").joinpath(SEED_FILE).read_bytes()
    return parse_directory(raw, "json")


def seed_demo(session: Session, actor: Actor) -> ImportReport:
    """Import the demo directory (idempotent). Fields the seed leaves empty are left out, so a
    re-seed keeps what operators set since (an endpoint, a telephone number)."""
    entries = [{k: v for k, v in e.items() if v is not None} if isinstance(e, dict) else e
               for e in seed_entries()]
    return import_directory(session, actor, entries)

