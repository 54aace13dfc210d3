"""Run the WSGI application under gunicorn (the production server) from ``docsvc serve``."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

_NEWER_SETTINGS = frozenset({"control_socket_disable"})
"""Settings an older gunicorn (pyproject allows >= 22) does not know; skipped there."""


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, object]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings or key not in _NEWER_SETTINGS:
                self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from docsvc.app import create_app

        return create_app()


def run(*, host: str, port: int, workers: int, threads: int) -> None:
    """Serve ``create_app()`` on host:port with gunicorn's threaded workers."""
    _Gunicorn({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 300,
        "accesslog": "-",
        "limit_request_line": 8190,
        # National-axis SDK clients send every parameter twice in headers (VXP-PROTOCOL.md §3).
        "limit_request_field_size": 65536,
        # gunicorn >= 25.1 opens a control socket at one fixed path per user
        # (~/.gunicorn/gunicorn.ctl): two instances on one host would take it from each other.
        "control_socket_disable": True,
    }).run()
