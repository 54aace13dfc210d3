"""Validation material (certificates, CRLs, OCSP responses) gathered from the trust folders,
the CMS and the DSS; what is known about the signer's certificate and revocation status.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from asn1crypto import cms, crl, ocsp, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import ocsp as cocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.path import ValidationPath

from docsvc.verify.notes import note
from docsvc.verify.report import CertificateInfo, Evidence, Note, RevocationInfo, Severity
from docsvc.verify.trust import TrustStore

T = TypeVar("T")

_ORIGIN_TEXT = {"cms": "embedded", "dss": "embedded", "trust-store": "trust-store"}


@dataclass(frozen=True)
class Knowledge:
    """Certificates and revocation data available offline, each with its origin."""

    trust: TrustStore
    certs: tuple[tuple[x509.Certificate, str], ...] = ()
    crls: tuple[tuple[crl.CertificateList, str], ...] = ()
    ocsps: tuple[tuple[ocsp.OCSPResponse, str], ...] = ()
    dss_revinfo: bool = False

    @classmethod
    def from_trust(cls, trust: TrustStore) -> Knowledge:
        """Start from what the trust folders hold."""
        return cls(trust, tuple((c, "trust-store") for c in trust.intermediates),
                   tuple((c, "trust-store") for c in trust.crls))

    def with_cms(self, signed_data: cms.SignedData) -> Knowledge:
        """Add the certificates and archived revocation data carried in a CMS signature."""
        certs = list(self.certs)
        crls = list(self.crls)
        ocsps = list(self.ocsps)
        for choice in signed_data["certificates"] or ():
            if choice.name == "certificate":
                certs.append((choice.chosen, "cms"))
        for signer_info in signed_data["signer_infos"]:
            attrs = signer_info["signed_attrs"]
            if not attrs:  # absent (Void) or empty; .native would decode every value
                continue
            for attr in attrs:
                if attr["type"].native != "adobe_revocation_info_archival":
                    continue
                archival = attr["values"][0]
                for item in archival["crl"] or ():
                    crls.append((item, "cms"))
                for item in archival["ocsp"] or ():
                    ocsps.append((item, "cms"))
        return Knowledge(self.trust, tuple(certs), tuple(crls), tuple(ocsps), self.dss_revinfo)

    def with_fetched(self, contexts: list[ValidationContext]) -> Knowledge:
        """Add the CRLs and OCSP responses ``contexts`` fetched online (origin ``fetched``)."""
        crls, ocsps = list(self.crls), list(self.ocsps)
        seen = {c.dump() for c, _ in crls} | {o.dump() for o, _ in ocsps}
        for context in contexts:
            for item in context.crls:
                if item.dump() not in seen:
                    seen.add(item.dump())
                    crls.append((item, "fetched"))
            for item in context.ocsps:
                if item.dump() not in seen:
                    seen.add(item.dump())
                    ocsps.append((item, "fetched"))
        if len(crls) == len(self.crls) and len(ocsps) == len(self.ocsps):
            return self
        return Knowledge(self.trust, self.certs, tuple(crls), tuple(ocsps), self.dss_revinfo)

    def context(self, *, moment: datetime, allow_fetching: bool, retroactive: bool,
                timeout: float | None = None) -> ValidationContext:
        """Build a pyHanko ValidationContext at ``moment`` from this knowledge.

        ``timeout`` bounds each online fetch (seconds) when ``allow_fetching`` is on.
        """
        backend = None
        if allow_fetching and timeout is not None:
            backend = RequestsFetcherBackend(per_request_timeout=timeout)
        return ValidationContext(
            trust_roots=list(self.trust.anchors),
            other_certs=[c for c, _ in self.certs],
            crls=[c for c, _ in self.crls],
            ocsps=[o for o, _ in self.ocsps],
            moment=moment,
            allow_fetching=allow_fetching,
            fetcher_backend=backend,
            revocation_mode="soft-fail",
            retroactive_revinfo=retroactive,
        )

    def revocation_for(self, cert: x509.Certificate, path: object,
                       at: datetime) -> RevocationInfo:
        """Find what the offline revocation data says about ``cert`` (OCSP first, then CRL)."""
        issuers = [c for c, _ in self.certs if c.subject == cert.issuer]
        issuers += [c for c in self.trust.anchors if c.subject == cert.issuer]
        for resp, origin in self.ocsps:
            found = _ocsp_status(resp, cert, issuers)
            if found is not None:
                status, produced, this_update, next_update, rev_time = found
                return RevocationInfo(status, "OCSP", _ORIGIN_TEXT.get(origin, origin),
                                      produced or this_update, next_update, rev_time,
                                      fresh=(produced or this_update) >= at if at else None)
        for lst, origin in self.crls:
            if lst["tbs_cert_list"]["issuer"] != cert.issuer or not _crl_signed_by(lst, issuers):
                continue
            tbs = lst["tbs_cert_list"]
            this_update = tbs["this_update"].native
            next_update = tbs["next_update"].native if tbs["next_update"] else None
            status, rev_time = "good", None
            for entry in tbs["revoked_certificates"] or ():
                if entry["user_certificate"].native == cert.serial_number:
                    status, rev_time = "revoked", entry["revocation_date"].native
            return RevocationInfo(status, "CRL", _ORIGIN_TEXT.get(origin, origin), this_update,
                                  next_update, rev_time,
                                  fresh=this_update >= at if at else None)
        if _is_self_issued(cert):
            return RevocationInfo("not_applicable")
        return RevocationInfo("unknown")


def collect_document_knowledge(reader: PdfFileReader, trust: TrustStore) -> Knowledge:
    """Read the trust folders and the document's DSS."""
    base = Knowledge.from_trust(trust)
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return base
    certs = list(base.certs) + [(c, "dss") for c in dss.load_certs()]
    crls = list(base.crls)
    ocsps = list(base.ocsps)
    for ref in dss.crls:
        crls.append((crl.CertificateList.load(ref.get_object().data), "dss"))
    for ref in dss.ocsps:
        ocsps.append((ocsp.OCSPResponse.load(ref.get_object().data), "dss"))
    return Knowledge(trust, tuple(certs), tuple(crls), tuple(ocsps),
                     dss_revinfo=bool(dss.crls or dss.ocsps))


