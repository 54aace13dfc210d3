"""create_app(): the composition root. It builds the adapters (database engine, blob store)
once, hands them to the faces (API blueprints, CLI), and registers the error handlers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from docsvc.config import Settings
from docsvc.db import make_engine, make_session_factory
from docsvc.storage import BlobStore, make_blob_store


@dataclass
class Runtime:
    """The adapters one process shares between requests."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore


def build_runtime(settings: Settings, *, blobs: BlobStore | None = None) -> Runtime:
    """Build the engine, session factory and blob store for ``settings`` (nothing connects yet)."""
    engine = make_engine(settings.effective_database_url, timeout_seconds=settings.db_timeout_seconds)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        blobs=blobs if blobs is not None else make_blob_store(settings),
    )


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Return the WSGI application for ``settings`` (read from ``DOCSVC_*`` when omitted)."""
    if runtime is None:
        runtime = build_runtime(settings or Settings.from_env())
    settings = runtime.settings
    logging.basicConfig(level=settings.log_level)

    from docsvc.api.uploads import UploadRequest

    app = Flask(__name__)
    app.request_class = UploadRequest
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["docsvc"] = runtime

    from docsvc.api import api

    app.register_blueprint(api)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    return app
