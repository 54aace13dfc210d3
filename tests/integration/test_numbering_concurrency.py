"""Numbers stay unique and gapless when many clerks register at the same moment."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

from sqlalchemy import select

from docsvc.metadata import parse_metadata
from docsvc.models import RegisterEntry
from docsvc.samples import notice_pdf
from docsvc.services import documents as svc
from docsvc.storage import MemoryBlobStore
from tests.support.data import NOTICE_METADATA
from tests.unit.test_registry import CLERK

WORKERS = 24


def test_concurrent_registrations_are_gapless(sessions):
    blobs = MemoryBlobStore()
    meta = parse_metadata(dict(NOTICE_METADATA))
    ids = []
    with sessions() as session:
        for i in range(WORKERS):
            doc, _ = svc.upload_document(
                session, blobs, stream=io.BytesIO(notice_pdf([f"doc {i}"])), filename=None,
                metadata=meta, owner_organ_id=meta.organ_id, actor=CLERK)
            ids.append(doc.id)
    barrier = threading.Barrier(WORKERS)

    def register(doc_id: str, twice: bool) -> str:
        barrier.wait()
        with sessions() as session:
            doc, _ = svc.register_document(session, document_id=doc_id, actor=CLERK,
                                           zone=ZoneInfo("Asia/Ho_Chi_Minh"))
            number = doc.code_number
        if twice:  # an impatient clerk presses the button again
            with sessions() as session:
                again, _ = svc.register_document(session, document_id=doc_id, actor=CLERK,
                                                 zone=ZoneInfo("Asia/Ho_Chi_Minh"))
                assert again.code_number == number
        return number

    with ThreadPoolExecutor(WORKERS) as pool:
        numbers = list(pool.map(register, ids, [i % 3 == 0 for i in range(WORKERS)]))

    assert sorted(numbers) == [f"{n:02d}" for n in range(1, WORKERS + 1)]
    with sessions() as session:
        rows = session.execute(select(RegisterEntry.number, RegisterEntry.document_id)).all()
    assert sorted(n for n, _ in rows) == list(range(1, WORKERS + 1))
    assert sorted(d for _, d in rows) == sorted(ids)