def _is_self_issued(cert: x509.Certificate) -> bool:
    return cert.self_issued


def _quiet(func: Callable[..., T]) -> Callable[..., T]:
    """Ignore cryptography's deprecation warnings on odd certificates (they are input data)."""

    def wrapper(*args: Any) -> T:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return func(*args)

    return wrapper


@_quiet
def _crl_signed_by(lst: crl.CertificateList, issuers: list[x509.Certificate]) -> bool:
    try:
        parsed = cx509.load_der_x509_crl(lst.dump())
    except ValueError:
        return False
    for issuer in issuers:
        try:
            # a key type that cannot sign a CRL makes is_signature_valid raise TypeError
            key = cast(CertificateIssuerPublicKeyTypes,
                       cx509.load_der_x509_certificate(issuer.dump()).public_key())
            if parsed.is_signature_valid(key):
                return True
        except (ValueError, TypeError):
            continue
    return False


@_quiet
def _ocsp_signed_by(resp: ocsp.OCSPResponse, issuers: list[x509.Certificate]) -> bool:
    try:
        parsed = cocsp.load_der_ocsp_response(resp.dump())
        tbs, signature, algo = (parsed.tbs_response_bytes, parsed.signature,
                                parsed.signature_hash_algorithm)
        candidates = [cx509.load_der_x509_certificate(i.dump()) for i in issuers]
        issuer_certs = list(candidates)
        for responder in parsed.certificates:  # delegated responder issued by the CA
            for issuer in issuer_certs:
                try:
                    responder.verify_directly_issued_by(issuer)
                    candidates.append(responder)
                except (ValueError, TypeError, InvalidSignature):
                    continue
    except (ValueError, TypeError):
        return False
    if algo is None:  # an Ed25519/Ed448 responder: not accepted here
        return False
    for cand in candidates:
        key = cand.public_key()
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, tbs, padding.PKCS1v15(), algo)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, tbs, ec.ECDSA(algo))
            else:
                continue
            return True
        except (InvalidSignature, ValueError, TypeError):
            continue
    return False


def _ocsp_status(resp: ocsp.OCSPResponse, cert: x509.Certificate, issuers: list[x509.Certificate]
                 ) -> tuple[str, datetime, datetime, datetime | None, datetime | None] | None:
    try:
        basic = resp["response_bytes"]["response"].parsed
    except (KeyError, ValueError, TypeError):
        return None
    if not _ocsp_signed_by(resp, issuers):
        return None
    tbs = basic["tbs_response_data"]
    for single in tbs["responses"]:
        cert_id = single["cert_id"]
        if cert_id["serial_number"].native != cert.serial_number:
            continue
        algo = cert_id["hash_algorithm"]["algorithm"].native
        if hashlib.new(algo, cert.issuer.dump()).digest() != cert_id["issuer_name_hash"].native:
            continue
        status = single["cert_status"]
        rev_time = status.chosen["revocation_time"].native if status.name == "revoked" else None
        next_update = single["next_update"].native if single["next_update"] else None
        return (status.name, tbs["produced_at"].native, single["this_update"].native,
                next_update, rev_time)
    return None


