"""The two full-text indexes behind one interface: PostgreSQL (``tsvector`` in ``docsvc_vi``, the
``simple`` configuration with ``unaccent``, GIN index, ``ts_rank_cd``) and SQLite (FTS5 table
``document_text_fts`` over the folded text, ``bm25``). Both see the same tokens (``index_form``).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Select, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from docsvc.models import DocumentText
from docsvc.search import Query, index_form

_FTS = table("document_text_fts", column("rowid"), column("body"), column("document_id"))


class SearchIndex(Protocol):
    """What the search service needs from an index."""

    def put(self, session: Session, row: DocumentText) -> None:
        """Index ``row`` (flushed, so it has its id), replacing what was indexed under that id."""

    def remove(self, session: Session, ids: list[int]) -> None:
        """Forget the rows ``ids``."""

    def matches(self, query: Query) -> Select:
        """Return ``SELECT document_id, rank`` of matching texts (higher is better)."""


class PostgresIndex:
    """PostgreSQL full text: unaccent in the text search configuration, GIN-indexed tsvector."""

    def put(self, session: Session, row: DocumentText) -> None:
        """Compute the row's tsvector in the database."""
        session.execute(text("UPDATE document_texts SET tsv = to_tsvector('docsvc_vi', :body) "
                             "WHERE id = :id"), {"body": index_form(row.content), "id": row.id})

    def remove(self, session: Session, ids: list[int]) -> None:
        """Nothing to do: the tsvector lives in the row itself."""

    def matches(self, query: Query) -> Select:
        """Rows whose tsvector matches, ranked by cover density."""
        tsq = func.to_tsquery(literal_column("'docsvc_vi'"), query.tsquery())
        return (select(DocumentText.document_id, func.ts_rank_cd(DocumentText.tsv, tsq).label("rank"))
                .where(DocumentText.tsv.op("@@")(tsq)))


class SqliteIndex:
    """SQLite FTS5 over the folded text (rowid = ``document_texts.id``), ranked by bm25."""

    def put(self, session: Session, row: DocumentText) -> None:
        """Insert (or replace) the folded text of the row."""
        self.remove(session, [row.id])
        session.execute(text("INSERT INTO document_text_fts(rowid, body, document_id) "
                             "VALUES (:id, :body, :document_id)"),
                        {"id": row.id, "body": index_form(row.content), "document_id": row.document_id})

    def remove(self, session: Session, ids: list[int]) -> None:
        """Delete the rows from the FTS table."""
        for row_id in ids:
            session.execute(text("DELETE FROM document_text_fts WHERE rowid = :id"), {"id": row_id})

    def matches(self, query: Query) -> Select:
        """Rows the FTS5 MATCH finds; bm25 is negative (lower is better), so its opposite ranks."""
        # FTS5's hidden ``rank`` column is bm25 (negative, lower is better). The LIMIT keeps
        # SQLite from flattening this into the caller's join, where FTS5 cannot compute it.
        return (select(_FTS.c.document_id.label("document_id"), (-literal_column("rank")).label("rank"))
                .where(text("document_text_fts MATCH :match").bindparams(match=query.fts5()))
                .limit(-1))


def index_for(session: Session) -> SearchIndex:
    """Return the index of the session's database."""
    return PostgresIndex() if session.get_bind().dialect.name == "postgresql" else SqliteIndex()
