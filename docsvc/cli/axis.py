"""``docsvc axis …``: connect this instance to the national document exchange axis as a client
of the SDK protocol (endpoint, system id, sealed secret), test it, show it, sync the directory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from docsvc.cli import _Context, main, pass_ctx
from docsvc.security import OPERATOR


@main.group()
def axis() -> None:
    """The upstream national axis (Trục liên thông văn bản quốc gia)."""


def _read_secret(stdin: bool, file: Path | None, env: str | None) -> str | None:
    sources = [s for s in (stdin, file is not None, env is not None) if s]
    if len(sources) > 1:
        raise click.UsageError("give the secret once: --secret-stdin, --secret-file or --secret-env")
    if stdin:
        secret = sys.stdin.readline().strip()
    elif file is not None:
        try:
            secret = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.ClickException(f"--secret-file: cannot read {file}: {exc.strerror}") from exc
    elif env is not None:
        secret = os.environ.get(env, "").strip()
        if not secret:
            raise click.ClickException(f"--secret-env: {env} is empty or not set")
    else:
        return None
    if not secret:
        raise click.ClickException("the secret is empty")
    return secret


@axis.command("set")
@click.option("--endpoint", required=True, help="Base URL of the axis (each call is ENDPOINT/<operation>).")
@click.option("--system-id", required=True,
              help="This instance's system id at the axis (XroadVnpt-systemid).")
@click.option("--secret-stdin", is_flag=True, help="Read the shared secret from standard input.")
@click.option("--secret-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Read the shared secret from this file.")
@click.option("--secret-env", metavar="NAME", help="Read the shared secret from this environment variable.")
@click.option("--from-code", default=None,
              help="Put this in sendEdoc's 'from' instead of the sender's OrganId "
                   "(some axes want the system id).")
@pass_ctx
def axis_set(ctx: _Context, endpoint: str, system_id: str, secret_stdin: bool, secret_file: Path | None,
             secret_env: str | None, from_code: str | None) -> None:
    """Configure the axis; the secret is stored sealed and never printed."""
    from docsvc.config import sealing_keys
    from docsvc.services.axis.config import set_axis

    secret = _read_secret(secret_stdin, secret_file, secret_env)
    rt = ctx.runtime
    with rt.sessions() as session:
        set_axis(session, OPERATOR, endpoint=endpoint, system_id=system_id, secret=secret,
                 keys=sealing_keys(rt.settings), from_code=from_code)
    click.echo(f"axis: {endpoint} as {system_id}" + (" (secret stored sealed)" if secret else ""), err=True)


@axis.command("test")
@pass_ctx
def axis_test(ctx: _Context) -> None:
    """Make one authenticated call and say what is wrong, if anything (exit 1 on failure)."""
    from docsvc.config import sealing_keys
    from docsvc.services.axis.config import AxisNotConfiguredError, check_axis, load_axis

    rt = ctx.runtime
    with rt.sessions() as session:
        config = load_axis(session, sealing_keys(rt.settings),
                           timeout=rt.settings.network_timeout_seconds)
    if config is None:
        raise AxisNotConfiguredError()
    result = check_axis(config)
    line = f"{result.message_vi}\n{result.message_en}"
    if result.ok:
        click.echo(f"OK: {line}")
        return
    detail = json.dumps(result.details, ensure_ascii=False) if result.details else ""
    click.echo(f"FAIL {result.code}: {line} {detail}".rstrip(), err=True)
    sys.exit(1)


@axis.command("status")
@pass_ctx
def axis_status_command(ctx: _Context) -> None:
    """Print the axis configuration (no secret), its last errors and its queues as JSON."""
    from docsvc.services.axis.config import axis_status

    with ctx.runtime.sessions() as session:
        click.echo(json.dumps(axis_status(session), ensure_ascii=False, indent=2))


@axis.command("sync-directory")
@pass_ctx
def axis_sync_directory(ctx: _Context) -> None:
    """Bring the axis's units into the directory (origin axis; entries made here are kept)."""
    from docsvc.axis import AxisError
    from docsvc.config import sealing_keys
    from docsvc.services.axis.config import AxisNotConfiguredError, load_axis
    from docsvc.services.axis.directory import sync_directory

    rt = ctx.runtime
    with rt.sessions() as session:
        config = load_axis(session, sealing_keys(rt.settings),
                           timeout=rt.settings.network_timeout_seconds * 3)
        if config is None:
            raise AxisNotConfiguredError()
        try:
            with config.client() as client:
                report = sync_directory(session, client, actor=OPERATOR,
                                        allow=frozenset(rt.settings.organ_id_allow))
        except AxisError as exc:
            raise click.ClickException(exc.reason()) from exc
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
