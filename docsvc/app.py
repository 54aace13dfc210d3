"""create_app(): the composition root. ``build_runtime`` builds every adapter once (database
engine, blob store, signing tools, verifier, exchange configuration); the API, the web pages, the
CLI, the VXP face and the worker all read them from the one ``Runtime``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from docsvc.config import Settings, session_secret
from docsvc.db import make_engine, make_session_factory
from docsvc.storage import BlobStore, make_blob_store

if TYPE_CHECKING:
    from docsvc.services.exchange import ExchangeConfig
    from docsvc.services.signers import SigningTools
    from docsvc.services.verification import Verifier


@dataclass
class Runtime:
    """The adapters one process shares between requests, faces and commands.

    The signing tools, the verifier and the exchange configuration are built on first use (keys
    and trust folders are read then, not at import or start-up, so ``--help`` and ``init`` need
    none of them), once per process, under a lock; every face reads the same objects, so a
    document sent from the CLI is checked on arrival exactly as one sent through the API.
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    _built: dict[str, object] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _once(self, name: str, build):  # type: ignore[no-untyped-def]
        found = self._built.get(name)
        if found is None:
            with self._lock:
                found = self._built.get(name)
                if found is None:
                    found = self._built[name] = build()
        return found

    @property
    def signing(self) -> SigningTools:
        """Return the signing tools (keys opened on first use and cached)."""
        from docsvc.services.signers import SigningTools

        return self._once("signing", lambda: SigningTools(self.settings))

    @property
    def verifier(self) -> Verifier:
        """Return the verifier (trust folders read once)."""
        from docsvc.services.verification import make_verifier

        return self._once("verifier", lambda: make_verifier(self.settings))

    @property
    def exchange(self) -> ExchangeConfig:
        """Return the exchange configuration: the agency's XML key and the arrival verifier."""
        from docsvc.services import exchange as svc

        return self._once("exchange", lambda: svc.config_from_settings(
            self.settings, agency_key=svc.load_agency_key(self.settings), verifier=lambda: self.verifier))

    def replace_adapter(self, name: str, value: object) -> None:
        """Put ``value`` in place of the adapter ``name`` (tests: a smaller limit, a fake TSA)."""
        with self._lock:
            self._built[name] = value
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
        SECRET_KEY=session_secret(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.effective_secure_cookies,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=settings.csrf_time_limit_seconds,
    )
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops, x_port=hops)
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
    _limit_rates(app, settings)
    app.after_request(_security_headers)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    return app


def _limit_rates(app: Flask, settings: Settings) -> None:
    """Throttle password attempts (per client address) and failed bearer authentications
    with Flask-Limiter; counters live in memory, or in Redis shared by every instance."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    limiter = Limiter(get_remote_address, app=app,
                      storage_uri=settings.ratelimit_storage_url or "memory://",
                      strategy="moving-window", headers_enabled=False,
                      key_prefix=f"docsvc:{settings.organ_id}")
    app.extensions["docsvc.limiter"] = limiter
    # Flask-Limiter's overloads: the decorated view loses Flask's route type; the blueprint is
    # typed as flask.sansio's while the overload expects flask.Blueprint (both work at runtime).
    app.view_functions["web.login"] = limiter.limit(  # type: ignore[assignment]
        settings.login_rate_limit, methods=["POST"], scope="login")(app.view_functions["web.login"])
    limiter.limit(settings.auth_failure_rate_limit, scope="bearer-failures",  # type: ignore[call-overload]
                  deduct_when=lambda response: response.status_code == 401)(
        app.blueprints["api"])


def _vxp_blueprint(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Return the national axis SDK face over the same exchange services as the REST API."""
    from docsvc.sealing import sealer_from_settings
    from docsvc.vxp import make_vxp_blueprint
    from docsvc.vxp.adapter import ExchangeVxpBackend

    settings = runtime.settings
    backend = ExchangeVxpBackend(runtime, sealer=sealer_from_settings(settings),
                                 config=lambda: runtime.exchange)
    return make_vxp_blueprint(settings.vxp_prefix, backend, zone=settings.zone)


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
