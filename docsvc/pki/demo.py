"""Generate the demo PKI: root and issuing CAs, person and agency signers, a TSA, an OCSP
responder and CRLs, written as PEM certificates and passphrase-protected PKCS#12 files.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MANIFEST = "manifest.json"
DEFAULT_BASE_URL = "http://127.0.0.1:8790/"
AGENCY_NAME = "UBND tỉnh Quảng Ngãi"
AGENCY_ORGAN_ID = "000.00.00.H48"
PERSON_NAME = "Nguyễn Quốc Việt"
PERSON_TITLE = "Phó Chánh Văn phòng"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Credential:
    """One certificate with its key in a PKCS#12 file; the passphrase lives in a file beside it."""

    name: str
    cert_path: Path
    p12_path: Path
    passphrase_path: Path

    def certificate(self) -> x509.Certificate:
        """Load the certificate."""
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    def passphrase(self) -> bytes:
        """Read the PKCS#12 passphrase from its file."""
        return self.passphrase_path.read_bytes().strip()

    def private_key(self) -> PrivateKey:
        """Load the private key from the PKCS#12 file."""
        key, _cert, _extra = pkcs12.load_key_and_certificates(
            self.p12_path.read_bytes(), self.passphrase()
        )
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return key


@dataclass(frozen=True)
class DemoPki:
    """A generated demo PKI on disk; ``credentials`` are keyed by the names in ``ENTITIES``."""

    directory: Path
    base_url: str
    credentials: Mapping[str, Credential]
    revoked: Mapping[int, dt.datetime] = field(default_factory=dict)
    """Serial number → revocation time, for the CRL and OCSP responders."""

    def __getitem__(self, name: str) -> Credential:
        return self.credentials[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.credentials)

    @property
    def root_cert_path(self) -> Path:
        return self.credentials["root-ca"].cert_path

    @property
    def chain_path(self) -> Path:
        """PEM file with the issuing CA then the root CA."""
        return self.directory / "chain.pem"

    @property
    def tsa_url(self) -> str:
        return self.base_url + "tsa"

    @property
    def ocsp_url(self) -> str:
        return self.base_url + "ocsp"

    def crl_url(self, ca_name: str) -> str:
        """Return the distribution point of the CRL issued by ``ca_name``."""
        return f"{self.base_url}crl/{ca_name}.crl"

    def crl_path(self, ca_name: str) -> Path:
        """Return the file of the CRL issued by ``ca_name``."""
        return self.directory / f"{ca_name}.crl"


@dataclass(frozen=True)
class _Spec:
    name: str
    issuer: str | None
    subject: tuple[tuple[x509.ObjectIdentifier, str], ...]
    kind: str  # root, ca, signer, tsa, ocsp, encipher
    algorithm: str = "rsa"
    not_before: dt.timedelta = dt.timedelta(days=-30)
    not_after: dt.timedelta = dt.timedelta(days=730)
    revoked: bool = False


_VN = (NameOID.COUNTRY_NAME, "VN")
_PROVINCE = (NameOID.STATE_OR_PROVINCE_NAME, "Quảng Ngãi")
_ORG = (NameOID.ORGANIZATION_NAME, AGENCY_NAME)
_PERSON = (
    _VN,
    _PROVINCE,
    _ORG,
    (NameOID.ORGANIZATIONAL_UNIT_NAME, "Văn phòng"),
    (NameOID.TITLE, PERSON_TITLE),
    (NameOID.COMMON_NAME, PERSON_NAME),
)
# The agency's OrganId (QĐ 20/2020) goes in organizationIdentifier (X.520, 2.5.4.97).
_AGENCY = (
    _VN,
    _PROVINCE,
    _ORG,
    (NameOID.ORGANIZATION_IDENTIFIER, AGENCY_ORGAN_ID),
    (NameOID.COMMON_NAME, AGENCY_NAME),
)
_YEAR = dt.timedelta(days=365)

ENTITIES: tuple[_Spec, ...] = (
    _Spec("root-ca", None, (_VN, (NameOID.ORGANIZATION_NAME, "docsvc demo"),
                            (NameOID.COMMON_NAME, "docsvc Demo Root CA")),
          "root", not_before=-_YEAR, not_after=20 * _YEAR),
    _Spec("issuing-ca", "root-ca", (_VN, (NameOID.ORGANIZATION_NAME, "docsvc demo"),
                                    (NameOID.COMMON_NAME, "docsvc Demo Issuing CA")),
          "ca", not_before=-_YEAR, not_after=10 * _YEAR),
    _Spec("person-rsa", "issuing-ca", _PERSON, "signer"),
    _Spec("person-ecdsa", "issuing-ca", _PERSON, "signer", algorithm="ecdsa"),
    _Spec("agency-rsa", "issuing-ca", _AGENCY, "signer"),
    _Spec("agency-ecdsa", "issuing-ca", _AGENCY, "signer", algorithm="ecdsa"),
    _Spec("person-revoked", "issuing-ca", _PERSON, "signer", revoked=True),
    _Spec("person-expired", "issuing-ca", _PERSON, "signer",
          not_before=-2 * _YEAR, not_after=-_YEAR),
    _Spec("person-not-yet-valid", "issuing-ca", _PERSON, "signer",
          not_before=_YEAR, not_after=2 * _YEAR),
    _Spec("person-wrong-usage", "issuing-ca", _PERSON, "encipher"),
    _Spec("tsa", "issuing-ca", (_VN, (NameOID.ORGANIZATION_NAME, "docsvc demo"),
                                (NameOID.COMMON_NAME, "docsvc Demo TSA")), "tsa"),
    _Spec("ocsp", "issuing-ca", (_VN, (NameOID.ORGANIZATION_NAME, "docsvc demo"),
                                 (NameOID.COMMON_NAME, "docsvc Demo OCSP Responder")), "ocsp"),
)


