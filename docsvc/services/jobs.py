"""Background work on documents: plan it after an upload, run it (OCR, indexing), report it.

A job is a row (state, progress, message) people can read; the queue (huey, see
``docsvc.queue``) only carries its id. Running claims the row first, so a job delivered twice
(a retry, the sweep) runs once.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from docsvc.config import Settings
from docsvc.errors import NotFoundError
from docsvc.extract import extract_metadata, suggested_metadata
from docsvc.extract.layout import PdfTextError, page_count
from docsvc.models import Document, DocumentRendition, DocumentText, Job
from docsvc.security import Actor, can_read
from docsvc.services import search
from docsvc.storage import BlobStore, hash_stream, read_verified

log = logging.getLogger(__name__)


def _not_found(job_id: str) -> NotFoundError:
    return NotFoundError("Không tìm thấy công việc.", "Job not found.", details={"job_id": job_id})


def plan_after_upload(session: Session, document: Document, settings: Settings, actor: Actor
                      ) -> list[Job]:
    """Queue what an upload left to do: OCR of a scan, indexing of a long PDF. Commits."""
    version = document.latest_version
    indexed = session.execute(select(DocumentText.id).where(
        DocumentText.document_id == document.id,
        DocumentText.version_number == version.number)).first()
    if indexed is not None:
        return []
    pages = document.page_amount or 0
    if pages == 0:  # encrypted: nothing can read it
        return []
    from docsvc.services.documents import SYNC_INDEX_PAGES

    kind = "index" if pages > SYNC_INDEX_PAGES else "ocr"
    if kind == "ocr" and settings.ocr == "off":
        return []
    job = Job(kind=kind, document_id=document.id, version_number=version.number,
              owner_organ_id=document.owner_organ_id, created_by=actor.label,
              message="chờ xử lý / queued")
    session.add(job)
    session.commit()
    return [job]


def get_job(session: Session, job_id: str, actor: Actor) -> Job:
    """Return a job of a document the actor may read (``NotFoundError`` otherwise)."""
    job = session.get(Job, job_id)
    if job is None or job.document_id is None:
        raise _not_found(job_id)
    document = session.get(Document, job.document_id)
    if document is None or not can_read(actor, document):
        raise _not_found(job_id)
    return job


def document_jobs(session: Session, document: Document) -> Sequence[Job]:
    """Return the jobs of a document, newest first."""
    return session.execute(select(Job).where(Job.document_id == document.id)
                           .order_by(Job.created_at.desc())).scalars().all()


def request_job(session: Session, document: Document, kind: str, version_number: int | None,
                actor: Actor) -> Job:
    """Queue OCR or indexing of one version (the latest by default) again. Commits."""
    from docsvc.errors import BadRequestError

    if kind not in ("ocr", "index"):
        raise BadRequestError("Loại công việc: ocr hoặc index.", "Job kind: ocr or index.",
                              details={"kind": kind})
    numbers = [v.number for v in document.versions]
    number = version_number if version_number is not None else numbers[-1]
    if number not in numbers:
        raise NotFoundError("Không có phiên bản này.", "No such version.",
                            details={"document_id": document.id, "version": number})
    job = Job(kind=kind, document_id=document.id, version_number=number,
              owner_organ_id=document.owner_organ_id, created_by=actor.label,
              message="chờ xử lý / queued")
    session.add(job)
    session.commit()
    return job


def queued_job_ids(session: Session, older_than: dt.timedelta = dt.timedelta(0)) -> list[str]:
    """Return the ids of jobs still queued (for the sweep that re-sends lost ones)."""
    limit = dt.datetime.now(dt.UTC) - older_than
    return list(session.execute(select(Job.id).where(Job.state == "queued",
                                                     Job.created_at <= limit)).scalars())


def _claim(sessions: sessionmaker[Session], job_id: str) -> bool:
    with sessions() as session:
        claimed = cast(CursorResult[Any], session.execute(update(Job).where(
            Job.id == job_id, Job.state == "queued").values(
            state="running", started_at=dt.datetime.now(dt.UTC), progress=1,
            message="đang xử lý / running"))).rowcount
        session.commit()
    return bool(claimed)


def _progress(sessions: sessionmaker[Session], job_id: str, progress: int, message: str,
              **end: object) -> None:
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.progress, job.message = progress, message[:500]
        for name, value in end.items():
            setattr(job, name, value)
        session.commit()


def run_job(sessions: sessionmaker[Session], blobs: BlobStore, settings: Settings, job_id: str) -> str:
    """Run one queued job to its end and return its final state; failures are recorded, not raised."""
    if not _claim(sessions, job_id):
        return "skipped"
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        kind, document_id, number = job.kind, job.document_id, job.version_number
        document = session.get(Document, document_id)
        version = next((v for v in document.versions if v.number == number), None) if document else None
        blob_key = version.blob_key if version is not None and version.revoked_at is None else None
    if blob_key is None:
        return _finish(sessions, job_id, "failed", "version_unavailable: phiên bản không còn nội dung")
    work = Path(tempfile.mkdtemp(prefix="docsvc-job-"))
    try:
        source = work / "original.pdf"
        with read_verified(blobs, blob_key) as stream, source.open("wb") as out:
            shutil.copyfileobj(stream, out)
        if kind == "index":
            state = _index(sessions, job_id, document_id, number, source)
            if state != "no_text" or settings.ocr == "off":
                return state if state != "no_text" else _finish(
                    sessions, job_id, "done", "không có lớp chữ / no text layer", {"characters": 0})
            # a long scan: no text to index, so recognise it (same job, same progress bar)
        return _ocr(sessions, blobs, settings, job_id, document_id, number, source, work)
    except Exception as exc:  # noqa: BLE001 - the job records why it failed; the worker lives on
        log.exception("job %s failed", job_id)
        return _finish(sessions, job_id, "failed", f"internal_error: {type(exc).__name__}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _finish(sessions: sessionmaker[Session], job_id: str, state: str, message: str,
            result: dict | None = None) -> str:
    extra: dict[str, object] = {"state": state, "finished_at": dt.datetime.now(dt.UTC)}
    if result is not None:
        extra["result"] = result
    _progress(sessions, job_id, 100 if state == "done" else 0, message, **extra)
    return state


def _index(sessions, job_id, document_id, number, source: Path) -> str:  # type: ignore[no-untyped-def]
    _progress(sessions, job_id, 10, "đang lập chỉ mục / indexing")
    with sessions() as session:
        characters = search.index_version(session, document_id, number, str(source))
        session.commit()
    if characters == 0:
        return "no_text"
    return _finish(sessions, job_id, "done", "đã lập chỉ mục / indexed", {"characters": characters})


def _ocr(sessions, blobs, settings, job_id, document_id, number, source: Path, work: Path) -> str:  # type: ignore[no-untyped-def]
    from docsvc.ocr import make_searchable

    try:
        pages = page_count(str(source))
    except PdfTextError:
        return _finish(sessions, job_id, "failed", "unreadable_pdf: không đọc được tệp PDF")
    _progress(sessions, job_id, 5, f"đang nhận dạng chữ {min(pages, settings.ocr_max_pages)} trang / "
                                   f"running OCR on {min(pages, settings.ocr_max_pages)} pages")
    target = work / "searchable.pdf"
    outcome = make_searchable(source, target, page_count=pages, languages=settings.ocr_languages,
                              max_pages=settings.ocr_max_pages,
                              timeout_seconds=settings.ocr_timeout_seconds)
    if not outcome.ok:
        return _finish(sessions, job_id, "failed", f"{outcome.reason}: {outcome.detail}",
                       {"reason": outcome.reason, "seconds": round(outcome.seconds, 1)})
    _progress(sessions, job_id, 80, "đang lưu bản có lớp chữ / storing the searchable rendition")
    with target.open("rb") as stream:
        sha256, size = hash_stream(stream)
        stream.seek(0)
        info = blobs.put(stream, sha256=sha256, size=size)  # bytes first, then the row
    extraction = extract_metadata(str(target), source_kind="ocr")
    with sessions() as session:
        old = session.execute(select(DocumentRendition).where(
            DocumentRendition.document_id == document_id, DocumentRendition.version_number == number,
            DocumentRendition.kind == "searchable")).scalar_one_or_none()
        if old is not None:
            session.delete(old)
            session.flush()
        session.add(DocumentRendition(
            document_id=document_id, version_number=number, kind="searchable", sha256=sha256,
            size=size, blob_key=info.key,
            details={"ocr_pages": outcome.pages, "page_count": pages, "seconds": round(outcome.seconds, 1),
                     "languages": settings.ocr_languages}))
        characters = search.index_version(session, document_id, number, str(target), source="ocr")
        session.commit()
    partial = outcome.pages < pages
    message = (f"xong, {outcome.pages}/{pages} trang / done, {outcome.pages}/{pages} pages"
               + (" (giới hạn số trang / page limit)" if partial else ""))
    return _finish(sessions, job_id, "done", message, {
        "pages": outcome.pages, "page_count": pages, "partial": partial,
        "seconds": round(outcome.seconds, 1), "characters": characters,
        "rendition_sha256": sha256, "suggested_metadata": suggested_metadata(extraction)})


def job_to_dict(job: Job) -> dict:
    """Return the JSON form of a job."""
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": job.id, "kind": job.kind, "document_id": job.document_id,
            "version": job.version_number, "state": job.state, "progress": job.progress,
            "message": job.message, "result": job.result or {}, "created_at": iso(job.created_at),
            "started_at": iso(job.started_at), "finished_at": iso(job.finished_at)}
