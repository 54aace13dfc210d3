"""Wake the delivery worker as soon as a push is queued instead of letting it poll.

On PostgreSQL the transaction that queues a push sends ``NOTIFY docsvc_outbox``; PostgreSQL
delivers it only when that transaction commits, so a woken worker always finds the row. Workers
``LISTEN`` on a connection of their own. Elsewhere (SQLite) the worker keeps polling.
A notification is only a hint: the worker's pass reads the due rows as before, so a lost or
spurious notification changes when it looks, never what it does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

CHANNEL = "docsvc_outbox"
log = logging.getLogger(__name__)


def announce(session: Session) -> None:
    """Tell listening workers, when ``session`` commits, that a push is due."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class Listener:
    """A dedicated PostgreSQL connection that LISTENs for :func:`announce`; reconnects on loss."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._raw: Any = None

    @classmethod
    def for_engine(cls, engine: Engine) -> Listener | None:
        """Return a listener for ``engine``, or None when its database cannot notify."""
        return cls(engine) if engine.dialect.name == "postgresql" else None

    def _connection(self) -> Any:
        if self._raw is None:
            raw = self._engine.raw_connection()
            driver: Any = raw.driver_connection
            driver.autocommit = True
            driver.execute(f"LISTEN {CHANNEL}")
            self._raw = raw
        return self._raw.driver_connection

    def wait(self, timeout: float) -> bool:
        """Block until a notification arrives (True) or ``timeout`` seconds pass (False)."""
        started = time.monotonic()
        try:
            for _notice in self._connection().notifies(timeout=timeout, stop_after=1):
                return True
            return False
        except Exception:  # a lost connection: poll this time, reconnect next time
            log.warning("LISTEN connection lost; polling until it is back", exc_info=True)
            self.close()
            time.sleep(max(0.0, timeout - (time.monotonic() - started)))
            return False

    def close(self) -> None:
        """Give the connection back (closed: it is in autocommit and listening)."""
        if self._raw is not None:
            raw, self._raw = self._raw, None
            try:
                raw.invalidate()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                log.debug("closing the LISTEN connection failed", exc_info=True)
