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
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

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


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def make_receipt(cfg: ExchangeConfig, body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` with a signature by the agency key over its canonical JSON (if configured)."""
    key = cfg.agency_key
    if key is None:
        return {**body, "signature": None,
                "signature_note": "no agency key configured: this receipt is not signed"}
    data = _canonical(body)
    if isinstance(key.key, rsa.RSAPrivateKey):
        value, algorithm = key.key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "RS256"
    else:
        value, algorithm = key.key.sign(data, ec.ECDSA(hashes.SHA256())), "ES256"
    return {**body, "signature": {
        "algorithm": algorithm, "value": base64.b64encode(value).decode(),
        "certificate": base64.b64encode(key.chain[0].public_bytes(Encoding.DER)).decode(),
        "certificate_sha256": key.certificate_sha256,
        "covers": "canonical JSON (sorted keys, no spaces, UTF-8) of the receipt without "
                  "signature and signature_note",
    }}


def verify_receipt(receipt: dict[str, Any], certificate: x509.Certificate) -> bool:
    """Tell whether a signed receipt is intact and signed by ``certificate``'s key."""
    signature = receipt.get("signature")
    if not signature:
        return False
    body = {k: v for k, v in receipt.items() if k not in ("signature", "signature_note")}
    raw = base64.b64decode(signature["value"])
    public = certificate.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, _canonical(body), padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw, _canonical(body), ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except Exception:  # noqa: BLE001 - cryptography raises InvalidSignature; any failure = False
        return False
    return True
