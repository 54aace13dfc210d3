"""The verification report: frozen values in the terms of ETSI EN 319 102-1.

A report is an outcome, never an error: invalid and unreadable files are reports too.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Indication(StrEnum):
    """Main status indication (ETSI EN 319 102-1 §5.1.3)."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class Severity(StrEnum):
    """How much a note matters to the verdict."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC (Vietnamese texts are compared and rendered in NFC)."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Note:
    """A finding shown to people, in Vietnamese and English, with a stable ``code``."""

    code: str
    severity: Severity
    text_vi: str
    text_en: str

    def text(self, lang: str = "vi") -> str:
        """Return the text in ``lang``."""
        return self.text_en if lang == "en" else self.text_vi

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "text_vi": nfc(self.text_vi),
            "text_en": self.text_en,
        }


@dataclass(frozen=True)
class Evidence:
    """A piece of validation material used for the verdict (kept with the result)."""

    kind: str
    """``certificate``, ``crl``, ``ocsp`` or ``timestamp``."""
    origin: str
    """Where it came from: ``cms``, ``dss``, ``trust-store``, ``fetched``."""
    description: str
    der: bytes

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (DER as base64)."""
        return {
            "kind": self.kind,
            "origin": self.origin,
            "description": self.description,
            "der_base64": base64.b64encode(self.der).decode("ascii"),
        }


@dataclass(frozen=True)
class CertificateInfo:
    """What a verifier must show about a certificate (subject, issuer, serial, validity)."""

    subject: str
    common_name: str | None
    organisation: str | None
    title: str | None
    issuer: str
    issuer_common_name: str | None
    serial_hex: str
    not_before: datetime
    not_after: datetime
    key_type: str
    key_bits: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "subject": self.subject,
            "name": self.common_name,
            "organisation": self.organisation,
            "title": self.title,
            "issuer": self.issuer,
            "issuer_name": self.issuer_common_name,
            "serial": self.serial_hex,
            "not_before": _iso(self.not_before),
            "not_after": _iso(self.not_after),
            "key_type": self.key_type,
            "key_bits": self.key_bits,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class RevocationInfo:
    """Revocation status of the signer's certificate and where it was learned."""

    status: str
    """``good``, ``revoked`` or ``unknown``."""
    source: str | None = None
    """``OCSP`` or ``CRL``."""
    origin: str | None = None
    """``embedded`` (CMS or DSS), ``trust-store`` or ``fetched``."""
    issued_at: datetime | None = None
    """OCSP producedAt / thisUpdate, or CRL thisUpdate."""
    next_update: datetime | None = None
    revocation_time: datetime | None = None
    fresh: bool | None = None
    """Whether the data was issued after the signing time (or the time of validation)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "status": self.status,
            "source": self.source,
            "origin": self.origin,
            "issued_at": _iso(self.issued_at),
            "next_update": _iso(self.next_update),
            "revocation_time": _iso(self.revocation_time),
            "fresh": self.fresh,
        }


@dataclass(frozen=True)
class SignatureReport:
    """The validation result of one signature (or document timestamp) in the PDF."""

    index: int
    field_name: str
    kind: str
    """``signature`` or ``document_timestamp``."""
    indication: Indication
    sub_indication: str | None
    signer: CertificateInfo | None = None
    chain: tuple[CertificateInfo, ...] = ()
    trust_anchor: str | None = None
    trust_set: str | None = None
    signing_time: datetime | None = None
    """Claimed signing time (signed attribute or /M); not proof."""
    timestamp_time: datetime | None = None
    timestamp_authority: str | None = None
    timestamp_valid: bool | None = None
    validation_time: datetime | None = None
    """The time at which the certificate chain was judged (timestamp time for B-T and up)."""
    intact: bool | None = None
    """The document hash matches the signed hash."""
    crypto_valid: bool | None = None
    """The signature value matches the signer's key."""
    coverage: str | None = None
    revision: int | None = None
    """0-based revision the signature belongs to."""
    revisions_total: int | None = None
    signed_length: int | None = None
    modification_level: str | None = None
    changed_fields: tuple[str, ...] = ()
    docmdp_level: int | None = None
    docmdp_ok: bool | None = None
    level: str | None = None
    """PAdES baseline level reached: B-B, B-T, B-LT, B-LTA (None if not PAdES baseline)."""
    sub_filter: str | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    reason: str | None = None
    location: str | None = None
    revocation: RevocationInfo | None = None
    notes: tuple[Note, ...] = ()
    evidence: tuple[Evidence, ...] = field(default=(), repr=False)

    @property
    def passed(self) -> bool:
        """Return whether the indication is TOTAL_PASSED."""
        return self.indication is Indication.TOTAL_PASSED

    def to_dict(self, *, with_evidence: bool = True) -> dict[str, Any]:
        """Return the JSON form (key names are part of the API)."""
        out: dict[str, Any] = {
            "index": self.index,
            "field_name": self.field_name,
            "kind": self.kind,
            "indication": str(self.indication),
            "sub_indication": self.sub_indication,
            "signer": self.signer.to_dict() if self.signer else None,
            "chain": [c.to_dict() for c in self.chain],
            "trust_anchor": self.trust_anchor,
            "trust_set": self.trust_set,
            "signing_time": _iso(self.signing_time),
            "timestamp_time": _iso(self.timestamp_time),
            "timestamp_authority": self.timestamp_authority,
            "timestamp_valid": self.timestamp_valid,
            "validation_time": _iso(self.validation_time),
            "intact": self.intact,
            "crypto_valid": self.crypto_valid,
            "coverage": self.coverage,
            "revision": self.revision,
            "revisions_total": self.revisions_total,
            "signed_length": self.signed_length,
            "modification_level": self.modification_level,
            "changed_fields": list(self.changed_fields),
            "docmdp_level": self.docmdp_level,
            "docmdp_ok": self.docmdp_ok,
            "level": self.level,
            "sub_filter": self.sub_filter,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "reason": self.reason,
            "location": self.location,
            "revocation": self.revocation.to_dict() if self.revocation else None,
            "notes": [n.to_dict() for n in self.notes],
        }
        if with_evidence:
            out["evidence"] = [e.to_dict() for e in self.evidence]
        return out


