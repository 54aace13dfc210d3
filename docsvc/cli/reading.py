"""Commands that read documents: ``docsvc extract FILE`` (metadata suggestions), ``docsvc search``,
``docsvc ocr FILE`` and ``docsvc jobs …`` (background work)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from docsvc.cli import _Context, main, pass_ctx


@main.command("extract")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Do not open the database (no directory matching).")
@pass_ctx
def extract(ctx: _Context, file: Path, offline: bool) -> None:
    """Print the Phụ lục VI fields read from FILE's text as JSON (confidence, page, box each)."""
    from docsvc.extract import extract_metadata, suggested_metadata
    from docsvc.pdf import inspect_pdf

    with file.open("rb") as stream:
        inspect_pdf(stream)
    if offline:
        extraction = extract_metadata(str(file))
    else:
        from docsvc.services.reading import read_pdf

        with ctx.runtime.sessions() as session:
            extraction = read_pdf(session, file.read_bytes())
    body = extraction.to_dict()
    body["suggested_metadata"] = suggested_metadata(extraction)
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))


@main.command("search")
@click.argument("words", nargs=-1)
@click.option("--type", "type_name", default=None, help="Type name or abbreviation (TB, QĐ …).")
@click.option("--direction", type=click.Choice(["outgoing", "incoming"]), default=None)
@click.option("--limit", default=20, show_default=True)
@pass_ctx
def search(ctx: _Context, words: tuple[str, ...], type_name: str | None, direction: str | None,
           limit: int) -> None:
    """Full-text search (diacritics ignored); prints rank, số/ký hiệu, trích yếu and snippet."""
    from docsvc.security import OPERATOR
    from docsvc.services.search import SearchQuery, search_documents

    with ctx.runtime.sessions() as session:
        hits = search_documents(session, SearchQuery(q=" ".join(words) or None, type_name=type_name,
                                                     direction=direction, limit=limit), OPERATOR)
        for hit in hits:
            doc = hit.document
            click.echo(f"{hit.rank:8.4f}  {doc.id}  {doc.number_notation or '-'}  {doc.subject}")
            if hit.snippet:
                click.echo(f"          {hit.snippet}")


@main.command("reindex")
@click.option("--all", "everything", is_flag=True, help="Also versions already indexed.")
@pass_ctx
def reindex(ctx: _Context, everything: bool) -> None:
    """Index the metadata and the text of every version not indexed yet (page by page)."""
    from sqlalchemy import select

    from docsvc.models import Document, DocumentText
    from docsvc.services import search
    from docsvc.storage import read_verified

    rt = ctx.runtime
    done = 0
    with rt.sessions() as session:
        indexed = set() if everything else set(session.execute(
            select(DocumentText.document_id, DocumentText.version_number)).all())
        for document in session.execute(select(Document)).scalars():
            search.index_metadata(session, document)
            for version in document.versions:
                if (document.id, version.number) in indexed or version.revoked_at is not None:
                    continue
                if version.media_type != "application/pdf":
                    continue
                with read_verified(rt.blobs, version.blob_key) as stream:
                    search.index_version(session, document.id, version.number, stream)
                done += 1
            session.commit()
    click.echo(f"indexed {done} versions")


@main.group()
def jobs() -> None:
    """Background jobs (OCR of scans, indexing of long PDFs) on the huey queue."""


@jobs.command("worker")
@click.option("--workers", default=1, show_default=True, help="Jobs run at once (threads).")
@pass_ctx
def jobs_worker(ctx: _Context, workers: int) -> None:
    """Run the huey consumer: take jobs from DOCSVC_JOBS (SQLite file or Redis) until stopped."""
    from docsvc.queue import queue_for

    consumer = queue_for(ctx.runtime).create_consumer(workers=workers, worker_type="thread",
                                                      periodic=True)
    consumer.run()


@jobs.command("run")
@click.argument("job_id")
@pass_ctx
def jobs_run(ctx: _Context, job_id: str) -> None:
    """Run one queued job here and now (no worker needed); print its final state."""
    from docsvc.services.jobs import run_job

    rt = ctx.runtime
    click.echo(run_job(rt.sessions, rt.blobs, rt.settings, job_id))


@jobs.command("show")
@click.argument("job_id")
@pass_ctx
def jobs_show(ctx: _Context, job_id: str) -> None:
    """Print a job (state, progress, message, result) as JSON."""
    from docsvc.models import Job
    from docsvc.services.jobs import job_to_dict

    with ctx.runtime.sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise click.ClickException(f"not_found: {job_id}")
        click.echo(json.dumps(job_to_dict(job), ensure_ascii=False, indent=2))
