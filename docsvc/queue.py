"""The background job queue on huey: embedded by default, Redis for several machines.

``DOCSVC_JOBS=sqlite`` (default) keeps the queue in ``$DATA_DIR/jobs.sqlite3`` (huey's
SqliteHuey: no server; run ``docsvc jobs worker`` next to the web process);
``DOCSVC_JOBS=redis://host:6379/0`` shares it between machines (RedisHuey; run a worker on any
of them); ``DOCSVC_JOBS=immediate`` runs each job in the caller (tests, one-off scripts).
The queue carries only job ids; state and progress live in the ``jobs`` table.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

log = logging.getLogger(__name__)
SWEEP_AFTER = dt.timedelta(minutes=2)
"""Jobs still queued this long after creation are sent again (a lost message, a crash)."""


def make_huey(runtime: Any):  # type: ignore[no-untyped-def]
    """Build the huey instance for ``runtime.settings.jobs`` and register docsvc's tasks on it."""
    from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab  # type: ignore[import-untyped]  # no stubs

    settings = runtime.settings
    if settings.jobs == "immediate":
        huey = MemoryHuey("docsvc", immediate=True, results=False)
    elif settings.jobs.startswith(("redis://", "rediss://")):
        huey = RedisHuey("docsvc", url=settings.jobs, results=False)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey("docsvc", filename=str(settings.data_dir / "jobs.sqlite3"), results=False)

    @huey.task(name="docsvc.run_job")
    def run(job_id: str) -> None:
        from docsvc.services.jobs import run_job

        state = run_job(runtime.sessions, runtime.blobs, runtime.settings, job_id)
        log.info("job %s: %s", job_id, state)

    @huey.periodic_task(crontab(minute="*"), name="docsvc.sweep")
    def sweep() -> None:
        from docsvc.services.jobs import queued_job_ids

        with runtime.sessions() as session:
            for job_id in queued_job_ids(session, SWEEP_AFTER):
                run(job_id)

    huey.docsvc_run = run
    return huey


def queue_for(runtime: Any):  # type: ignore[no-untyped-def]
    """Return the runtime's huey instance, built on first use."""
    if getattr(runtime, "queue", None) is None:
        runtime.queue = make_huey(runtime)
    return runtime.queue


def dispatch(runtime: Any, job_ids: list[str]) -> None:
    """Send jobs (already committed) to the queue; a failure leaves them for the sweep."""
    if not job_ids:
        return
    run = queue_for(runtime).docsvc_run
    for job_id in job_ids:
        try:
            run(job_id)
        except Exception:  # noqa: BLE001 - queued rows are swept up later; the upload stands
            log.exception("could not queue job %s", job_id)
