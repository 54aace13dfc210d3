"""The ``docsvc`` command: operators' and clerks' face over the same services as the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from docsvc.app import Runtime, build_runtime
from docsvc.config import Settings
from docsvc.errors import DocsvcError
from docsvc.security import OPERATOR


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
    from docsvc.db import create_database_folder, upgrade

    rt = ctx.runtime
    create_database_folder(rt.engine)
    rt.blobs.prepare()  # the one place that creates the bucket / folder (and its sentinel)
    upgrade(rt.engine)
    from docsvc.services.directory import ensure_own_organization

    with rt.sessions() as session:
        if ensure_own_organization(session, OPERATOR, rt.settings.organ_id,
                                   rt.settings.effective_organ_name):
            click.echo(f"directory: {rt.settings.organ_id} {rt.settings.effective_organ_name} "
                       "added (this agency)", err=True)
            if not rt.settings.organ_name and rt.settings.effective_organ_name == rt.settings.organ_id:
                click.echo("directory: set DOCSVC_ORGAN_NAME to name this agency, then correct the "
                           "entry (docsvc directory import)", err=True)
    click.echo(f"docsvc ready: {rt.engine.url.render_as_string(hide_password=True)}, "
               f"blobs: {rt.blobs.name}", err=True)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True,
              help="Stop at this Alembic revision (default: every head, like `docsvc init`).")
@click.pass_context
def db_upgrade(click_ctx: click.Context, revision: str) -> None:
    """Another name for `docsvc init` (kept for old deployment scripts)."""
    from docsvc.db import create_database_folder, upgrade

    if revision == "heads":
        click_ctx.invoke(init)
        return
    engine = click_ctx.ensure_object(_Context).runtime.engine
    create_database_folder(engine)
    upgrade(engine, revision)
    click.echo(f"schema at {revision}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API with gunicorn (several workers and threads)."""
    from docsvc.server import run
    from docsvc.services.exchange import load_agency_key

    settings = Settings.from_env()  # fail here, with every problem listed, not in each worker
    load_agency_key(settings)  # and on a wrong agency key passphrase, before any worker starts
    run(host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--repair", is_flag=True,
              help="Delete orphan blobs and temporary files older than an hour first.")
@pass_ctx
def check(ctx: _Context, as_json: bool, repair: bool) -> None:
    """Re-hash every stored version; report missing/corrupted bytes (error) and orphans (info).
    With --repair, first remove what interrupted work left behind (a losing concurrent
    signature's bytes, files of a process killed mid-write)."""
    from docsvc.services.maintenance import check_storage, repair_storage

    rt = ctx.runtime
    with rt.sessions() as session:
        if repair:
            fixed = repair_storage(session, rt.blobs)
            for key in fixed.removed_blobs:
                click.echo(f"REPAIRED orphan blob removed: {key}", err=True)
            for path in fixed.removed_temporaries:
                click.echo(f"REPAIRED temporary file removed: {path}", err=True)
        report = check_storage(session, rt.blobs)
    if as_json:
        body = {"checked": report.checked, "packages": report.packages,
                "missing": report.missing, "corrupted": report.corrupted,
                "orphans": report.orphans}
        if report.revoked or report.revoked_packages:  # removed on purpose (revocation, 15)
            body.update(revoked=report.revoked, revoked_packages=report.revoked_packages)
        click.echo(json.dumps(body))
    else:
        click.echo(f"checked {report.checked} versions and {report.packages} exchange packages")
        if report.revoked or report.revoked_packages:
            click.echo(f"INFO {report.revoked} revoked versions and {report.revoked_packages} "
                       "received packages (content removed) not read")
        for row in report.missing:
            click.echo(f"ERROR missing bytes: {_where(row)} ({row['key']})")
        for row in report.corrupted:
            click.echo(f"ERROR corrupted bytes: {_where(row)} "
                       f"({row['key']} hashes to {row['actual_sha256']})")
        for key in report.orphans:
            click.echo(f"INFO orphan blob: {key}")
    if not report.is_healthy:
        sys.exit(1)


@main.group()
def secrets() -> None:
    """Stored secrets (peer tokens, VXP secrets)."""


@secrets.command("reseal")
@pass_ctx
def secrets_reseal(ctx: _Context) -> None:
    """Seal every stored secret again with the first sealing key (after adding a new key)."""
    from docsvc.sealing import sealer_from_settings
    from docsvc.services.maintenance import reseal_secrets

    rt = ctx.runtime
    with rt.sessions() as session:
        report = reseal_secrets(session, sealer_from_settings(rt.settings), OPERATOR)
    click.echo(f"resealed {report.peer_tokens} peer tokens and {report.vxp_secrets} VXP secrets; "
               f"{report.current} already current")


