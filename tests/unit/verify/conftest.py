"""A small test PKI (root CA, RSA and ECDSA signers, TSA, CRL) and PDF builders for the
verifier tests; independent of docsvc.pki.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

NOW = datetime.now(UTC).replace(microsecond=0)


def _name(cn: str, org: str = "UBND tỉnh Thử Nghiệm", title: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    return x509.Name(attrs)


@dataclass
class Identity:
    """A key and its certificate, in cryptography and asn1crypto forms."""

    key: object
    cert: x509.Certificate

    @property
    def asn1_cert(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))

    @property
    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        return asn1_keys.PrivateKeyInfo.load(self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))


def _issue(subject: x509.Name, key, issuer: Identity | None, *, ca: bool = False,
           tsa: bool = False, not_before=None, not_after=None, serial=None) -> Identity:
    pub = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(pub).serial_number(serial or x509.random_serial_number())
               .not_valid_before(not_before or NOW - timedelta(days=365))
               .not_valid_after(not_after or NOW + timedelta(days=365))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False)
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier("http://crl.test.invalid/root.crl")],
            None, None, None)]), critical=False)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=not tsa, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
    if tsa:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    signing_key = issuer.key if issuer else key
    cert = builder.sign(signing_key, hashes.SHA256())
    return Identity(key, cert)


@dataclass
class TestPki:
    """Root CA, signers (RSA person, ECDSA agency), TSA, a revoked signer and an impostor."""

    root: Identity
    person: Identity
    agency: Identity
    tsa: Identity
    revoked: Identity
    impostor_root: Identity
    impostor: Identity
    crl_der: bytes = b""
    tmp: Path = field(default=Path("."))

    def trust_dir(self) -> Path:
        folder = self.tmp / "trust" / "test-root"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "root.pem").write_bytes(self.root.cert.public_bytes(serialization.Encoding.PEM))
        return folder

    def signer(self, who: Identity) -> signers.SimpleSigner:
        return signers.SimpleSigner(
            signing_cert=who.asn1_cert, signing_key=who.asn1_key,
            cert_registry=SimpleCertificateStore.from_certs([self._issuer_of(who).asn1_cert]))

    def _issuer_of(self, who: Identity) -> Identity:
        return self.impostor_root if who is self.impostor else self.root

    def timestamper(self) -> DummyTimeStamper:
        return DummyTimeStamper(tsa_cert=self.tsa.asn1_cert, tsa_key=self.tsa.asn1_key,
                                certs_to_embed=SimpleCertificateStore.from_certs(
                                    [self.root.asn1_cert]))

    def validation_context(self) -> ValidationContext:
        return ValidationContext(trust_roots=[self.root.asn1_cert],
                                 crls=[asn1_crl.CertificateList.load(self.crl_der)],
                                 allow_fetching=False)

    def sign(self, pdf: bytes, who: Identity | None = None, *, field_name: str = "Sig1",
             level: str = "B-B", pades: bool = True, certify: fields.MDPPerm | None = None,
             md: str = "sha256", new_field: fields.SigFieldSpec | None = None) -> bytes:
        who = who or self.person
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm=md, reason="Phê duyệt văn bản",
            location="Thành phố Thử Nghiệm",
            subfilter=(fields.SigSeedSubFilter.PADES if pades
                       else fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED),
            certify=certify is not None, docmdp_permissions=certify or fields.MDPPerm.FILL_FORMS,
            embed_validation_info=level in ("B-LT", "B-LTA"),
            use_pades_lta=level == "B-LTA",
            validation_context=self.validation_context() if level in ("B-LT", "B-LTA") else None,
        )
        ts = self.timestamper() if level != "B-B" else None
        out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=False), meta,
                               signer=self.signer(who), timestamper=ts, new_field_spec=new_field)
        return out.getvalue()


def build_pki(tmp: Path) -> TestPki:
    root = _issue(_name("Test Root CA"), rsa.generate_private_key(65537, 2048), None, ca=True,
                  not_before=NOW - timedelta(days=3650), not_after=NOW + timedelta(days=3650))
    person = _issue(_name("Nguyễn Văn An", title="Chủ tịch"),
                    rsa.generate_private_key(65537, 2048), root)
    agency = _issue(_name("UBND tỉnh Thử Nghiệm"), ec.generate_private_key(ec.SECP256R1()), root)
    tsa = _issue(_name("Test TSA"), rsa.generate_private_key(65537, 2048), root, tsa=True)
    revoked = _issue(_name("Trần Thị Bị Thu Hồi"), rsa.generate_private_key(65537, 2048), root)
    impostor_root = _issue(_name("Test Root CA"), rsa.generate_private_key(65537, 2048), None,
                           ca=True)
    impostor = _issue(_name("Nguyễn Văn An", title="Chủ tịch"),
                      rsa.generate_private_key(65537, 2048), impostor_root)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(root.cert.subject)
           .last_update(NOW - timedelta(minutes=5)).next_update(NOW + timedelta(days=7))
           .add_revoked_certificate(x509.RevokedCertificateBuilder()
                                    .serial_number(revoked.cert.serial_number)
                                    .revocation_date(NOW - timedelta(days=1)).build())
           .add_extension(x509.CRLNumber(1), critical=False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
               root.key.public_key()), critical=False)
           .sign(root.key, hashes.SHA256()))
    return TestPki(root, person, agency, tsa, revoked, impostor_root, impostor,
                   crl.public_bytes(serialization.Encoding.DER), tmp)


def make_pdf(text: str = "Van ban thu nghiem", *, extra_objects: dict[int, bytes] | None = None,
             with_text_field: bool = False, page_size: tuple[int, int] = (595, 842),
             padding: int = 0) -> bytes:
    """Build a small classic-xref PDF by hand (objects 1..n) with one page."""
    w, h = page_size
    content = f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode()
    objs: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R"
           + (b" /AcroForm << /Fields [6 0 R] /DA (/Helv 12 Tf 0 g) >>" if with_text_field
              else b"") + b" >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Contents 4 0 R "
            f"/Resources << /Font << /F1 5 0 R >> >>".encode()
            + (b" /Annots [6 0 R]" if with_text_field else b"") + b" >>"),
        4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    if with_text_field:
        objs[6] = (b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Note) /V (benign) "
                   b"/Rect [72 600 300 630] /P 3 0 R /F 4 /AP << /N 7 0 R >> >>")
        ap = b"1 1 1 rg 0 0 228 30 re f BT /F1 12 Tf 0 g 2 10 Td (benign) Tj ET"
        objs[7] = (b"<< /Type /XObject /Subtype /Form /BBox [0 0 228 30] "
                   b"/Resources << /Font << /F1 5 0 R >> >> /Length %d >>\nstream\n" % len(ap)
                   + ap + b"\nendstream")
    if padding:
        blob = bytes(range(256)) * (padding // 256 + 1)
        objs[8] = b"<< /Length %d >>\nstream\n" % len(blob) + blob + b"\nendstream"
    objs.update(extra_objects or {})
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    size = max(objs) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        if num in offsets:
            out += b"%010d 00000 n \n" % offsets[num]
        else:
            out += b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def append_update(pdf: bytes, objects: dict[int, bytes], *, mode: str = "proper") -> bytes:
    """Append an incremental update redefining ``objects``.

    ``mode``: ``proper`` (xref + trailer /Prev + startxref), ``empty-xref`` (bare ``xref``
    keyword and a trailer without /Prev), ``trailer-only`` (no xref keyword), ``bare`` (objects
    only, nothing after them).
    """
    out = bytearray(pdf)
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    if mode == "bare":
        return bytes(out)
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    size = max(size, max(objects) + 1)
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    xref = len(out)
    if mode == "proper":
        out += b"xref\n"
        for num in sorted(objects):
            out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
        out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\n" % (size, root, prev)
    elif mode == "empty-xref":
        out += b"xref\ntrailer\n<< /Size %d /Root %s >>\n" % (size, root)
    elif mode == "trailer-only":
        out += b"trailer\n<< /Size %d /Root %s >>\n" % (size, root)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def trust(pki):
    from docsvc.verify import load_trust

    return load_trust([pki.trust_dir()])


@pytest.fixture(scope="session")
def sample_pdf() -> bytes:
    return make_pdf()


@pytest.fixture(scope="session")
def signed_pdf(pki, sample_pdf) -> bytes:
    return pki.sign(sample_pdf)


@pytest.fixture
def pdf_builders():
    """The PDF builders as a namespace, for tests that craft files."""

    class _B:
        make = staticmethod(make_pdf)
        append = staticmethod(append_update)

    return _B
