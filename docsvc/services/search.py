"""Full-text search use cases: index a document's metadata and the text of each of its versions,
and find documents by words, number or notation combined with the registry filters.

Row 0 of a document holds its metadata (subject, number/notation, bodies, signer); row N the text
of version N (its own text, or the OCR'd rendition's). Each caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from docsvc.errors import BadRequestError, PermissionDeniedError
from docsvc.extract import PdfTextError, iter_page_texts
from docsvc.models import SECRECY_ORDER, Document, DocumentText
from docsvc.search import (
    MAX_INDEXED_CHARACTERS,
    count_matches,
    fold_same_length,
    parse_query,
    snippet,
)
from docsvc.search.backends import index_for
from docsvc.security import Actor, readable_organs

MAX_RESULTS = 100


@dataclass(frozen=True)
class SearchQuery:
    """Text and filters of a search; every given filter must hold."""

    q: str | None = None
    code_number: str | None = None
    code_notation: str | None = None
    type_name: str | None = None
    organ_id: str | None = None
    direction: str | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    limit: int = 20


@dataclass(frozen=True)
class Hit:
    """One found document: how well it matched, in which version, and where (snippet, HTML)."""

    document: Document
    rank: float
    version_number: int | None
    snippet: str | None


def metadata_text(document: Document) -> str:
    """Return the words of a document's metadata the search should find."""
    parts = [document.number_notation or "", document.code_notation or "", document.type_name,
             document.subject, document.organ_name, document.place or "",
             document.signer_position or "", document.signer_name or "",
             " ".join(r.get("organ_name", "") for r in document.recipients or []),
             " ".join(document.references or []), document.description or ""]
    if document.arrival_number:
        parts.append(f"số đến {document.arrival_number}")
    return "\n".join(p for p in parts if p)


def put_text(session: Session, document_id: str, version_number: int, source: str, content: str
             ) -> DocumentText:
    """Replace the indexed text of one version (0: metadata) of a document."""
    row = session.execute(select(DocumentText).where(
        DocumentText.document_id == document_id, DocumentText.version_number == version_number)
    ).scalar_one_or_none()
    if row is None:
        row = DocumentText(document_id=document_id, version_number=version_number, source=source,
                           content=content)
        session.add(row)
    else:
        row.source, row.content = source, content
        row.indexed_at = dt.datetime.now(dt.UTC)
    session.flush()
    index_for(session).put(session, row)
    return row


def index_metadata(session: Session, document: Document) -> None:
    """Index (again) the metadata of ``document``."""
    put_text(session, document.id, 0, "metadata", metadata_text(document))


def page_text(stream: BinaryIO | bytes | str, pages: Iterable[str] | None = None) -> str:
    """Return the text of a PDF, pages joined by form feeds, read one page at a time and cut at
    what the index keeps; an unreadable PDF gives ''."""
    out: list[str] = []
    size = 0
    try:
        for page in pages if pages is not None else iter_page_texts(stream):
            out.append(page)
            size += len(page) + 1
            if size > MAX_INDEXED_CHARACTERS:
                break
    except PdfTextError:
        return ""
    return "\f".join(out)


def index_version(session: Session, document_id: str, version_number: int,
                  stream: BinaryIO | bytes | str, *, source: str = "text") -> int:
    """Index the text of one version from its PDF bytes; return the characters indexed."""
    if hasattr(stream, "seek"):
        stream.seek(0)
    content = page_text(stream)
    if not content.strip():
        return 0
    put_text(session, document_id, version_number, source, content)
    return len(content)


def _filtered(stmt, query: SearchQuery, actor: Actor):  # type: ignore[no-untyped-def]
    if actor.kind == "system":
        raise PermissionDeniedError(
            "Hệ thống liên thông nhận văn bản qua hộp thư trao đổi, không qua sổ đăng ký.",
            "Linked systems receive documents through the exchange inbox, not the registry.")
    if actor.kind != "operator":
        levels = [lvl for lvl, rank in SECRECY_ORDER.items()
                  if rank <= SECRECY_ORDER.get(actor.clearance, 0)]
        stmt = stmt.where(Document.owner_organ_id.in_(sorted(readable_organs(actor))),
                          Document.secrecy.in_(levels))
    if query.code_number:
        number = query.code_number.strip()
        stmt = stmt.where(Document.code_number.in_({number, number.lstrip("0").zfill(2)}))
    if query.code_notation:
        stmt = stmt.where(func.upper(Document.code_notation) == query.code_notation.strip().upper())
    if query.type_name:
        from docsvc.metadata import resolve_type

        resolved = resolve_type(query.type_name)
        stmt = stmt.where(Document.type_name == (resolved[0] if resolved else query.type_name))
    if query.organ_id:
        stmt = stmt.where(Document.organ_id == query.organ_id)
    if query.direction:
        stmt = stmt.where(Document.direction == query.direction)
    if query.issued_from:
        stmt = stmt.where(Document.issued_date >= query.issued_from)
    if query.issued_to:
        stmt = stmt.where(Document.issued_date <= query.issued_to)
    return stmt


def search_documents(session: Session, query: SearchQuery, actor: Actor) -> list[Hit]:
    """Return the best ``limit`` documents matching the text and every filter, best first.

    Without text, the filtered documents come newest first. ``BadRequestError`` when the text
    holds no letter or digit.
    """
    limit = max(1, min(query.limit, MAX_RESULTS))
    if not query.q or not query.q.strip():
        stmt = _filtered(select(Document), query, actor)
        rows = session.execute(stmt.order_by(Document.issued_date.desc().nulls_last(),
                                             Document.created_at.desc()).limit(limit)).scalars()
        return [Hit(doc, 0.0, None, None) for doc in rows]
    parsed = parse_query(query.q)
    if not parsed.terms:
        raise BadRequestError("Từ khóa tìm kiếm phải có chữ hoặc số.",
                              "The search text must contain a letter or a digit.",
                              details={"q": query.q})
    matches = index_for(session).matches(parsed).subquery()
    best = (select(matches.c.document_id, func.max(matches.c.rank).label("rank"))
            .group_by(matches.c.document_id).subquery())
    stmt = _filtered(select(Document, best.c.rank).join(best, best.c.document_id == Document.id),
                     query, actor)
    found = session.execute(stmt.order_by(best.c.rank.desc(), Document.id).limit(limit)).all()
    if not found:
        return []
    # The text of each found document where the words occur most, for its snippet.
    ids = [doc.id for doc, _ in found]
    chosen: dict[str, tuple[int, str, int, str]] = {}
    version_number: int | None
    for document_id, version_number, content in session.execute(
            select(DocumentText.document_id, DocumentText.version_number, DocumentText.content)
            .where(DocumentText.document_id.in_(ids))):
        folded = fold_same_length(content)  # once: for the score and for the snippet
        score = count_matches(content, parsed, folded)
        prior = chosen.get(document_id)
        if prior is None or (score, version_number) > (prior[2], prior[0]):
            chosen[document_id] = (version_number, content, score, folded)
    hits = []
    for doc, rank in found:
        version_number, content, _, folded = chosen.get(doc.id, (None, "", 0, ""))
        hits.append(Hit(doc, float(rank or 0), version_number or None,
                        snippet(content, parsed, folded=folded) if content else None))
    return hits
