"""What the exchange use cases are configured with: ``ExchangeConfig`` (built from the settings),
the agency key that signs outgoing packages and receipts, and those receipts (signed JSON)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from docsvc import exchange as edxml
from docsvc.errors import ConfigError
from docsvc.exchange import ParseLimits

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class AgencyKey:
    """The agency's XML signing key with its certificate chain (leaf first)."""

    key: PrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...]

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.chain[0].public_bytes(Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class ExchangeConfig:
    """What the exchange use cases need besides the session and the blob store."""

    local_organ_id: str
    """This instance's own agency (always hosted)."""
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    schemas: edxml.EdxmlSchemas | None = None
    """Our XSDs (None: the package data ``docsvc.schemas``)."""
    limits: ParseLimits = field(default_factory=ParseLimits)
    organ_id_allow: frozenset[str] = frozenset()
    lease: dt.timedelta = dt.timedelta(minutes=5)
    agency_key: AgencyKey | None = None
    """Signs outgoing packages and receipts; None: unsigned, and receipts say so."""
    spool_dir: Path | None = None
    """Where received attachments are decoded while a submission is handled (default: tmp)."""
    verifier: Any = None
    """Validates the PDF signatures of received documents (a ``verification.Verifier`` or a
    callable returning one); None: received documents are not verified."""
    verify_max_bytes: int = 50 * 1024 * 1024
    """Larger received PDFs are not verified on receipt (an INDETERMINATE result says so)."""


# -- configuration from settings ----------------------------------------------------------------


def load_agency_key(settings: Any) -> AgencyKey | None:
    """Return the key that signs this instance's packages and receipts.

    ``DOCSVC_AGENCY_KEY_FILE`` (the agency's own PKCS#12) when set; otherwise, outside
    production, the demo PKI's agency key; otherwise None (production then refuses to start
    unless ``DOCSVC_ALLOW_UNSIGNED_PACKAGES`` says so). Raises ``ConfigError`` when the file
    cannot be opened or holds no usable key.
    """
    if settings.agency_key_file is None:
        return load_demo_agency_key(settings)
    from cryptography.hazmat.primitives.serialization import pkcs12

    path = Path(settings.agency_key_file)
    passphrase = settings.agency_key_passphrase.encode() or None
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"Không mở được khóa của cơ quan {path} (sai mật khẩu hoặc tệp hỏng).",
            f"Cannot open the agency key {path} (wrong passphrase or damaged file).",
            details={"setting": "DOCSVC_AGENCY_KEY_FILE", "reason": type(exc).__name__},
        ) from None
    strong = (isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048) or (
        isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 256)
    if certificate is None or not strong:
        raise ConfigError(
            "Khóa của cơ quan phải là RSA ≥ 2048 bit hoặc ECDSA ≥ 256 bit, kèm chứng thư số.",
            "The agency key must be RSA >= 2048 or ECDSA >= 256 bits, with its certificate.",
            details={"setting": "DOCSVC_AGENCY_KEY_FILE"},
        )
    return AgencyKey(key, (certificate, *extra))  # type: ignore[arg-type]


def load_demo_agency_key(settings: Any) -> AgencyKey | None:
    """Return the demo PKI's agency key (``docsvc pki demo``) outside production, when it exists
    and names this instance's agency; else None (packages and receipts then go unsigned)."""
    from docsvc.pki import demo

    manifest = settings.pki_dir / demo.MANIFEST
    if settings.env == "production" or settings.organ_id != demo.AGENCY_ORGAN_ID or not manifest.exists():
        return None
    pki = demo.load(settings.pki_dir)
    credential = pki["agency-rsa"]
    chain = x509.load_pem_x509_certificates(pki.chain_path.read_bytes())
    return AgencyKey(credential.private_key(), (credential.certificate(), *chain))