def cert_info(cert: x509.Certificate) -> CertificateInfo:
    """Describe a certificate for people (name, organisation, title, issuer, validity)."""
    subject = cert.subject.native
    issuer = cert.issuer.native
    pub = cert.public_key
    try:
        bits = pub.bit_size
    except (ValueError, NotImplementedError):
        bits = 0
    return CertificateInfo(
        subject=cert.subject.human_friendly,
        common_name=_first(subject.get("common_name")),
        organisation=_first(subject.get("organization_name")),
        title=_first(subject.get("title")),
        issuer=cert.issuer.human_friendly,
        issuer_common_name=_first(issuer.get("common_name")),
        serial_hex=format(cert.serial_number, "X"),
        not_before=cert["tbs_certificate"]["validity"]["not_before"].native,
        not_after=cert["tbs_certificate"]["validity"]["not_after"].native,
        key_type=pub.algorithm,
        key_bits=bits,
        sha256=cert.sha256.hex(),
    )


def _first(value: object) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value is not None else None


def chain_infos(path: ValidationPath | None) -> tuple[CertificateInfo, ...]:
    """Describe the validation path from the signer up to the anchor."""
    if path is None:
        return ()
    certs = [c for c in path.iter_certs(include_root=True) if isinstance(c, x509.Certificate)]
    return tuple(cert_info(c) for c in reversed(certs))


def anchor_name(path: ValidationPath | None) -> str | None:
    """Return the trust anchor's subject, or None when no trusted path was found."""
    if path is None:
        return None
    root = path.first
    return root.subject.human_friendly if isinstance(root, x509.Certificate) else None


def anchor_set(path: ValidationPath | None, trust: TrustStore) -> str | None:
    """Return the name of the trust set the anchor belongs to."""
    if path is None or not isinstance(path.first, x509.Certificate):
        return None
    return trust.set_of(path.first)


def pades_level(emb: EmbeddedPdfSignature, knowledge: Knowledge, has_sig_ts: bool,
                has_later_doc_ts: bool) -> tuple[str | None, list[Note]]:
    """Return the PAdES baseline level reached (or None) with notes on why not."""
    subfilter = emb.sig_object.get("/SubFilter")
    if subfilter != "/ETSI.CAdES.detached":
        return None, [note("NOT_PADES_BASELINE", Severity.INFO,
                           f"Chữ ký dạng {subfilter} (PKCS#7 tách rời, ISO 32000-1): không phải "
                           "PAdES baseline (ETSI EN 319 142-1).",
                           f"{subfilter} signature (detached PKCS#7, ISO 32000-1): not PAdES "
                           "baseline (ETSI EN 319 142-1).")]
    attrs = emb.signer_info["signed_attrs"]
    names = {a["type"].native for a in attrs} if attrs else set()
    if not names & {"signing_certificate_v2", "signing_certificate"}:
        return None, [note("NOT_PADES_BASELINE", Severity.INFO,
                           "Thiếu thuộc tính signing-certificate(-v2): không phải PAdES baseline.",
                           "No signing-certificate(-v2) attribute: not PAdES baseline.")]
    notes: list[Note] = []
    if "signing_time" in names:
        notes.append(note("SIGNING_TIME_ATTRIBUTE", Severity.INFO,
                          "Có thuộc tính signing-time trong CMS (PAdES baseline dùng /M).",
                          "The CMS carries a signing-time attribute (PAdES baseline uses /M)."))
    level = "B-B"
    if has_sig_ts or has_later_doc_ts:
        level = "B-T"
        if knowledge.dss_revinfo:
            level = "B-LT"
            if has_later_doc_ts:
                level = "B-LTA"
    return level, notes


def algorithm_notes(md: str | None, mechanism: str | None, cert: x509.Certificate) -> list[Note]:
    """Warn about SHA-1 and short keys (Thông tư 15/2025: RSA ≥ 2048, ECDSA ≥ 256)."""
    notes = []
    if "sha1" in (md or "").lower() or "sha1" in (mechanism or "").lower():
        notes.append(note("WEAK_DIGEST_SHA1", Severity.WARNING,
                          "Chữ ký dùng SHA-1: không còn được chấp nhận cho chữ ký mới.",
                          "The signature uses SHA-1: no longer acceptable for new signatures."))
    pub = cert.public_key
    try:
        bits = pub.bit_size
    except (ValueError, NotImplementedError):
        bits = 0
    minimum = {"rsa": 2048, "ec": 256}.get(pub.algorithm)
    if minimum and bits < minimum:
        notes.append(note("WEAK_KEY", Severity.WARNING,
                          f"Khóa {pub.algorithm.upper()} {bits} bit ngắn hơn mức tối thiểu "
                          f"{minimum} bit.",
                          f"{pub.algorithm.upper()} key of {bits} bits is below the "
                          f"{minimum}-bit minimum."))
    return notes


