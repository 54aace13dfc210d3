"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from docsvc.db import upgrade
from docsvc.models import Base


def test_migrated_schema_matches_the_models(engine):
    upgrade(engine)  # a second run is a no-op
    with engine.connect() as connection:
        # The FTS5 table (and its shadow tables) is SQLite's search index, not a model.
        context = MigrationContext.configure(connection, opts={
            "compare_type": False,
            "include_name": lambda name, kind, _parents: not (
                kind == "table" and (name or "").startswith("document_text_fts"))})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