def _where(row: dict) -> str:
    if "message_id" in row:
        return f"exchange package of message {row['message_id']}"
    return f"document {row['document_id']} v{row['version']}"


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
            owner_organ_id=owner, actor=OPERATOR)
        body = document_to_dict(document)
        from docsvc.services.jobs import plan_after_upload

        planned = [job.id for job in plan_after_upload(session, document, rt.settings, OPERATOR)]
    if planned:  # OCR of a scan, indexing of a long PDF: for `docsvc jobs worker`
        from docsvc.queue import dispatch

        dispatch(rt, planned)
        body["jobs"] = planned
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
            session, document_id=document_id, actor=OPERATOR, zone=rt.settings.zone)
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
        page, _ = list_documents(session, DocumentQuery(q=q, limit=limit), OPERATOR)
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
        version, stream = open_version(session, rt.blobs, document_id=document_id, number=number,
                                       actor=OPERATOR)
        with stream, out.open("wb") as target:
            shutil.copyfileobj(stream, target)
    click.echo(f"v{version.number} {version.sha256} -> {out}", err=True)


# -- people, tokens, linked systems, audit -------------------------------------------------------


@main.group()
def users() -> None:
    """Manage people (clerks, signers, auditors, administrators)."""


@users.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["clerk", "signer", "auditor", "admin"]), help="Repeat for several.")
@click.option("--org", "organ_id", required=True, help="OrganId of the person's agency.")
@click.option("--name", "full_name", default="", help="Full name (Vietnamese, NFC).")
@click.option("--clearance", default="none", type=click.Choice(["none", "mat", "toi_mat", "tuyet_mat"]))
@click.option("--audits-subordinates", is_flag=True, help="Auditor also of the organisations below.")
@click.option("--password-stdin", is_flag=True, help="Read the web password from standard input.")
@pass_ctx
def users_add(ctx: _Context, username: str, roles: tuple[str, ...], organ_id: str, full_name: str,
              clearance: str, audits_subordinates: bool, password_stdin: bool) -> None:
    """Create USERNAME."""
    from docsvc.services.identity import add_user

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and len(password or "") < 10:
        raise click.BadParameter("at least 10 characters", param_hint="password")
    rt = ctx.runtime
    with rt.sessions() as session:
        add_user(session, OPERATOR, username=username, roles=roles, organ_id=organ_id,
                 full_name=full_name, password=password, clearance=clearance,
                 audits_subordinates=audits_subordinates, allowed_organ_ids=rt.settings.organ_id_allow)
    click.echo(f"user {username} created ({', '.join(roles)} of {organ_id})", err=True)


@main.group()
def tokens() -> None:
    """Issue, list and revoke API tokens."""


@tokens.command("issue")
@click.argument("username")
@click.option("--label", default=None)
@click.option("--expires-in-days", type=click.IntRange(min=1), default=None)
@pass_ctx
def tokens_issue(ctx: _Context, username: str, label: str | None, expires_in_days: int | None) -> None:
    """Issue a token for USERNAME and print it alone on stdout (it is not shown again)."""
    import datetime as dt

    from docsvc.services.identity import issue_token

    rt = ctx.runtime
    with rt.sessions() as session:
        token, row = issue_token(session, OPERATOR, username=username, label=label,
                                 expires_in=dt.timedelta(days=expires_in_days) if expires_in_days else None)
        click.echo(f"token {row.id} ({row.prefix}…) issued for {username}", err=True)
    click.echo(token)


@tokens.command("list")
@click.argument("username")
@pass_ctx
def tokens_list(ctx: _Context, username: str) -> None:
    """List USERNAME's tokens (id, prefix, state) without revealing them."""
    from docsvc.services.identity import list_tokens

    rt = ctx.runtime
    with rt.sessions() as session:
        for row in list_tokens(session, username):
            state = "revoked" if row.revoked_at else f"expires {row.expires_at:%Y-%m-%d}" if row.expires_at \
                else "active"
            click.echo(f"{row.id}\t{row.prefix}…\t{state}\t{row.label or ''}")


@tokens.command("revoke")
@click.argument("token", required=False)
@click.option("--id", "token_id", type=int, default=None, help="Token id (see tokens list).")
@pass_ctx
def tokens_revoke(ctx: _Context, token: str | None, token_id: int | None) -> None:
    """Revoke a token given whole (TOKEN), by its shown prefix, or by --id."""
    from sqlalchemy import select

    from docsvc.models import ApiToken
    from docsvc.security import token_digest
    from docsvc.services.identity import revoke_token

    if token is None and token_id is None:
        raise click.UsageError("give TOKEN or --id")
    rt = ctx.runtime
    with rt.sessions() as session:
        if token is not None and token_id is None:
            row = session.execute(select(ApiToken).where(
                ApiToken.token_sha256 == token_digest(token))).scalar_one_or_none()
            if row is not None:
                token_id = row.id
        revoked = revoke_token(session, OPERATOR, token_id=token_id,
                               prefix=token if token_id is None else None)
        click.echo(f"token {revoked.id} ({revoked.prefix}…) revoked", err=True)


