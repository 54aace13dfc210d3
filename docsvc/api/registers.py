"""Routes of /api/v1/registers: the outgoing and incoming registers as JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, jsonify, request

from docsvc.api import actor, api, db, runtime
from docsvc.api.documents import _int_arg
from docsvc.api.serialize import register_row_to_dict
from docsvc.errors import NotFoundError
from docsvc.services import documents as svc

_KINDS = {"outgoing": ("outgoing", "outgoing_secret"), "incoming": ("incoming", "incoming")}


@api.get("/registers/<kind>")
def register_rows(kind: str):  # type: ignore[no-untyped-def]
    """Return one register for a year, in number order (CSV with ``Accept: text/csv``)."""
    if kind not in _KINDS:
        raise NotFoundError("Không có sổ này.", "No such register.", details={"register": kind})
    settings = runtime().settings
    year = _int_arg("year", dt.datetime.now(settings.zone).year, 1900, 9999)
    secret = request.args.get("secret") in ("1", "true")
    register = _KINDS[kind][1 if secret else 0]
    organ_id = request.args.get("organ_id") or actor().organ_id or settings.organ_id
    rows = [register_row_to_dict(e) for e in
            svc.register_rows(db(), organ_id=organ_id, register=register, year=year, actor=actor())]
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    if best == "text/csv" or request.args.get("format") == "csv":
        return _csv(rows, f"so-{'di' if kind == 'outgoing' else 'den'}-{organ_id}-{year}.csv")
    return jsonify({"register": register, "organ_id": organ_id, "year": year, "data": rows})


_COLUMNS = [
    "number", "registered_on", "number_notation", "issued_date", "organ_name", "type_name",
    "subject", "signer_name", "recipients", "to_places", "arrival_date", "secrecy", "priority",
    "document_id",
]


def _csv(rows: list[dict], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
