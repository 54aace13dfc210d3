"""Verification with online revocation fetching on (production setting) against the demo
PKI's OCSP responder on loopback: what was fetched is reported as such and kept as evidence;
offline, the same signature is judged from the trust store's CRLs."""

from __future__ import annotations

from docsvc.signing import sign_pdf
from docsvc.verify import Indication, load_trust
from docsvc.verify.render import render_html
from docsvc.verify.validate import validate_pdf


def test_fetched_ocsp_is_reported_as_fetched_and_kept_as_evidence(pki, signer_of, sample_pdf,
                                                                  responders):
    signed = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person", level="B-B")
    trust = load_trust([pki.root_cert_path.parent])
    online = validate_pdf(signed, trust, allow_fetching=True, timeout=5)
    [sig] = online.signatures
    assert online.verdict is Indication.TOTAL_PASSED
    assert (sig.revocation.status, sig.revocation.source, sig.revocation.origin) == (
        "good", "OCSP", "fetched")
    assert ("ocsp", "fetched") in {(e.kind, e.origin) for e in sig.evidence}
    assert "tra cứu trực tuyến" in render_html(online, "vi")

    offline = validate_pdf(signed, trust, allow_fetching=False)
    assert offline.signatures[0].revocation.origin != "fetched"
    assert "fetched" not in {e.origin for e in offline.signatures[0].evidence}


def test_a_responder_that_is_down_does_not_invent_a_fetched_status(pki, signer_of, sample_pdf,
                                                                   responders):
    signed = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person", level="B-B")
    responders.ocsp_available = False
    report = validate_pdf(signed, load_trust([pki.root_cert_path.parent]), allow_fetching=True,
                          timeout=5)
    sig = report.signatures[0]
    assert sig.revocation.origin != "fetched" or sig.revocation.source == "CRL"
    assert ("ocsp", "fetched") not in {(e.kind, e.origin) for e in sig.evidence}