def config_from_settings(settings: Any, *, agency_key: AgencyKey | None = None,
                         verifier: Any = None) -> ExchangeConfig:
    """Return the exchange configuration of an instance (``verifier``: see ExchangeConfig)."""
    return ExchangeConfig(
        verifier=verifier,
        local_organ_id=settings.organ_id, zone=settings.zone,
        organ_id_allow=settings.organ_id_allow,
        lease=dt.timedelta(seconds=settings.exchange_lease_seconds), agency_key=agency_key,
        limits=ParseLimits(max_bytes=min(settings.max_upload_bytes, ParseLimits().max_bytes)),
    )


# -- receipts -----------------------------------------------------------------------------------
# A receipt is JSON: the body (what was received) and a "signature" object whose "jws" is a JWS
# compact serialization (RFC 7515) by the agency key. Its payload is the canonical JSON of the
# body and its protected header names the certificate (x5t#S256) sent beside it, so any JOSE
# library checks it: verify the JWS with the certificate's key, then compare payload and body.
# Receipts stored before 2026-12 carry "value" instead (a raw signature over the canonical JSON,
# ECDSA values DER-encoded); verify_receipt still checks those.

RECEIPT_JWS_TYPE = "docsvc-receipt+jws"
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _algorithm(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | Any) -> str | None:
    """Return the JWS algorithm for a public key (RS256; ES256/384/512 by curve), None if none."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _EC_ALGORITHMS.get(key.curve.name)
    return None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_receipt(cfg: ExchangeConfig, body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` with a JWS by the agency key over its canonical JSON (if configured)."""
    key = cfg.agency_key
    if key is None:
        return {**body, "signature": None,
                "signature_note": "no agency key configured: this receipt is not signed"}
    algorithm = _algorithm(key.key.public_key())
    if algorithm is None:
        raise ValueError(f"the agency key cannot sign a JWS: {key.key.public_key()!r}")
    certificate = key.chain[0].public_bytes(Encoding.DER)
    # The certificate itself goes beside the JWS ("certificate"), not in an x5c header: JOSE
    # libraries cap the protected header (joserfc at 512 bytes) and a chain does not fit.
    header = {"alg": algorithm, "typ": RECEIPT_JWS_TYPE,
              "x5t#S256": _b64url(hashlib.sha256(certificate).digest())}
    jwk: RSAKey | ECKey = (RSAKey.import_key(key.key) if isinstance(key.key, rsa.RSAPrivateKey)
                           else ECKey.import_key(key.key))
    token = jws.serialize_compact(header, _canonical(body), jwk, algorithms=[algorithm])
    return {**body, "signature": {
        "algorithm": algorithm, "jws": token,
        "certificate": base64.b64encode(certificate).decode(),
        "certificate_sha256": key.certificate_sha256,
        "covers": "JWS compact serialization (RFC 7515); its payload is the canonical JSON "
                  "(sorted keys, no spaces, UTF-8) of the receipt without signature and "
                  "signature_note",
    }}


def verify_receipt(receipt: dict[str, Any], certificate: x509.Certificate) -> bool:
    """Tell whether a signed receipt is intact and signed by ``certificate``'s key."""
    signature = receipt.get("signature")
    if not isinstance(signature, dict):
        return False
    body = _canonical({k: v for k, v in receipt.items() if k not in ("signature", "signature_note")})
    public = certificate.public_key()
    algorithm = _algorithm(public)
    if algorithm is None:
        return False
    if "jws" in signature:
        return _verify_jws(signature["jws"], public, algorithm, body)
    return _verify_legacy(signature, public, body)


def _verify_jws(token: Any, public: Any, algorithm: str, body: bytes) -> bool:
    jwk = (RSAKey if isinstance(public, rsa.RSAPublicKey) else ECKey).import_key(public)
    try:
        checked = jws.deserialize_compact(token, jwk, algorithms=[algorithm])
    except (JoseError, ValueError, TypeError):
        return False
    return checked.headers().get("alg") == algorithm and checked.payload == body


def _verify_legacy(signature: dict[str, Any], public: Any, body: bytes) -> bool:
    """Check a receipt of the first format: "value" = base64 of a PKCS#1 v1.5 or DER ECDSA
    signature (SHA-256) over the canonical JSON."""
    try:
        raw = base64.b64decode(signature["value"], validate=True)
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
        else:
            public.verify(raw, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True
