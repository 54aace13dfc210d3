"""A fresh PostgreSQL schema for a benchmark (127.0.0.1:5432, or DOCSVC_BENCH_POSTGRES_URL)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL schema; drop it afterwards."""
    from sqlalchemy import create_engine, text

    base = os.environ.get("DOCSVC_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
