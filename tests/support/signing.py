"""Fixtures for signing against real services: the demo PKI served on loopback (TSA, OCSP,
CRL), an NSS database trusting its root for pdfsig, and a SoftHSM2 token. Conftests and tests
import the fixtures they use from here (``from tests.support.signing import pki, …``).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature

from docsvc.models import Document
from docsvc.pki import demo
from docsvc.pki.responders import LoopbackServer
from docsvc.security import Actor
from docsvc.signing import load_pkcs12_signer, make_timestamper, make_validation_context
from docsvc.signing.sample import notice_pdf

PROVINCE = "000.00.00.H48"
SIGNER = Actor(kind="user", name="viet", organ_id=PROVINCE, roles=frozenset({"signer"}))
CLERK = Actor(kind="user", name="vanthu", organ_id=PROVINCE, roles=frozenset({"clerk"}))


def versions_of(session, document_id: str) -> list:
    """Return the versions of a document as stored now."""
    session.expire_all()
    return list(session.get(Document, document_id).versions)


@pytest.fixture(scope="session")
def served_pki(tmp_path_factory):
    server = LoopbackServer().start()
    pki = demo.generate(tmp_path_factory.mktemp("pki"), base_url=server.base_url)
    server.app.use(pki)
    yield pki, server
    server.stop()


@pytest.fixture(scope="session")
def pki(served_pki):
    return served_pki[0]


@pytest.fixture
def responders(served_pki):
    app = served_pki[1].app
    yield app
    app.tsa_available = True
    app.ocsp_available = True


@pytest.fixture(scope="session")
def trust_root(pki):
    return load_cert_from_pemder(str(pki.root_cert_path))


@pytest.fixture
def validation_context(trust_root):
    return make_validation_context([trust_root])


@pytest.fixture
def timestamper(pki):
    return make_timestamper(pki.tsa_url)


@pytest.fixture(scope="session")
def sample_pdf():
    return notice_pdf()


@pytest.fixture(scope="session")
def signer_of(pki):
    cache = {}

    def load(name):
        if name not in cache:
            cred = pki[name]
            cache[name] = load_pkcs12_signer(cred.p12_path, passphrase_file=cred.passphrase_path)
        return cache[name]

    return load


@pytest.fixture(scope="session")
def nssdb(pki, tmp_path_factory):
    if shutil.which("pdfsig") is None or shutil.which("certutil") is None:
        pytest.skip("poppler-utils and libnss3-tools are needed")
    directory = tmp_path_factory.mktemp("nssdb")
    subprocess.run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{directory}", "-n", "docsvc-demo-root",
                    "-t", "CT,C,C", "-i", str(pki.root_cert_path)], check=True)
    return f"sql:{directory}"


@pytest.fixture
def pdfsig(nssdb, tmp_path):
    """Run poppler's pdfsig (online OCSP against our responder); return regular signatures."""

    def run(pdf: bytes) -> list[dict[str, str]]:
        path = tmp_path / "to-verify.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdfsig", "-nssdir", nssdb, str(path)], capture_output=True,
                             text=True, timeout=60)
        blocks = re.split(r"^Signature #\d+:$", out.stdout, flags=re.M)[1:]
        found = []
        for block in blocks:
            info = dict(re.findall(r"^  - ([^:\n]+): (.*)$", block, flags=re.M))
            info["raw"] = block
            if info.get("Signature Type") == "unknown":  # document timestamps: not checked
                continue
            found.append(info)
        return found

    return run


@pytest.fixture
def assert_verified(pdfsig, trust_root):
    """Check a signed PDF with pdfsig and with pyHanko; return pyHanko's statuses."""

    def check(pdf: bytes, *, fields: list[str]) -> list:
        reports = pdfsig(pdf)
        assert [r["Signature Field Name"] for r in reports] == fields
        for report in reports:
            assert report["Signature Validation"] == "Signature is Valid.", report
            assert report["Certificate Validation"] == "Certificate is Trusted.", report
            assert report["Signing Hash Algorithm"] == "SHA-256"
        reader = PdfFileReader(BytesIO(pdf))
        statuses = []
        for sig in reader.embedded_regular_signatures:
            status = asyncio.run(async_validate_pdf_signature(
                sig, signer_validation_context=make_validation_context([trust_root])))
            assert status.intact and status.valid and status.trusted, status.pretty_print_details()
            assert status.modification_level in (
                None, ModificationLevel.NONE, ModificationLevel.LTA_UPDATES,
                ModificationLevel.FORM_FILLING,
            ), status.modification_level
            assert status.bottom_line
            statuses.append(status)
        assert [s.field_name for s in reader.embedded_regular_signatures] == fields
        return statuses

    return check


SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture(scope="session")
def softhsm_token(pki, tmp_path_factory):
    """A SoftHSM2 token holding the ECDSA and RSA person keys; yields its settings."""
    if shutil.which("softhsm2-util") is None or not Path(SOFTHSM_MODULE).exists():
        pytest.skip("softhsm2 is needed")
    if shutil.which("pkcs11-tool") is None:
        pytest.skip("pkcs11-tool (opensc) is needed")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    pin, label = "246810", "docsvc-test"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                    "--so-pin", "13579"], check=True, capture_output=True)
    for index, name in enumerate(("person-rsa", "agency-ecdsa"), start=1):
        cred = pki[name]
        key_pem = root / f"{name}.key"
        key_pem.write_bytes(cred.private_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        cert_der = root / f"{name}.der"
        cert_der.write_bytes(cred.certificate().public_bytes(serialization.Encoding.DER))
        key_id = f"{index:02x}"
        subprocess.run(["softhsm2-util", "--import", str(key_pem), "--token", label, "--label",
                        name, "--id", key_id, "--pin", pin], check=True, capture_output=True)
        subprocess.run(["pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", label,
                        "--login", "--pin", pin, "--write-object", str(cert_der), "--type",
                        "cert", "--label", name, "--id", key_id], check=True,
                       capture_output=True)
        key_pem.unlink()
    pin_file = root / "pin.txt"
    pin_file.write_text(pin + "\n")
    yield {"module_path": SOFTHSM_MODULE, "token_label": label, "pin_file": pin_file,
           "chain_files": [pki.chain_path]}
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous
