"""The tests' PKI builder: a root CA, RSA and ECDSA signers, a TSA, a revoked signer and an
impostor (``build_pki``), a CRL revoking more of them (``revoke``), and self-signed agency
keys (``self_signed``). Independent of docsvc.pki, the demo PKI the service itself creates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

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


def vn_name(cn: str, org: str = "UBND tỉnh Thử Nghiệm", title: str | None = None) -> x509.Name:
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


def issue(subject: x509.Name, key, issuer: Identity | None, *, ca: bool = False,
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
    root = issue(vn_name("Test Root CA"), rsa.generate_private_key(65537, 2048), None, ca=True,
                  not_before=NOW - timedelta(days=3650), not_after=NOW + timedelta(days=3650))
    person = issue(vn_name("Nguyễn Văn An", title="Chủ tịch"),
                    rsa.generate_private_key(65537, 2048), root)
    agency = issue(vn_name("UBND tỉnh Thử Nghiệm"), ec.generate_private_key(ec.SECP256R1()), root)
    tsa = issue(vn_name("Test TSA"), rsa.generate_private_key(65537, 2048), root, tsa=True)
    revoked = issue(vn_name("Trần Thị Bị Thu Hồi"), rsa.generate_private_key(65537, 2048), root)
    impostor_root = issue(vn_name("Test Root CA"), rsa.generate_private_key(65537, 2048), None,
                           ca=True)
    impostor = issue(vn_name("Nguyễn Văn An", title="Chủ tịch"),
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


def self_signed(key, common_name: str, *, days: int = 30,
                organisation: str | None = None) -> x509.Certificate:
    """Return a self-signed certificate (VN, ``common_name``) for ``key``, valid from two days
    ago for ``days`` days from now (negative: already expired)."""
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    subject = x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=2)).not_valid_after(now + timedelta(days=days))
            .sign(key, hashes.SHA256()))


def make_identity(key, common_name: str, *, days: int = 30) -> Identity:
    """Return a self-signed identity of the province (XML signatures of packages)."""
    return Identity(key, self_signed(key, common_name, days=days, organisation="UBND tỉnh Quảng Ngãi"))


def revoke(pki: TestPki, folder: Path, *who) -> Path:
    """Write into ``folder`` a CRL of the test root revoking ``who`` since an hour ago."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(pki.root.cert.subject)
               .last_update(NOW - timedelta(minutes=1)).next_update(NOW + timedelta(days=7))
               .add_extension(x509.CRLNumber(2), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   pki.root.key.public_key()), critical=False))
    for identity in who:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(identity.cert.serial_number)
            .revocation_date(NOW - timedelta(hours=1)).build())
    path = folder / "revoked.crl"
    path.write_bytes(builder.sign(pki.root.key, hashes.SHA256())
                     .public_bytes(serialization.Encoding.DER))
    return path
