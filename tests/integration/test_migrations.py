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


def test_path_profiles_registered_by_administrators_are_retired(empty_database_url):
    """Issue 13, finding 1: a profile an admin pointed at server files is not trusted after the
    upgrade; the operator's own path profiles keep working until ``signers import-keys``."""
    import sqlalchemy as sa

    from docsvc.db import make_engine

    engine = make_engine(empty_database_url, timeout_seconds=30)
    upgrade(engine, "0003_signing")
    upgrade(engine, "0004")
    upgrade(engine, "0010")
    rows = [("admin-made", "user:quantri"), ("operator-made", "operator:cli")]
    with engine.begin() as connection:
        for profile_id, creator in rows:
            connection.execute(sa.text(
                "INSERT INTO signer_profiles (id, role, organ_id, display_name, key_source, "
                "p12_path, passphrase_file, is_demo, active, created_by, created_at, updated_at) "
                "VALUES (:id, 'person', '000.01.01.H48', 'X', 'pkcs12', '/srv/k.p12', "
                "'/srv/k.pass', false, true, :by, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"id": profile_id, "by": creator})
    upgrade(engine)
    with engine.connect() as connection:
        active = dict(connection.execute(sa.text(
            "SELECT id, active FROM signer_profiles WHERE id IN ('admin-made', 'operator-made')")
        ).all())
    engine.dispose()
    assert active == {"admin-made": False, "operator-made": True}
