"""PDFs signed by independent producers pass with the right signer and time: poppler's
``pdfsig -add-signature`` (NSS) and npm's ``@signpdf/signpdf`` (node-forge CMS).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from docsvc.verify import Indication, validate_pdf
from tests.support.pdf import make_pdf
from tests.support.pki import issue, vn_name

SIGNPDF_PACKAGES = ["@signpdf/signpdf@3.3.0", "@signpdf/signer-p12@3.3.0",
                    "@signpdf/placeholder-plain@3.3.0"]
SIGNPDF_SCRIPT = Path(__file__).with_name("signpdf_sign.cjs")


def _assert_passed_as(report, who, *, sub_filter: str) -> None:
    assert report.verdict is Indication.TOTAL_PASSED, [
        (s.indication, s.sub_indication, [n.code for n in s.notes]) for s in report.signatures]
    (sig,) = report.signatures
    subject = who.asn1_cert.subject.native
    assert sig.signer.common_name == subject["common_name"]
    assert sig.signer.organisation == subject["organization_name"]
    assert sig.signer.serial_hex == format(who.cert.serial_number, "X")
    assert sig.trust_set == "test-root"
    assert sig.coverage == "ENTIRE_FILE" and sig.intact and sig.crypto_valid
    assert sig.sub_filter == sub_filter
    assert abs(sig.signing_time - datetime.now(UTC)) < timedelta(minutes=1)


# --- poppler pdfsig with an NSS database ------------------------------------------------------

@pytest.fixture(scope="session")
def nss_db(pki, tmp_path_factory) -> Path:
    """An NSS database holding the person (RSA) and agency (ECDSA) keys and certificates."""
    if not all(shutil.which(tool) for tool in ("pdfsig", "certutil", "pk12util")):
        pytest.skip("poppler-utils (pdfsig) and libnss3-tools (certutil, pk12util) are needed")
    folder = tmp_path_factory.mktemp("nssdb")
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True,
                   capture_output=True)
    for nick, who in (("person", pki.person), ("agency", pki.agency)):
        p12 = folder / f"{nick}.p12"
        p12.write_bytes(pkcs12.serialize_key_and_certificates(
            nick.encode(), who.key, who.cert, [pki.root.cert],
            serialization.BestAvailableEncryption(b"test")))
        subprocess.run(["pk12util", "-i", str(p12), "-d", f"sql:{folder}", "-W", "test",
                        "-K", ""], check=True, capture_output=True)
    return folder


def _pdfsig_sign(nss_db: Path, nick: str, pdf: bytes, tmp_path: Path) -> bytes:
    src, out = tmp_path / "in.pdf", tmp_path / "out.pdf"
    src.write_bytes(pdf)
    # poppler 22.12 sizes /Contents from a trial signature; with ECDSA keys the real CMS is
    # often longer and pdfsig gives up ("unable update signature", ~70% of attempts here).
    # That is the producer's failure, not the verifier's: retry, then verify what it wrote.
    for _attempt in range(40):
        result = subprocess.run(
            ["pdfsig", "-nssdir", f"sql:{nss_db}", "-add-signature", "-nick", nick,
             "-new-signature-field-name", "KyBoiPoppler", "-reason", "Phê duyệt", str(src),
             str(out)],
            capture_output=True, text=True, timeout=60)
        if "unable update signature" not in result.stderr:
            break
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_bytes()


@pytest.mark.parametrize("nick", ["person", "agency"])
def test_pdfsig_signature_passes_with_signer_and_time(pki, trust, nss_db, tmp_path, nick):
    signed = _pdfsig_sign(nss_db, nick, make_pdf(), tmp_path)
    report = validate_pdf(signed, trust)
    who = getattr(pki, nick)
    _assert_passed_as(report, who, sub_filter="/adbe.pkcs7.detached")
    sig = report.signatures[0]
    assert sig.field_name == "KyBoiPoppler"
    assert sig.reason == "Phê duyệt"
    # poppler 22.12 writes PKCS#7 detached only (-etsi is refused with -add-signature)
    assert sig.level is None and "NOT_PADES_BASELINE" in {n.code for n in sig.notes}


def test_pdfsig_signature_is_not_trusted_without_its_root(nss_db, tmp_path):
    from docsvc.verify import TrustStore

    report = validate_pdf(_pdfsig_sign(nss_db, "person", make_pdf(), tmp_path), TrustStore())
    sig = report.signatures[0]
    assert sig.intact and sig.crypto_valid
    assert (sig.indication, sig.trust_anchor) == (Indication.INDETERMINATE, None)


def test_pdfsig_tampered_byte_fails(nss_db, trust, tmp_path):
    signed = bytearray(_pdfsig_sign(nss_db, "person", make_pdf(), tmp_path))
    at = signed.index(b"Van ban thu nghiem")
    signed[at] = ord("X")
    sig = validate_pdf(bytes(signed), trust).signatures[0]
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")


# --- npm @signpdf/signpdf (Node, node-forge) ---------------------------------------------------

@pytest.fixture(scope="session")
def signpdf_modules(request, tmp_path_factory) -> Path:
    """node_modules holding @signpdf, installed once per checkout (pytest cache) with npm."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("node and npm are needed for @signpdf/signpdf")
    cache = getattr(request.config, "cache", None)
    folder = (cache.mkdir("signpdf-3.3.0") if cache is not None
              else tmp_path_factory.mktemp("signpdf"))
    modules = folder / "node_modules"
    if not (modules / "@signpdf" / "signpdf").is_dir():
        result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save",
                                 "--prefix", str(folder), *SIGNPDF_PACKAGES],
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            pytest.skip(f"npm install of @signpdf failed (offline?): {result.stderr[-300:]}")
    return modules