@dataclass(frozen=True)
class DocumentReport:
    """The verdict on a whole PDF: one report per signature plus document-level findings."""

    verdict: Indication
    signatures: tuple[SignatureReport, ...]
    sub_indication: str | None
    """Set when the file itself fails (FORMAT_FAILURE: unreadable, bytes after %%EOF)."""
    sha256: str
    size: int
    validated_at: datetime
    revisions_total: int | None = None
    notes: tuple[Note, ...] = ()
    etsi_xml: str | None = field(default=None, repr=False, compare=False)
    """The ETSI TS 119 102-2 XML report, when it was asked for (``validate_pdf(etsi_xml=)``)."""

    @property
    def exit_code(self) -> int:
        """Return the CLI exit code: 0 all passed, 1 failed, 2 indeterminate."""
        return {Indication.TOTAL_PASSED: 0, Indication.TOTAL_FAILED: 1}.get(self.verdict, 2)

    def to_dict(self, *, with_evidence: bool = True) -> dict[str, Any]:
        """Return the JSON form (``verdict`` and ``signatures`` are the API)."""
        return {
            "verdict": str(self.verdict),
            "sub_indication": self.sub_indication,
            "signatures": [s.to_dict(with_evidence=with_evidence) for s in self.signatures],
            "sha256": self.sha256,
            "size": self.size,
            "validated_at": _iso(self.validated_at),
            "revisions_total": self.revisions_total,
            "notes": [n.to_dict() for n in self.notes],
        }


def overall_verdict(
    signatures: tuple[SignatureReport, ...], document_failure: Indication | None = None
) -> Indication:
    """Combine per-signature indications and a document-level failure into one verdict."""
    if document_failure is not None:
        return document_failure
    if not signatures:
        return Indication.INDETERMINATE
    indications = {s.indication for s in signatures}
    if Indication.TOTAL_FAILED in indications:
        return Indication.TOTAL_FAILED
    if Indication.INDETERMINATE in indications:
        return Indication.INDETERMINATE
    return Indication.TOTAL_PASSED


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
