"""Database engine and session lifecycle, and the entry point to Alembic migrations.

SQLite (the embedded default) gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE``
so that concurrent writers queue instead of failing; PostgreSQL needs nothing special.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from docsvc.errors import DatabaseUnavailableError

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, timeout_seconds: float = 10.0) -> Engine:
    """Build the engine for ``url``; nothing connects until first use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": timeout_seconds, "check_same_thread": False})
        _tune_sqlite(engine, timeout_seconds)
        return engine
    connect_args = {}
    if url.startswith("postgresql"):
        connect_args = {"connect_timeout": max(1, int(timeout_seconds))}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _tune_sqlite(engine: Engine, timeout_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event decide how transactions start (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout_seconds * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        # A deferred transaction that reads and then writes can fail at once with
        # SQLITE_BUSY; taking the write lock up front makes writers wait their turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the factory of units of work (one session per request or command).

    Each session notes in ``info["written"]`` whether its open transaction has flushed writes
    (``has_writes``), so that nothing rolls back a caller's work unseen.
    """
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "after_flush", _note_written)
    event.listen(factory, "after_commit", _forget_written)
    event.listen(factory, "after_rollback", _forget_written)
    return factory


def _note_written(session: Session, _context: object) -> None:
    session.info["written"] = True


def _forget_written(session: Session) -> None:
    session.info.pop("written", None)


def has_writes(session: Session) -> bool:
    """Tell whether the session holds changes not yet committed (pending or flushed)."""
    return bool(session.new or session.dirty or session.deleted or session.info.get("written"))


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a lost or refused database connection into ``DatabaseUnavailableError``."""
    try:
        yield
    except OperationalError as exc:
        raise DatabaseUnavailableError(details={"reason": type(exc.orig).__name__}) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailableError(details={"reason": "connection_lost"}) from exc
        raise


def alembic_config(url: str) -> AlembicConfig:
    """Return an Alembic configuration pointing at our migrations and ``url``."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def create_database_folder(engine: Engine) -> None:
    """Create the folder of a SQLite database file (SQLite creates the file, not its folder);
    a server database needs no folder, so nothing is created on disk for it."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (idempotent); by default every head, since each area
    (signing, verification, exchange) adds its own migrations after the registry's."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
