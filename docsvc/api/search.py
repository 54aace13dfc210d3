"""Route of /api/v1/search: full-text search with the registry filters, ranked, with snippets."""

from __future__ import annotations

from flask import jsonify, request

from docsvc.api import actor, api, db
from docsvc.api.documents import _date_arg, _int_arg
from docsvc.api.serialize import document_to_dict
from docsvc.errors import BadRequestError
from docsvc.models import DIRECTIONS
from docsvc.services import search as svc


@api.get("/search")
def search():  # type: ignore[no-untyped-def]
    """Find documents by the text of their versions and metadata, best first."""
    direction = request.args.get("direction") or None
    if direction and direction not in DIRECTIONS:
        raise BadRequestError("Tham số direction: outgoing hoặc incoming.",
                              "Parameter direction: outgoing or incoming.",
                              details={"direction": direction})
    query = svc.SearchQuery(
        q=request.args.get("q") or None,
        code_number=request.args.get("code_number") or None,
        code_notation=request.args.get("code_notation") or None,
        type_name=request.args.get("type_name") or None,
        organ_id=request.args.get("organ_id") or None,
        direction=direction,
        issued_from=_date_arg("issued_from"),
        issued_to=_date_arg("issued_to"),
        limit=_int_arg("limit", 20, 1, svc.MAX_RESULTS),
    )
    hits = svc.search_documents(db(), query, actor())
    return jsonify({"data": [
        {"document": document_to_dict(h.document, with_versions=False), "rank": round(h.rank, 6),
         "version": h.version_number, "snippet": h.snippet} for h in hits]})
