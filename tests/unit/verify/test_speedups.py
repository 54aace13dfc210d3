"""The shortcuts that keep validate_pdf close to bare pyHanko give the same answers as the
slow way: byte-level checks on windows, and one hashing pass shared with pyHanko's digests.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from docsvc.verify import structure, validate_pdf
from docsvc.verify.validate import _hash_file_and_byte_ranges


@pytest.mark.parametrize("seed", range(40))
def test_ends_with_matches_rstrip_endswith(monkeypatch, seed):
    monkeypatch.setattr(structure, "_WINDOW", 8)  # whitespace runs longer than it
    rng = random.Random(seed)
    data = bytes(rng.choice(b"%EOF/Contents \r\n\t") for _ in range(rng.randint(0, 60)))
    end = rng.randint(0, len(data))
    for token, strip in ((b"%%EOF", b"\r\n"), (b"/Contents", structure._WHITESPACE),
                         (b"F", b" ")):
        expected = data[:end].rstrip(strip).endswith(token)
        assert structure._ends_with(data, end, token, strip) is expected, (data, end, token)


def test_shared_pass_gives_file_hash_and_pyhanko_digests(pki, trust, sample_pdf):
    first = pki.sign(sample_pdf, field_name="A")
    both = pki.sign(first, pki.agency, field_name="B", level="B-LTA")
    reader = PdfFileReader(BytesIO(both), strict=False)
    primed = reader.embedded_signatures
    assert len(primed) == 3  # two signatures and the LTA document timestamp
    assert _hash_file_and_byte_ranges(both, primed) == hashlib.sha256(both).hexdigest()
    fresh = PdfFileReader(BytesIO(both), strict=False).embedded_signatures
    for ours, theirs in zip(primed, fresh, strict=True):
        assert ours.external_digests == {"sha256": theirs.compute_digest()}


def test_sha512_signature_is_left_to_pyhanko(pki, sample_pdf):
    signed = pki.sign(sample_pdf, md="sha512")
    (emb,) = PdfFileReader(BytesIO(signed), strict=False).embedded_signatures
    assert _hash_file_and_byte_ranges(signed, [emb]) == hashlib.sha256(signed).hexdigest()
    assert emb.external_digests == {}


def test_report_hash_is_the_file_hash(pki, trust, sample_pdf):
    signed = pki.sign(sample_pdf, level="B-T")
    assert validate_pdf(signed, trust).sha256 == hashlib.sha256(signed).hexdigest()


def test_known_file_hash_leaves_only_the_byte_ranges_to_hash(pki, sample_pdf):
    both = pki.sign(pki.sign(sample_pdf, field_name="A"), pki.agency, field_name="B")
    primed = PdfFileReader(BytesIO(both), strict=False).embedded_signatures
    assert _hash_file_and_byte_ranges(both, primed, file_hash=False) is None
    fresh = PdfFileReader(BytesIO(both), strict=False).embedded_signatures
    for ours, theirs in zip(primed, fresh, strict=True):
        assert ours.external_digests == {"sha256": theirs.compute_digest()}


def test_given_file_hash_is_reported_and_gives_the_same_verdicts(pki, trust, sample_pdf):
    signed = pki.sign(sample_pdf, level="B-T")
    known = hashlib.sha256(signed).hexdigest()
    given, computed = validate_pdf(signed, trust, sha256=known), validate_pdf(signed, trust)
    assert given.sha256 == known
    assert given.to_dict() | {"validated_at": None} == computed.to_dict() | {"validated_at": None}
    tampered = signed.replace(b"Van ban", b"Xan ban", 1)  # the given hash is not trusted for
    sig = validate_pdf(tampered, trust, sha256=known).signatures[0]  # the byte ranges
    assert sig.sub_indication == "HASH_FAILURE"


def test_given_file_hash_is_kept_for_an_unreadable_file(trust):
    report = validate_pdf(b"%PDF-1.7\nnot really", trust, sha256="ab" * 32)
    assert report.sha256 == "ab" * 32 and report.sub_indication == "FORMAT_FAILURE"


def test_fetch_timeout_reaches_pyhankos_fetchers(monkeypatch, trust):
    from docsvc.verify import evidence

    made = []

    class Recorder(evidence.RequestsFetcherBackend):
        def __init__(self, *, per_request_timeout):
            made.append(per_request_timeout)
            super().__init__(per_request_timeout=per_request_timeout)

    monkeypatch.setattr(evidence, "RequestsFetcherBackend", Recorder)
    knowledge = evidence.Knowledge.from_trust(trust)
    moment = datetime.now(UTC)
    knowledge.context(moment=moment, allow_fetching=False, retroactive=False, timeout=3.0)
    assert made == []  # offline: no fetcher at all
    knowledge.context(moment=moment, allow_fetching=True, retroactive=False, timeout=3.0)
    assert made == [3.0]
