"""Shared fixtures: settings, a fresh database per test (SQLite, and PostgreSQL when it runs),
blob stores, the Flask app and its client, sample PDFs.

PostgreSQL tests use a random schema per test on the server at ``DOCSVC_TEST_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). They skip when the server
does not answer, unless ``DOCSVC_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from docsvc.app import Runtime, build_runtime, create_app
from docsvc.config import Settings
from docsvc.db import make_engine, make_session_factory, upgrade
from docsvc.samples import notice_pdf
from docsvc.storage import MemoryBlobStore
from tests.support.data import NOTICE_METADATA, make_user

POSTGRES_URL = os.environ.get(
    "DOCSVC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("DOCSVC_REQUIRE_POSTGRES") == "1"
_pg_state: dict[str, object] = {}


def postgres_available() -> bool:
    """Tell (once per run) whether the PostgreSQL test server answers."""
    if "ok" not in _pg_state:
        try:
            engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as exc:  # noqa: BLE001 - any failure means "not here"
            _pg_state["ok"] = False
            _pg_state["why"] = f"{type(exc).__name__}: {exc}"
    return bool(_pg_state["ok"])


def need_postgres() -> None:
    """Skip (or fail, in CI) when PostgreSQL is not reachable."""
    if not postgres_available():
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {_pg_state.get('why')}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """Yield a URL whose connections see only a fresh, empty schema; drop it afterwards."""
    need_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per test process: each test starts from a copy of it
    (a copy takes milliseconds, running the migrations about 70 ms of CPU)."""
    path = tmp_path_factory.mktemp("template") / "docsvc.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    assert not path.with_name(path.name + "-wal").exists()  # closed cleanly: one file holds it all
    return path


def migrated_sqlite(template: Path, path: Path) -> str:
    """Copy the migrated template to ``path``; return its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite in tmp_path, and PostgreSQL in a random schema."""
    if request.param == "sqlite":
        return migrated_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "docsvc.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all (migration tests start from nothing)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url, timeout_seconds=30)
    if not database_url.startswith("sqlite"):  # SQLite copies are migrated already
        upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):  # type: ignore[no-untyped-def]
    factory = make_session_factory(engine)
    with factory() as session:
        yield session


@pytest.fixture
def sessions(engine):  # type: ignore[no-untyped-def]
    return make_session_factory(engine)


@pytest.fixture
def blobs() -> MemoryBlobStore:
    return MemoryBlobStore()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "var", max_upload_bytes=20 * 1024 * 1024)


@pytest.fixture
def runtime(settings: Settings, blobs: MemoryBlobStore, sqlite_template: Path) -> Iterator[Runtime]:
    """The app's adapters on a migrated SQLite database and the memory blob store."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.database_url:
        migrated_sqlite(sqlite_template, settings.data_dir / "docsvc.sqlite3")
    rt = build_runtime(settings, blobs=blobs)
    if settings.database_url:
        upgrade(rt.engine)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    app = create_app(runtime=runtime)
    app.testing = True
    return app


@pytest.fixture
def clerk_token(runtime: Runtime) -> str:
    """A token of a clerk of UBND tỉnh Quảng Ngãi (000.00.00.H48)."""
    return make_user(runtime, "vanthu", ["clerk"], full_name="Văn thư UBND tỉnh")


@pytest.fixture
def anonymous(app):  # type: ignore[no-untyped-def]
    """A test client that sends no token."""
    return app.test_client()


@pytest.fixture
def client(app, clerk_token):  # type: ignore[no-untyped-def]
    """A test client acting as the province's clerk."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {clerk_token}"
    return client


@pytest.fixture
def sample_pdf() -> bytes:
    return notice_pdf()


@pytest.fixture
def notice_metadata() -> dict:
    return json.loads(json.dumps(NOTICE_METADATA))


def add_province(session) -> None:  # type: ignore[no-untyped-def]
    """Put the demo province in the directory (a certificate must name its profile's agency)."""
    from docsvc.models import Organization
    from docsvc.pki import demo

    if session.get(Organization, demo.AGENCY_ORGAN_ID) is None:
        session.add(Organization(organ_id=demo.AGENCY_ORGAN_ID, name=demo.AGENCY_NAME))
        session.commit()


def post_multipart(client, url: str, fields: dict):  # type: ignore[no-untyped-def]
    """POST a multipart body encoded in memory (the test client's own spooled body file would
    never be closed); file parts are ``(bytes or stream, filename)`` tuples."""
    import io

    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    data = {}
    for name, value in fields.items():
        if isinstance(value, tuple):
            content = value[0].read() if hasattr(value[0], "read") else value[0]
            data[name] = FileStorage(io.BytesIO(content), value[1],
                                     content_type=value[2] if len(value) > 2
                                     else "application/octet-stream")
        else:
            data[name] = value
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
