"""Which organisations are reached through the axis: those neither hosted here, nor push peers,
nor served by a linked system that pulls from us, once an axis is configured."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from docsvc.models import AxisSettings, LinkedSystem, Organization


def is_axis_routed(session: Session, organ_id: str, org: Organization | None = None) -> bool:
    """Tell whether a package for ``organ_id`` (not hosted here: the caller checked) goes to the axis."""
    settings = session.get(AxisSettings, 1)
    if settings is None or not settings.enabled:
        return False
    org = org if org is not None else session.get(Organization, organ_id)
    if org is not None and org.endpoint_url:
        return False
    return not session.execute(select(exists().where(
        LinkedSystem.organ_id == organ_id, LinkedSystem.active.is_(True)))).scalar()


def axis_delivery(message: object) -> dict[str, str | None] | None:
    """Return the axis's side of a message sent through it (for ``…/statuses``), or None."""
    from sqlalchemy.orm import object_session

    from docsvc.models import AxisOutbound

    session = object_session(message)
    row = session.get(AxisOutbound, message.id) if session is not None else None  # type: ignore[attr-defined]
    if row is None:
        return None
    return {"doc_id": row.axis_doc_id, "send_status": row.send_status,
            "receive_status": row.receive_status, "receive_status_desc": row.receive_status_desc,
            "uncertain_since": row.uncertain_since.isoformat() if row.uncertain_since else None}
