"""CLI commands of the verification area, attached to ``docsvc.cli.main``:
``docsvc verify FILE`` (exit 0 passed, 1 failed, 2 indeterminate) and ``docsvc audit-archive``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from docsvc.cli import _Context, main, pass_ctx
from docsvc.security import OPERATOR


def _verifier(ctx: _Context, trust: tuple[Path, ...]):  # type: ignore[no-untyped-def]
    from docsvc.services.verification import make_verifier

    if not trust:
        return ctx.runtime.verifier  # the same trust as the API's and the arrival checks'
    return make_verifier(replace(ctx.runtime.settings, trust_dirs=trust))


@main.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "html", "pdf", "xml"]),
              default="json", show_default=True,
              help="xml: the ETSI TS 119 102-2 validation report.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (default: standard output).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the HTML/PDF report.")
@click.option("--evidence/--no-evidence", default=False,
              help="Include certificates and revocation data (base64 DER) in the JSON.")
@click.option("--trust", type=click.Path(exists=True, file_okay=False, path_type=Path),
              multiple=True, help="Trust folder (repeat); replaces DOCSVC_TRUST_DIRS.")
@pass_ctx
def verify(ctx: _Context, file: Path, fmt: str, out: Path | None, lang: str, evidence: bool,
           trust: tuple[Path, ...]) -> None:
    """Verify the signatures of FILE; exit 0 all passed, 1 failed, 2 indeterminate.

    Works offline, without the database: nothing is stored. Any file gets a report (a file
    that is not a readable PDF is INDETERMINATE / FORMAT_FAILURE, exit 2).
    """
    from docsvc.verify.render import render_html, render_pdf

    report = _verifier(ctx, trust).validate(file.read_bytes(), etsi_xml=fmt == "xml")
    if fmt == "xml" and report.etsi_xml is not None:
        body: bytes = report.etsi_xml.encode("utf-8")
    elif fmt == "pdf":
        body = render_pdf(report, lang)
    elif fmt == "html":
        body = render_html(report, lang).encode("utf-8")
    else:
        body = (json.dumps(report.to_dict(with_evidence=evidence), ensure_ascii=False, indent=2)
                + "\n").encode("utf-8")
    if out is not None:
        out.write_bytes(body)
        click.echo(f"{report.verdict} -> {out}", err=True)
    else:
        click.echo(body, nl=False)
    sys.exit(report.exit_code)


@main.command("audit-archive")
@click.option("--batch-size", type=click.IntRange(min=1, max=10_000), default=100,
              show_default=True, help="Versions per transaction.")
@click.option("--all-versions", is_flag=True,
              help="Also look into unsigned-looking versions (PDFs signed elsewhere).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--trust", type=click.Path(exists=True, file_okay=False, path_type=Path),
              multiple=True, help="Trust folder (repeat); replaces DOCSVC_TRUST_DIRS.")
@pass_ctx
def audit_archive(ctx: _Context, batch_size: int, all_versions: bool, as_json: bool,
                  trust: tuple[Path, ...]) -> None:
    """Re-verify every stored signed version, store the results, report changed verdicts.

    Exit 0 when no verdict changed and every version could be read, 1 otherwise.
    """
    from docsvc.services.verification import audit_archive as run

    rt = ctx.runtime
    verifier = _verifier(ctx, trust)

    def show(change) -> None:  # type: ignore[no-untyped-def]
        if not as_json:
            click.echo(f"CHANGED document {change.document_id} v{change.version}: "
                       f"{change.before} -> {change.after}"
                       + (" (trust configuration changed)" if change.trust_changed else ""))

    with rt.sessions() as session:
        report = run(session, rt.blobs, verifier, actor=OPERATOR, batch_size=batch_size,
                     every_version=all_versions, on_change=show)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for row in report.unreadable:
            click.echo(f"ERROR unreadable bytes: document {row['document_id']} v{row['version']} "
                       f"({row['error']})")
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(report.verdicts.items())) or "none"
        click.echo(f"checked {report.checked} versions ({verdicts}); {len(report.changes)} changed, "
                   f"{report.first_time} verified for the first time")
    if not report.is_quiet:
        sys.exit(1)
