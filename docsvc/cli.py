"""The ``docsvc`` command: operators' and clerks' face over the same services as the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from docsvc.app import Runtime, build_runtime
from docsvc.config import Settings
from docsvc.errors import DocsvcError


class _Context:
    """Build the runtime lazily, so ``--help`` needs no configuration."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = build_runtime(Settings.from_env())
        return self._runtime


pass_ctx = click.make_pass_decorator(_Context, ensure=True)


class _Group(click.Group):
    """Turn our errors into one clean line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except DocsvcError as exc:
            detail = f" {json.dumps(exc.details, ensure_ascii=False)}" if exc.details else ""
            raise click.ClickException(f"{exc.code}: {exc.message()}{detail}") from exc


@click.group(cls=_Group)
def main() -> None:
    """docsvc: keep, sign and exchange official documents (configured by DOCSVC_* variables)."""


@main.command()
@pass_ctx
def init(ctx: _Context) -> None:
    """Create the data folders and bring the database schema up to date (idempotent)."""
    from docsvc.db import upgrade

    rt = ctx.runtime
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt.blobs.check()
    upgrade(rt.engine)
    click.echo(f"docsvc ready: {rt.engine.url.render_as_string(hide_password=True)}, "
               f"blobs: {rt.blobs.name}", err=True)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def db_upgrade(ctx: _Context, revision: str) -> None:
    """Apply the Alembic migrations up to REVISION."""
    from docsvc.db import upgrade

    upgrade(ctx.runtime.engine, revision)
    click.echo(f"schema at {revision}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API with gunicorn (several workers and threads)."""
    from docsvc.server import run

    Settings.from_env()  # fail here, with every problem listed, not in each worker
    run(host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def check(ctx: _Context, as_json: bool) -> None:
    """Re-hash every stored version; report missing/corrupted bytes (error) and orphans (info)."""
    from docsvc.services.maintenance import check_storage

    rt = ctx.runtime
    with rt.sessions() as session:
        report = check_storage(session, rt.blobs)
    if as_json:
        click.echo(json.dumps({"checked": report.checked, "missing": report.missing,
                               "corrupted": report.corrupted, "orphans": report.orphans}))
    else:
        click.echo(f"checked {report.checked} versions")
        for row in report.missing:
            click.echo(f"ERROR missing bytes: document {row['document_id']} v{row['version']} "
                       f"({row['key']})")
        for row in report.corrupted:
            click.echo(f"ERROR corrupted bytes: document {row['document_id']} v{row['version']} "
                       f"({row['key']} hashes to {row['actual_sha256']})")
        for key in report.orphans:
            click.echo(f"INFO orphan blob: {key}")
    if not report.is_healthy:
        sys.exit(1)


@main.group()
def documents() -> None:
    """Upload, register, list and download documents."""


@documents.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--metadata", "metadata_json", required=True,
              help="Metadata as JSON, or @FILE to read it from a file.")
@pass_ctx
def documents_add(ctx: _Context, file: Path, metadata_json: str) -> None:
    """Upload FILE (a PDF) with its metadata; print the new document as JSON."""
    from docsvc.api.serialize import document_to_dict
    from docsvc.metadata import parse_metadata
    from docsvc.services.documents import upload_document

    if metadata_json.startswith("@"):
        metadata_json = Path(metadata_json[1:]).read_text(encoding="utf-8")
    try:
        raw = json.loads(metadata_json)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(str(exc), param_hint="--metadata") from exc
    rt = ctx.runtime
    metadata = parse_metadata(raw, allowed_organ_ids=rt.settings.organ_id_allow)
    owner = metadata.owner_organ_id or (
        metadata.organ_id if metadata.direction == "outgoing" else rt.settings.organ_id)
    with rt.sessions() as session, file.open("rb") as stream:
        document, warnings = upload_document(
            session, rt.blobs, stream=stream, filename=file.name, metadata=metadata,
            owner_organ_id=owner, actor="cli")
        body = document_to_dict(document)
    for warning in warnings:
        click.echo(f"WARNING {warning.code}: {warning.message}", err=True)
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))


@documents.command("register")
@click.argument("document_id")
@pass_ctx
def documents_register(ctx: _Context, document_id: str) -> None:
    """Register DOCUMENT_ID (assigns its number); print it as JSON."""
    from docsvc.api.serialize import document_to_dict
    from docsvc.services.documents import register_document

    rt = ctx.runtime
    with rt.sessions() as session:
        document, warnings = register_document(
            session, document_id=document_id, actor="cli", zone=rt.settings.zone)
        body = document_to_dict(document)
    for warning in warnings:
        click.echo(f"WARNING {warning.code}: {warning.message}", err=True)
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))


@documents.command("list")
@click.option("--q", default=None, help="Search words (diacritics ignored).")
@click.option("--limit", default=50, show_default=True)
@pass_ctx
def documents_list(ctx: _Context, q: str | None, limit: int) -> None:
    """List the newest documents, one per line: id, number/notation, subject."""
    from docsvc.services.documents import DocumentQuery, list_documents

    rt = ctx.runtime
    with rt.sessions() as session:
        page, _ = list_documents(session, DocumentQuery(q=q, limit=limit))
        for doc in page:
            click.echo(f"{doc.id}\t{doc.number_notation or '-'}\t{doc.subject}")


@documents.command("get")
@click.argument("document_id")
@click.option("--version", "number", type=int, default=None, help="Version number (default latest).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_ctx
def documents_get(ctx: _Context, document_id: str, number: int | None, out: Path) -> None:
    """Write a version's bytes (hash-checked) to --out."""
    import shutil

    from docsvc.services.documents import open_version

    rt = ctx.runtime
    with rt.sessions() as session:
        version, stream = open_version(session, rt.blobs, document_id=document_id, number=number)
        with stream, out.open("wb") as target:
            shutil.copyfileobj(stream, target)
    click.echo(f"v{version.number} {version.sha256} -> {out}", err=True)
