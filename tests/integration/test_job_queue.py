"""The job queue for real: SqliteHuey (embedded, a file) and RedisHuey (the Redis on 6379) carry
a job id from the web process to a consumer; the job runs once even when delivered twice."""

from __future__ import annotations

import io
import os
import socket

import pytest

from docsvc.app import build_runtime
from docsvc.config import Settings
from docsvc.db import upgrade
from docsvc.metadata import parse_metadata
from docsvc.models import Job
from docsvc.queue import dispatch, queue_for
from docsvc.security import Actor
from docsvc.services import documents, jobs
from docsvc.signing.sample import notice_pdf
from docsvc.storage import MemoryBlobStore
from tests.conftest import NOTICE_METADATA

REDIS_URL = os.environ.get("DOCSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CLERK = Actor(kind="user", name="vanthu", organ_id="000.00.00.H48", roles=frozenset({"clerk"}))


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.skipif(
    not _redis_up(), reason="no Redis on 127.0.0.1:6379"))])
def test_a_job_travels_through_the_queue_and_runs_once(tmp_path, backend):
    settings = Settings(env="test", data_dir=tmp_path / "var",
                        jobs="sqlite" if backend == "sqlite" else REDIS_URL)
    settings.data_dir.mkdir(parents=True)
    runtime = build_runtime(settings, blobs=MemoryBlobStore())
    upgrade(runtime.engine)
    huey = queue_for(runtime)
    huey.flush()
    with runtime.sessions() as session:
        doc, _ = documents.upload_document(
            session, runtime.blobs, stream=io.BytesIO(notice_pdf()), filename="tb.pdf",
            metadata=parse_metadata(NOTICE_METADATA), owner_organ_id=CLERK.organ_id, actor=CLERK)
        job = jobs.request_job(session, doc, "index", None, CLERK)
    dispatch(runtime, [job.id, job.id])  # delivered twice (a retry, the sweep)
    with runtime.sessions() as session:
        assert session.get(Job, job.id).state == "queued"  # nothing runs in the web process
    states = []
    while (task := huey.dequeue()) is not None:  # what `docsvc jobs worker` does
        huey.execute(task)
    with runtime.sessions() as session:
        done = session.get(Job, job.id)
        states.append(done.state)
        assert done.state == "done" and done.progress == 100 and done.result["characters"] > 100
        assert done.started_at <= done.finished_at
    assert huey.pending_count() == 0
    runtime.engine.dispose()


def test_settings_refuse_an_unknown_queue():
    problems = Settings(jobs="rabbitmq://x").problems()
    assert any("DOCSVC_JOBS" in p for p in problems)
    assert Settings(jobs="redis://127.0.0.1:6379/0").problems() == []