@pytest.fixture(scope="session")
def ascii_issued(pki):
    """An RSA signer under an intermediate CA whose name is ASCII (see the test below why)."""
    ca = issue(vn_name("Test Issuing CA", org="Test Agency"),
                    rsa.generate_private_key(65537, 2048), pki.root, ca=True)
    signer = issue(vn_name("Nguyễn Văn An", title="Chủ tịch"),
                        rsa.generate_private_key(65537, 2048), ca)
    return signer, ca


def _signpdf_sign(modules: Path, who, chain, pdf: bytes, tmp_path: Path, sub_filter: str):
    src, out, p12 = tmp_path / "in.pdf", tmp_path / "out.pdf", tmp_path / "signer.p12"
    src.write_bytes(pdf)
    # node-forge reads PKCS#12 with the legacy PBE algorithms only
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
                  .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                  .hmac_hash(hashes.SHA1()).build(b"test"))  # noqa: S303 - what forge reads
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"signer", who.key, who.cert, [c.cert for c in chain], encryption))
    result = subprocess.run(
        ["node", str(SIGNPDF_SCRIPT), str(src), str(p12), "test", str(out), sub_filter],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "NODE_PATH": str(modules)})
    assert result.returncode == 0, result.stderr[-2000:]
    return out.read_bytes()


@pytest.mark.parametrize("sub_filter", ["adbe.pkcs7.detached", "ETSI.CAdES.detached"])
def test_signpdf_signature_passes_with_signer_and_time(pki, trust, signpdf_modules,
                                                       ascii_issued, tmp_path, sub_filter):
    signer, ca = ascii_issued
    signed = _signpdf_sign(signpdf_modules, signer, [ca, pki.root], make_pdf(), tmp_path,
                           sub_filter)
    report = validate_pdf(signed, trust)
    _assert_passed_as(report, signer, sub_filter=f"/{sub_filter}")
    assert [c.common_name for c in report.signatures[0].chain] == [
        "Nguyễn Văn An", "Test Issuing CA", "Test Root CA"]


def test_signpdf_with_non_ascii_issuer_name_has_no_signing_certificate(
        pki, trust, signpdf_modules, tmp_path):
    """node-forge re-encodes the issuer name of IssuerAndSerialNumber from its own parse and
    mangles non-ASCII UTF8String values ("tỉnh" becomes "tá»\\x89nh"), so the SignerInfo names
    a certificate that is not in the CMS. The signature cannot be attributed: not passed."""
    signed = _signpdf_sign(signpdf_modules, pki.person, [pki.root], make_pdf(), tmp_path,
                           "adbe.pkcs7.detached")
    report = validate_pdf(signed, trust)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (
        Indication.INDETERMINATE, "NO_SIGNING_CERTIFICATE_FOUND")
    assert sig.signer is None
