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