@main.group()
def systems() -> None:
    """Manage linked agency systems."""


@systems.command("add")
@click.argument("organ_id")
@click.option("--name", required=True, help="Name of the agency the system acts for.")
@click.option("--client-cert-sha256", default=None, help="Pin the TLS client certificate.")
@click.option("--xml-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM certificate that verifies the system's XML signatures.")
@click.option("--vxp-system-id", default=None,
              help="Let the system connect with the national axis SDK (VXP) under this system id.")
@click.option("--vxp-secret-stdin", is_flag=True,
              help="Read the VXP shared secret from stdin (default: generate one, shown once on stderr).")
@pass_ctx
def systems_add(ctx: _Context, organ_id: str, name: str, client_cert_sha256: str | None,
                xml_cert: Path | None, vxp_system_id: str | None, vxp_secret_stdin: bool) -> None:
    """Register a linked system for ORGAN_ID and print its token alone on stdout."""
    from docsvc.sealing import sealer_from_settings
    from docsvc.services.identity import add_system
    from docsvc.vxp.auth import generate_secret

    if vxp_secret_stdin and vxp_system_id is None:
        raise click.UsageError("--vxp-secret-stdin needs --vxp-system-id")
    secret = None
    if vxp_system_id is not None:
        secret = sys.stdin.readline().rstrip("\r\n") if vxp_secret_stdin else generate_secret()
    rt = ctx.runtime
    with rt.sessions() as session:
        system, token = add_system(
            session, OPERATOR, organ_id=organ_id, name=name, client_cert_sha256=client_cert_sha256,
            xml_signing_cert=xml_cert.read_text() if xml_cert else None,
            allowed_organ_ids=rt.settings.organ_id_allow, vxp_system_id=vxp_system_id,
            vxp_secret=secret, sealer=sealer_from_settings(rt.settings) if secret else None)
        click.echo(f"system {system.id} ({system.name}) added for {organ_id}", err=True)
    if vxp_system_id is not None and not vxp_secret_stdin:
        click.echo(f"VXP system id {vxp_system_id}, secret (shown once, give it to the agency): {secret}",
                   err=True)
    click.echo(token)


@main.group()
def audit() -> None:
    """Check and anchor the audit trail."""


@audit.command("verify")
@click.option("--anchors", "anchors_file", type=click.File("r"), default=None,
              help="Anchors exported earlier (`docsvc audit anchors`) and kept elsewhere.")
@pass_ctx
def audit_verify(ctx: _Context, anchors_file) -> None:  # type: ignore[no-untyped-def]
    """Walk the hash chain; check it against every anchor and the documents that exist; exit 1
    and name the first altered, removed or reordered entry."""
    from docsvc.services.audit import verify_chain

    external = json.load(anchors_file) if anchors_file is not None else []
    if isinstance(external, dict):
        external = [external]
    rt = ctx.runtime
    with rt.sessions() as session:
        report = verify_chain(session, external_anchors=external)
    if report.is_intact:
        click.echo(f"audit chain intact: {report.entries} entries, head {report.head_hash}")
        return
    click.echo(f"audit chain BROKEN at entry {report.broken_at}: {report.problem}")
    sys.exit(1)


@audit.command("anchor")
@pass_ctx
def audit_anchor(ctx: _Context) -> None:
    """Store and print the chain head with the time as JSON (RFC 3161-timestamped when
    DOCSVC_TSA_URL is set); `docsvc worker` does it every DOCSVC_AUDIT_ANCHOR_SECONDS."""
    from docsvc.services.audit import anchor_head

    rt = ctx.runtime
    with rt.sessions() as session:
        anchor = anchor_head(session, tsa_url=rt.settings.tsa_url or None,
                             timeout=rt.settings.network_timeout_seconds)
    click.echo(json.dumps(anchor))


@audit.command("anchors")
@pass_ctx
def audit_anchors(ctx: _Context) -> None:
    """Print every stored anchor as JSON, to keep outside the database (`verify --anchors`)."""
    from docsvc.services.audit import export_anchors

    with ctx.runtime.sessions() as session:
        click.echo(json.dumps(export_anchors(session), indent=1))


# Commands of other areas live in their own modules and attach themselves to ``main``.
from docsvc.cli import axis, exchange, reading, signing, verification  # noqa: E402,F401
