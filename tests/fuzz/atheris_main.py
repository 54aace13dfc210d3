"""Coverage-guided fuzzing of the same entry points with atheris (where it installs):
``scripts/fuzz --atheris TARGET [-atheris_runs=N -max_total_time=S]``.

Targets call the capabilities behind the HTTP faces (faster than through the app): upload's
``inspect_pdf``, ``validate_pdf``, ``sign_pdf`` and edXML's ``parse_package``. A crash is any
exception that is not one of ours with a 4xx status, or a call over the time bound.
"""

from __future__ import annotations

import io
import sys
import time

from docsvc.errors import DocsvcError
from tests.fuzz import corpus

PER_INPUT_SECONDS = 20.0


def _upload(data: bytes) -> None:
    from docsvc.pdf import inspect_pdf

    inspect_pdf(io.BytesIO(data))


def _verify(data: bytes) -> None:
    from docsvc.verify import load_trust, validate_pdf

    validate_pdf(data, load_trust([]))


def _sign(data: bytes) -> None:
    from docsvc.signing import Placement, sign_pdf

    sign_pdf(data, signer=corpus.throwaway_signer(), role="agency", level="B-B",
             placement=Placement(page=1, box=(300, 380, 420, 480)), agency_name="Fuzz")


def _edxml(data: bytes) -> None:
    from docsvc.exchange import parse_package

    parse_package(data)


TARGETS = {"pdf_upload": (_upload, corpus.pdf_seeds), "pdf_verify": (_verify, corpus.pdf_seeds),
           "pdf_sign": (_sign, corpus.pdf_seeds), "edxml": (_edxml, corpus.edxml_seeds)}


def run_one(call, seed_list, data: bytes) -> None:  # type: ignore[no-untyped-def]
    """Run one atheris input: mostly a mutated seed (random bytes rarely get past the PDF
    header); raise when the call fails other than with one of our 4xx errors, or is slow."""
    import random

    if data and data[0] < 200:
        data = corpus.mutate(seed_list[data[0] % len(seed_list)], random.Random(data[1:]))
    started = time.monotonic()
    try:
        call(data)
    except DocsvcError as exc:
        if exc.status >= 500:
            raise
    if time.monotonic() - started > PER_INPUT_SECONDS:
        raise AssertionError(f"took {time.monotonic() - started:.1f} s")


def main() -> None:
    """Run atheris on the target named first on the command line."""
    import atheris

    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: scripts/fuzz --atheris {{{','.join(TARGETS)}}} [atheris args]")
    call, seeds = TARGETS[sys.argv[1]]
    seed_list = seeds()

    def one(data: bytes) -> None:
        run_one(call, seed_list, data)

    atheris.Setup([sys.argv[0], *sys.argv[2:]], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
