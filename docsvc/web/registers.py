"""The outgoing and incoming registers in the browser, with the columns of Nghị định 30/2020
(Phụ lục IV: sổ đăng ký văn bản đi / đến), filtered by year and secrecy, printable, and as CSV
(UTF-8 with a byte order mark, so that a spreadsheet reads the accents)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, cast

from flask import Response, abort, render_template, request

from docsvc.security import can_read_registers
from docsvc.services import documents as svc
from docsvc.web import actor, db, runtime, texts, web

KINDS = {"outgoing": ("outgoing", "outgoing_secret"), "incoming": ("incoming", "incoming")}


def register_lines(entries: Any, kind: str, words: dict[str, Any]) -> list[list[str]]:
    """Return the register's lines in the order of its Nghị định 30 columns."""
    lines = []
    for entry in entries:
        doc = entry.document
        what = f"{doc.type_name}: {doc.subject}"
        date = doc.issued_date.strftime("%d/%m/%Y") if doc.issued_date else ""
        if kind == "outgoing":
            to = "; ".join([r.get("organ_name") or r.get("organ_id", "") for r in doc.recipients]
                           + list(doc.to_places))
            lines.append([doc.number_notation or str(entry.number), date, what,
                          " ".join(x for x in (doc.signer_position, doc.signer_name) if x),
                          to, "", str(doc.issued_amount or ""), "", "",
                          words["secrecies"].get(doc.secrecy, doc.secrecy)
                          if doc.secrecy != "none" else ""])
        else:
            arrived = (doc.arrival_date or entry.registered_on)
            lines.append([arrived.strftime("%d/%m/%Y") if arrived else "", str(entry.number),
                          doc.organ_name, doc.number_notation or "", date, what, "", "",
                          words["secrecies"].get(doc.secrecy, doc.secrecy)
                          if doc.secrecy != "none" else ""])
    return lines


@web.get("/registers/<kind>")
def register_view(kind: str):  # type: ignore[no-untyped-def]
    """Show one register for a year (``?year=``, ``?secret=1`` for the secret outgoing one);
    ``?format=csv`` downloads it."""
    if kind not in KINDS:
        abort(404)
    me, settings = actor(), runtime().settings
    organ_id = me.organ_id or settings.organ_id
    this_year = dt.datetime.now(settings.zone).year
    raw = request.args.get("year", "")
    year = int(raw) if raw.isascii() and raw.isdigit() and 1900 <= int(raw) <= 9999 else this_year
    secret = kind == "outgoing" and request.args.get("secret") == "1"
    words = texts()
    entries = svc.register_rows(db(), organ_id=organ_id, register=KINDS[kind][1 if secret else 0],
                                year=year, actor=me)
    columns = words["register_columns"][kind]
    lines = register_lines(entries, kind, words)
    if request.args.get("format") == "csv":
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows(lines)
        name = f"so-{'di' if kind == 'outgoing' else 'den'}{'-mat' if secret else ''}-{organ_id}-{year}.csv"
        return Response(out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return render_template("registers.html", kind=kind, year=year, secret=secret, columns=columns,
                           lines=lines, years=range(this_year, this_year - 6, -1),
                           may_secret=me.kind != "user" or me.clearance != "none")


def may_read_registers() -> bool:
    """Tell whether the header offers the registers to the person."""
    me = actor()
    return me is not None and bool(me.organ_id) and can_read_registers(me, cast(str, me.organ_id))
