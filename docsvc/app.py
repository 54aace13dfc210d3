"""create_app(): the composition root. It builds the adapters (database engine, blob store)
once, hands them to the faces (API blueprints, CLI), and registers the error handlers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

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
    queue: Any = None
    """The huey instance of background jobs, built on first use (``docsvc.queue.queue_for``)."""


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
        SECRET_KEY=settings.secret_key or development_secret(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["docsvc"] = runtime

    from flask_wtf.csrf import CSRFProtect

    from docsvc.api import api
    from docsvc.web import web

    csrf = CSRFProtect(app)
    csrf.exempt(api)  # the API authenticates every request with a bearer token, not a cookie
    app.register_blueprint(api)
    app.register_blueprint(web)
    if settings.vxp_prefix:
        vxp = _vxp_blueprint(runtime)
        csrf.exempt(vxp)  # the SDK authenticates every request by HMAC, never by a cookie
        app.register_blueprint(vxp)  # no url_prefix: the prefix is in the rules (``/vxp//op``)
    app.after_request(_security_headers)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    return app


def _vxp_blueprint(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Return the national axis SDK face over the same exchange services as the REST API."""
    from docsvc.api.exchange import exchange_config
    from docsvc.vxp import make_vxp_blueprint
    from docsvc.vxp.adapter import ExchangeVxpBackend

    settings = runtime.settings
    backend = ExchangeVxpBackend(runtime, keys=vxp_key_material(settings), config=exchange_config)
    return make_vxp_blueprint(settings.vxp_prefix, backend, zone=settings.zone)


def vxp_key_material(settings: Settings) -> tuple[str, ...]:
    """Return the keys that seal VXP secrets, the one to encrypt with first.

    ``DOCSVC_VXP_KEY`` when set, else ``DOCSVC_SECRET_KEY`` (32+ characters), else the
    development key in the data folder; the secret key stays a candidate for decryption, so
    secrets sealed before a dedicated VXP key was configured still open.
    """
    secret = settings.secret_key if len(settings.secret_key) >= 32 else development_secret(settings)
    candidates = [settings.vxp_key, secret]
    return tuple(dict.fromkeys(k for k in candidates if len(k) >= 32))


def development_secret(settings: Settings) -> str:
    """Return a random session key kept in the data folder (development and tests only)."""
    import secrets

    path = settings.data_dir / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
    except OSError:
        return secrets.token_urlsafe(48)  # sessions then last as long as this process


def _security_headers(response):  # type: ignore[no-untyped-def]
    """Add the headers that keep pages and API answers out of frames, sniffing and caches."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy",
                       "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response
