"""CLI commands of the exchange area, attached to ``docsvc.cli.main``: the directory of
organisations, sending documents (also as replacements), updates, and reading their statuses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from docsvc.cli import _Context, main, pass_ctx
from docsvc.security import OPERATOR


def _format_of(path: Path, given: str | None) -> str:
    if given:
        return given
    return "csv" if path.suffix.lower() == ".csv" else "json"


@main.group()
def directory() -> None:
    """The directory of organisations (OrganId, name, parent, address, pull or push)."""


@directory.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None,
              help="Default: from the file's extension.")
@pass_ctx
def directory_import(ctx: _Context, file: Path, fmt: str | None) -> None:
    """Create or update the organisations listed in FILE (JSON or CSV)."""
    from docsvc.services.directory import import_directory, parse_directory

    rt = ctx.runtime
    entries = parse_directory(file.read_bytes(), _format_of(file, fmt))
    with rt.sessions() as session:
        report = import_directory(session, OPERATOR, entries, allow=rt.settings.organ_id_allow)
    click.echo(f"directory: {len(report.created)} created, {len(report.updated)} updated, "
               f"{len(report.unchanged)} unchanged", err=True)


@directory.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@pass_ctx
def directory_export(ctx: _Context, fmt: str, out: Path | None) -> None:
    """Print (or write) the whole directory as JSON or CSV."""
    from docsvc.services.directory import export_directory

    rt = ctx.runtime
    with rt.sessions() as session:
        text = export_directory(session, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@directory.command("seed-demo")
@pass_ctx
def directory_seed_demo(ctx: _Context) -> None:
    """Add UBND tỉnh Quảng Ngãi (000.00.00.H48) with some departments and communes (idempotent)."""
    from docsvc.services.directory import seed_demo

    rt = ctx.runtime
    with rt.sessions() as session:
        report = seed_demo(session, OPERATOR)
    click.echo(f"demo directory: {len(report.created)} created, {len(report.updated)} updated, "
               f"{len(report.unchanged)} unchanged", err=True)


@main.group()
def exchange() -> None:
    """Send documents over edXML and follow their statuses."""


def _config(ctx: _Context):  # type: ignore[no-untyped-def]
    return ctx.runtime.exchange  # the same configuration (and arrival verifier) as the API


@exchange.command("send")
@click.argument("document_id")
@click.option("--to", "to", multiple=True, required=True, help="OrganId of a recipient; repeat.")
@click.option("--replaces", "replaces", multiple=True,
              help="Id of an outgoing document sent before that this one replaces; repeat.")
@click.option("--reason", default=None, help="Why it replaces them (required with --replaces).")
@pass_ctx
def exchange_send(ctx: _Context, document_id: str, to: tuple[str, ...], replaces: tuple[str, ...],
                  reason: str | None) -> None:
    """Send DOCUMENT_ID (registered and signed) to each --to organisation, as the replacement of
    each --replaces document (BussinessDocType 3) when given."""
    from docsvc.services.exchange import message_to_dict, send_document

    rt = ctx.runtime
    with rt.sessions() as session:
        result = send_document(session, rt.blobs, _config(ctx), document_id=document_id, to=list(to),
                               replaces=list(replaces) or None, reason=reason, actor=OPERATOR)
        rows = [message_to_dict(m) for m in result.messages]
    kind = f" as the replacement of {len(result.replaces)} document(s)" if result.replaces else ""
    click.echo(f"sent to {len(result.created)} new recipient(s){kind}; "
               f"package(s) {', '.join(result.package_sha256s) or result.package_sha256}",
               err=True)
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@exchange.command("update")
@click.argument("document_id")
@click.option("--reason", required=True, help="What was corrected (BussinessDocReason).")
@click.option("--to", "to", multiple=True, help="Only this recipient; repeat (default: all).")
@pass_ctx
def exchange_update(ctx: _Context, document_id: str, reason: str, to: tuple[str, ...]) -> None:
    """Send DOCUMENT_ID again as an update (BussinessDocType 2) to its recipients; those whose
    last package says the same get nothing."""
    from docsvc.services.exchange import message_to_dict, update_document

    rt = ctx.runtime
    with rt.sessions() as session:
        result = update_document(session, rt.blobs, _config(ctx), document_id=document_id,
                                 reason=reason, to=list(to) or None, actor=OPERATOR)
        rows = [message_to_dict(m) for m in result.messages]
    click.echo(f"update sent to {len(result.created)} recipient(s), {len(result.unchanged)} "
               f"unchanged; package(s) {', '.join(result.package_sha256s) or '-'}", err=True)
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@exchange.command("statuses")
@click.argument("document_id")
@pass_ctx
def exchange_statuses(ctx: _Context, document_id: str) -> None:
    """Print the delivery and status of DOCUMENT_ID per recipient, as JSON."""
    from docsvc.services.exchange import document_statuses

    rt = ctx.runtime
    with rt.sessions() as session:
        body = document_statuses(session, document_id=document_id, actor=OPERATOR)
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))


@exchange.command("trace")
@click.argument("document_id")
@pass_ctx
def exchange_trace(ctx: _Context, document_id: str) -> None:
    """Print the hops, transport events and statuses of DOCUMENT_ID in order, as JSON."""
    from docsvc.services.exchange import document_trace

    rt = ctx.runtime
    with rt.sessions() as session:
        body = document_trace(session, document_id=document_id, actor=OPERATOR)
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))


@directory.command("set-endpoint")
@click.argument("organ_id")
@click.argument("url")
@click.option("--token-stdin", is_flag=True,
              help="Read the token the peer issued for us (docsvc systems add <our OrganId>) "
                   "from standard input; it is stored encrypted.")
@pass_ctx
def directory_set_endpoint(ctx: _Context, organ_id: str, url: str, token_stdin: bool) -> None:
    """Reach ORGAN_ID by push: its docsvc runs at URL (base URL, e.g. https://xa.example)."""
    from docsvc.sealing import sealer_from_settings
    from docsvc.services.delivery import set_endpoint

    rt = ctx.runtime
    token = sys.stdin.readline().strip() if token_stdin else None
    if token_stdin and not token:
        raise click.ClickException("--token-stdin: no token on standard input")
    with rt.sessions() as session:
        set_endpoint(session, OPERATOR, organ_id=organ_id, url=url, token=token,
                     sealer=sealer_from_settings(rt.settings) if token else None)
    click.echo(f"{organ_id}: push to {url}" + (" (token stored)" if token else ""), err=True)


@main.command()
@click.option("--once", is_flag=True, help="One pass over the due deliveries, then exit.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to wait when nothing is due.")
@pass_ctx
def worker(ctx: _Context, once: bool, interval: float) -> None:
    """Push queued messages to peer docsvc instances and, when an axis is configured, send to
    and receive from it (safe to run several; stop with Ctrl-C)."""
    import signal

    from docsvc.services import wakeup
    from docsvc.services.delivery import run_worker

    rt = ctx.runtime
    stopping = {"now": False}

    def stop(_signum, _frame):  # type: ignore[no-untyped-def]
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    axis = _axis_worker(rt, once=once, interval=interval, should_stop=lambda: stopping["now"])
    listener = wakeup.Listener.for_engine(rt.engine)  # PostgreSQL: woken when a push is queued
    try:
        report = run_worker(rt.sessions, rt.blobs, rt.settings, once=once, interval=interval,
                            should_stop=lambda: stopping["now"],
                            wait_for_work=listener.wait if listener is not None else None)
    finally:
        if listener is not None:
            listener.close()
    if axis is not None:
        axis.join(30)
    click.echo(f"worker: {len(report.delivered)} delivered, {len(report.retrying)} to retry, "
               f"{len(report.failed)} failed, {len(report.expired)} expired", err=True)


def _axis_worker(rt, *, once: bool, interval: float, should_stop):  # type: ignore[no-untyped-def]
    """Run the axis's share of the worker: one pass now (``--once``) or a thread beside the push loop."""
    from docsvc.config import sealing_keys
    from docsvc.services.axis.worker import AxisWorkerOptions, axis_pass, start_axis_thread

    settings = rt.settings

    def config():  # type: ignore[no-untyped-def]
        return rt.exchange  # the runtime's: the same agency key and arrival verifier as the API

    options = AxisWorkerOptions(timeout=settings.network_timeout_seconds * 3)
    keys = sealing_keys(settings)
    if once:
        report = axis_pass(rt.sessions, rt.blobs, keys, config, options=options, force=True)
        if report.configured:
            click.echo(f"axis: {len(report.sent.sent) + len(report.sent.reconciled)} sent, "
                       f"{len(report.received.filed)} received, {len(report.sent.retrying)} to retry"
                       + (f", error {report.error}" if report.error else ""), err=True)
        return None
    return start_axis_thread(rt.sessions, rt.blobs, keys, config, interval=interval,
                             should_stop=should_stop, options=options)