def revocation_notes(info: RevocationInfo) -> list[Note]:
    """Say when the revocation status is unknown or stale (a warning, per Thông tư 15/2025)."""
    if info.status == "unknown":
        return [note("REVOCATION_UNKNOWN", Severity.WARNING,
                     "Không xác định được tình trạng thu hồi của chứng thư người ký (không có "
                     "OCSP/CRL kèm theo hoặc trong kho tin cậy).",
                     "The revocation status of the signer's certificate could not be "
                     "determined (no embedded or stored OCSP/CRL).")]
    if info.status == "revoked":
        return [note("CERT_REVOKED", Severity.ERROR,
                     f"Chứng thư người ký đã bị thu hồi (theo {info.source}).",
                     f"The signer's certificate is revoked (per {info.source}).")]
    if info.fresh is False:
        return [note("REVOCATION_NOT_FRESH", Severity.INFO,
                     f"Dữ liệu {info.source} được phát hành trước thời điểm ký.",
                     f"The {info.source} data was issued before the signing time.")]
    return []


_TRUST_TEXTS = {
    "NO_CERTIFICATE_CHAIN_FOUND": (
        "Không xây dựng được chuỗi chứng thư đến một chứng thư gốc tin cậy: người ký không "
        "được tin cậy.",
        "No certificate chain to a trusted root: the signer is not trusted."),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": (
        "Không xây dựng được chuỗi chứng thư hợp lệ đến chứng thư gốc tin cậy (chữ ký trên "
        "chứng thư không kiểm tra được): người ký không được tin cậy.",
        "No valid chain to a trusted root (a certificate signature does not verify): the "
        "signer is not trusted."),
    "REVOKED": ("Chứng thư đã bị thu hồi.", "The certificate is revoked."),
    "REVOKED_NO_POE": ("Chứng thư đã bị thu hồi và không có bằng chứng chữ ký có trước thời "
                       "điểm thu hồi.",
                       "The certificate is revoked and nothing proves the signature existed "
                       "before the revocation."),
    "EXPIRED": ("Chứng thư đã hết hạn tại thời điểm kiểm tra.",
                "The certificate had expired at the validation time."),
    "NOT_YET_VALID": ("Chứng thư chưa có hiệu lực tại thời điểm ký.",
                      "The certificate was not yet valid at the signing time."),
    "TRY_LATER": ("Chưa có thông tin thu hồi đủ mới; hãy kiểm tra lại sau.",
                  "Revocation information is not yet fresh enough; try later."),
    "CHAIN_CONSTRAINTS_FAILURE": ("Chuỗi chứng thư vi phạm ràng buộc (mục đích sử dụng khóa, "
                                  "chính sách).",
                                  "The chain violates constraints (key usage, policy)."),
}


def trust_problem_note(name: str) -> Note:
    """Explain an AdES sub-indication from certificate validation."""
    vi, en = _TRUST_TEXTS.get(name, (f"Kiểm tra chứng thư không đạt: {name}.",
                                     f"Certificate validation failed: {name}."))
    severity = Severity.ERROR
    return note(name, severity, vi, en)


def evidence_for(status: SignatureStatus, knowledge: Knowledge,
                 signed_data: cms.SignedData) -> tuple[Evidence, ...]:
    """Collect the certificates and revocation data relevant to this signature."""
    out: dict[bytes, Evidence] = {}
    chain: list[x509.Certificate] = [status.signing_cert]
    path = status.validation_path
    if path is not None:
        chain += [c for c in path.iter_certs(include_root=True) if isinstance(c, x509.Certificate)]
    ts = getattr(status, "timestamp_validity", None)
    if ts is not None:
        chain.append(ts.signing_cert)
        if ts.validation_path is not None:
            chain += [c for c in ts.validation_path.iter_certs(include_root=True)
                      if isinstance(c, x509.Certificate)]
    origins = {c.sha256: o for c, o in knowledge.certs}
    for cert in chain:
        der = cert.dump()
        out.setdefault(cert.sha256, Evidence("certificate", origins.get(cert.sha256, "cms"),
                                             cert.subject.human_friendly, der))
    issuers = {c.issuer.dump() for c in chain} | {c.subject.dump() for c in chain}
    for lst, origin in knowledge.crls:
        if lst["tbs_cert_list"]["issuer"].dump() in issuers:
            der = lst.dump()
            out.setdefault(hashlib.sha256(der).digest(), Evidence(
                "crl", origin, lst["tbs_cert_list"]["issuer"].human_friendly, der))
    serials = {c.serial_number for c in chain}
    for resp, origin in knowledge.ocsps:
        try:
            tbs = resp["response_bytes"]["response"].parsed["tbs_response_data"]
            hit = any(s["cert_id"]["serial_number"].native in serials for s in tbs["responses"])
        except (KeyError, ValueError, TypeError):
            hit = False
        if hit:
            der = resp.dump()
            out.setdefault(hashlib.sha256(der).digest(),
                           Evidence("ocsp", origin, "OCSP response", der))
    return tuple(out.values())
