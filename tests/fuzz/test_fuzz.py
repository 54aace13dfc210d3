"""Fuzz harness of the entry points that take outside bytes (issue 13): PDF upload, verify and
sign, edXML REST submit and VXP sendEdoc. Inputs are byte mutations of a seed corpus
(tests/fuzz/corpus.py) drawn by hypothesis.

Invariants for every input: no 5xx, at most ``PER_INPUT_SECONDS`` per call, peak memory of
the call bounded, nothing stored when the answer is a refusal (4xx).

Budget: ``FUZZ_EXAMPLES`` inputs per target (25 in the normal test run). The long run is one
command, ``scripts/fuzz`` (FUZZ_EXAMPLES=2000), or ``scripts/fuzz --atheris TARGET`` for
coverage-guided fuzzing with atheris where it installs.
"""

from __future__ import annotations

import os
import random
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from docsvc.errors import DocsvcError
from tests.conftest import NOTICE_METADATA, post_multipart
from tests.fuzz import corpus

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
PER_INPUT_SECONDS = float(os.environ.get("FUZZ_PER_INPUT_SECONDS", "20"))
PEAK_MEMORY_BYTES = 512 * 1024 * 1024
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


def inputs(seeds) -> st.SearchStrategy[bytes]:  # type: ignore[no-untyped-def]
    """A seed, mutated by a few random edits (the seed alone now and then)."""
    return st.tuples(st.sampled_from(range(len(seeds))), st.integers(0, 2**32 - 1),
                     st.integers(0, 8)).map(
        lambda t: seeds[t[0]] if t[2] == 0 else corpus.mutate(seeds[t[0]], random.Random(t[1]),
                                                              t[2]))


class Bounded:
    """Measure one call: wall time and peak Python memory."""

    def __enter__(self) -> Bounded:
        tracemalloc.start()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.started
        _, self.peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert self.seconds < PER_INPUT_SECONDS, f"{self.seconds:.1f} s"
        assert self.peak < PEAK_MEMORY_BYTES, f"{self.peak} bytes"


def _counts(runtime) -> tuple[int, int, int]:
    from docsvc.models import Document, DocumentVersion, Message

    with runtime.sessions() as session:
        return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (Document, DocumentVersion, Message))  # type: ignore[return-value]


def _blobs(runtime) -> int:
    return len(list(runtime.blobs.keys()))


# -- PDF entry points ---------------------------------------------------------------------------


@FUZZ
@given(data=inputs(corpus.pdf_seeds()))
def test_pdf_upload(client, runtime, data):
    import json

    before, blobs = _counts(runtime), _blobs(runtime)
    with Bounded():
        response = post_multipart(client, "/api/v1/documents", {
            "metadata": json.dumps(NOTICE_METADATA), "file": (data, "f.pdf", "application/pdf")})
    assert response.status_code < 500, response.data[:300]
    if response.status_code >= 400:
        assert (_counts(runtime), _blobs(runtime)) == (before, blobs)


@FUZZ
@given(data=inputs(corpus.pdf_seeds()))
def test_pdf_verify(client, runtime, data):
    before, blobs = _counts(runtime), _blobs(runtime)
    with Bounded():
        response = client.post("/api/v1/verify", data=data, content_type="application/pdf")
    assert response.status_code < 500, response.data[:300]
    assert (_counts(runtime), _blobs(runtime)) == (before, blobs)  # verification keeps nothing


@FUZZ
@given(data=inputs(corpus.pdf_seeds()))
def test_pdf_sign(data):
    """The signing capability: a signed PDF or one of our errors, never a crash."""
    from docsvc.signing import Placement, sign_pdf

    with Bounded():
        try:
            signed = sign_pdf(data, signer=corpus.throwaway_signer(), role="agency", level="B-B",
                              placement=Placement(page=1, box=(300, 380, 420, 480)),
                              agency_name="Fuzz")
        except DocsvcError as exc:
            assert exc.status < 500 or exc.code in ("signing_failed",), exc.code
            return
    assert signed is not None and signed.startswith(data[:0])


# -- edXML entry points --------------------------------------------------------------------------


@pytest.fixture
def linked_system(app, runtime):
    from docsvc.security import OPERATOR
    from docsvc.services.directory import seed_demo
    from docsvc.services.identity import add_system

    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        _, token = add_system(session, OPERATOR, organ_id="000.01.01.H48", name="QLVB xã")
    system = app.test_client()
    system.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return system


@FUZZ
@given(data=inputs(corpus.edxml_seeds()), key=st.integers(0, 10**9))
def test_edxml_rest_submit(linked_system, runtime, data, key):
    before, blobs = _counts(runtime), _blobs(runtime)
    with Bounded():
        response = linked_system.post("/api/v1/exchange/messages", data=data, headers={
            "Content-Type": "application/xml", "Idempotency-Key": f"fuzz-{key}"})
    assert response.status_code < 500, response.data[:300]
    if response.status_code >= 400:
        assert (_counts(runtime), _blobs(runtime)) == (before, blobs)


@pytest.fixture
def vxp_agency(app, runtime):
    import threading

    from werkzeug.serving import make_server

    from docsvc.sealing import sealer_from_settings
    from docsvc.security import OPERATOR
    from docsvc.services.directory import seed_demo
    from docsvc.services.identity import add_system
    from docsvc.vxp.auth import generate_secret
    from tests.vxp_client import VxpClient

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = generate_secret()
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        add_system(session, OPERATOR, organ_id="000.01.01.H48", name="QLVB xã",
                   vxp_system_id="vxp.fuzz.01", vxp_secret=secret,
                   sealer=sealer_from_settings(runtime.settings))
    yield lambda: VxpClient(f"http://127.0.0.1:{server.port}/vxp", "vxp.fuzz.01", secret)
    server.shutdown()
    thread.join(10)
    server.server_close()


@FUZZ
@given(data=inputs(corpus.edxml_seeds()))
def test_vxp_send_edoc(vxp_agency, runtime, data):
    before, blobs = _counts(runtime), _blobs(runtime)
    with Bounded():
        reply = vxp_agency().send_edoc(data, from_="000.01.01.H48")
    assert reply.status < 500, reply.body[:300]
    refused = reply.status >= 400 or reply.json.get("status") not in (None, "OK", "ok")
    if refused:
        assert (_counts(runtime), _blobs(runtime)) == (before, blobs)


# -- what the atheris runs found, replayed (each crashed before the fix of its commit) ---------

CRASHES = sorted((Path(__file__).parent / "crashes").glob("crash-*"))


@pytest.mark.parametrize("target", ["pdf_upload", "pdf_verify", "pdf_sign", "edxml"])
@pytest.mark.parametrize("crash", CRASHES, ids=[c.name[:14] for c in CRASHES])
def test_atheris_findings_stay_fixed(crash, target):
    from tests.fuzz.atheris_main import TARGETS, run_one

    call, seeds = TARGETS[target]
    run_one(call, seeds(), crash.read_bytes())