def _new_key(algorithm: str) -> PrivateKey:
    if algorithm == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_usage(**flags: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _build(spec: _Spec, key: PrivateKey, issuer_cert: x509.Certificate | None,
           issuer_key: PrivateKey, now: dt.datetime, base_url: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(oid, value) for oid, value in spec.subject])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + spec.not_before)
        .not_valid_after(now + spec.not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    is_ca = spec.kind in ("root", "ca")
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=0 if spec.kind == "ca" else None), True
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    if is_ca:
        builder = builder.add_extension(_key_usage(key_cert_sign=True, crl_sign=True), True)
    elif spec.kind == "signer":
        builder = builder.add_extension(
            _key_usage(digital_signature=True, content_commitment=True), True
        )
    elif spec.kind == "encipher":
        builder = builder.add_extension(_key_usage(key_encipherment=True), True)
    elif spec.kind == "tsa":
        builder = builder.add_extension(_key_usage(digital_signature=True), True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True
        )
    elif spec.kind == "ocsp":
        builder = builder.add_extension(_key_usage(digital_signature=True), True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False
        )
        builder = builder.add_extension(x509.OCSPNoCheck(), False)
    if spec.issuer is not None and spec.kind != "ocsp":
        builder = builder.add_extension(
            x509.CRLDistributionPoints([
                x509.DistributionPoint(
                    [x509.UniformResourceIdentifier(f"{base_url}crl/{spec.issuer}.crl")],
                    None, None, None,
                )
            ]),
            False,
        )
        access = [
            x509.AccessDescription(
                x509.AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(f"{base_url}certs/{spec.issuer}.crt"),
            )
        ]
        if spec.kind != "ca":  # the OCSP responder answers for the issuing CA's certificates
            access.insert(0, x509.AccessDescription(
                x509.AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(f"{base_url}ocsp"),
            ))
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), False)
    return builder.sign(issuer_key, hashes.SHA256())


def build_crl(ca_cert: x509.Certificate, ca_key: PrivateKey,
              revoked: Mapping[int, dt.datetime], *, now: dt.datetime | None = None,
              number: int = 1) -> x509.CertificateRevocationList:
    """Build a CRL of ``ca_cert`` listing the ``revoked`` serials it issued, valid 7 days."""
    now = now or dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=7))
        .add_extension(x509.CRLNumber(number), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       False)
    )
    for serial, when in revoked.items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def _credential(directory: Path, name: str) -> Credential:
    return Credential(name, directory / f"{name}.pem", directory / f"{name}.p12",
                      directory / f"{name}.p12.pass")


def generate(out_dir: Path, *, now: dt.datetime | None = None,
             base_url: str = DEFAULT_BASE_URL) -> DemoPki:
    """Generate a fresh demo PKI into ``out_dir`` whose URLs point at ``base_url``."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    if not base_url.endswith("/"):
        base_url += "/"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    certs: dict[str, x509.Certificate] = {}
    keys: dict[str, PrivateKey] = {}
    revoked_by_issuer: dict[str, dict[int, dt.datetime]] = {"root-ca": {}, "issuing-ca": {}}
    for spec in ENTITIES:
        key = _new_key(spec.algorithm)
        issuer_cert = certs[spec.issuer] if spec.issuer else None
        issuer_key = keys[spec.issuer] if spec.issuer else key
        cert = _build(spec, key, issuer_cert, issuer_key, now, base_url)
        certs[spec.name], keys[spec.name] = cert, key
        if spec.revoked and spec.issuer:
            revoked_by_issuer[spec.issuer][cert.serial_number] = now - dt.timedelta(days=1)
    chain = [certs["issuing-ca"], certs["root-ca"]]
    for spec in ENTITIES:
        cred = _credential(out_dir, spec.name)
        cert = certs[spec.name]
        cred.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        passphrase = secrets.token_urlsafe(18).encode()
        cred.passphrase_path.touch(mode=0o600)
        cred.passphrase_path.write_bytes(passphrase + b"\n")
        extra = [c for c in chain if c is not cert]
        cred.p12_path.write_bytes(pkcs12.serialize_key_and_certificates(
            spec.name.encode(), keys[spec.name], cert, extra or None,
            serialization.BestAvailableEncryption(passphrase),
        ))
    (out_dir / "chain.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    )
    for ca in ("root-ca", "issuing-ca"):
        crl = build_crl(certs[ca], keys[ca], revoked_by_issuer[ca], now=now)
        (out_dir / f"{ca}.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    revoked = {s: t for per_ca in revoked_by_issuer.values() for s, t in per_ca.items()}
    (out_dir / MANIFEST).write_text(json.dumps({
        "base_url": base_url,
        "entities": [s.name for s in ENTITIES],
        "revoked": {str(s): t.isoformat() for s, t in revoked.items()},
    }, indent=2))
    return load(out_dir)


def load(directory: Path) -> DemoPki:
    """Open a demo PKI written by :func:`generate`."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    return DemoPki(
        directory=directory,
        base_url=manifest["base_url"],
        credentials={n: _credential(directory, n) for n in manifest["entities"]},
        revoked={int(s): dt.datetime.fromisoformat(t) for s, t in manifest["revoked"].items()},
    )
