"""Trust anchors as data: folders of PEM/DER certificates (one set per source) plus the
intermediate certificates and CRLs that may sit beside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import crl, pem, x509

from docsvc.errors import ConfigError

_CERT_EXTS = {".pem", ".crt", ".cer", ".der", ".cert"}
_CRL_EXTS = {".crl"}
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


class TrustStoreError(ConfigError):
    """A trust folder is missing or holds a file that is not a certificate or CRL."""

    code = "trust_store_invalid"
    message_vi = "Thư mục chứng thư tin cậy không hợp lệ."
    message_en = "Invalid trust anchor folder."


@dataclass(frozen=True)
class TrustStore:
    """Trust anchors (self-issued CA certificates), extra intermediates and CRLs."""

    anchors: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[crl.CertificateList, ...] = ()
    anchor_sets: dict[bytes, str] = field(default_factory=dict)
    """SHA-256 of an anchor's DER → name of the set (folder) it came from."""

    def set_of(self, cert: x509.Certificate) -> str | None:
        """Return the name of the trust set holding ``cert`` as an anchor, if any."""
        return self.anchor_sets.get(cert.sha256)

    def __hash__(self) -> int:
        return hash((self.anchors, self.intermediates, self.crls))


def load_trust(dirs: list[Path]) -> TrustStore:
    """Load every certificate and CRL file in ``dirs``; raise TrustStoreError listing problems."""
    anchors: list[x509.Certificate] = []
    intermediates: list[x509.Certificate] = []
    crls: list[crl.CertificateList] = []
    sets: dict[bytes, str] = {}
    problems: list[str] = []
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            problems.append(f"{folder}: not a folder")
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            ext = path.suffix.lower()
            if ext not in _CERT_EXTS | _CRL_EXTS:
                continue
            try:
                certs, lists = _read_file(path.read_bytes())
            except (ValueError, TypeError, OSError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            crls.extend(lists)
            for cert in certs:
                if _is_anchor(cert):
                    if cert.sha256 not in sets:
                        anchors.append(cert)
                        sets[cert.sha256] = folder.name
                else:
                    intermediates.append(cert)
    if problems:
        raise TrustStoreError(
            "Không đọc được thư mục chứng thư tin cậy: " + "; ".join(problems),
            "Cannot read the trust folders: " + "; ".join(problems),
            details={"problems": problems},
        )
    return TrustStore(tuple(anchors), tuple(intermediates), tuple(crls), sets)


def _is_anchor(cert: x509.Certificate) -> bool:
    return cert.self_issued and bool(cert.ca)


def _read_file(data: bytes) -> tuple[list[x509.Certificate], list[crl.CertificateList]]:
    certs: list[x509.Certificate] = []
    lists: list[crl.CertificateList] = []
    if pem.detect(data):
        for kind, _headers, der in pem.unarmor(data, multiple=True):
            if kind in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
                certs.append(_load_cert(der))
            elif kind == "X509 CRL":
                lists.append(_load_crl(der))
        if not certs and not lists:
            raise ValueError("no CERTIFICATE or X509 CRL block")
        return certs, lists
    try:
        return [_load_cert(data)], []
    except ValueError:
        return [], [_load_crl(data)]


def _load_cert(der: bytes) -> x509.Certificate:
    cert = x509.Certificate.load(der)
    cert.native  # noqa: B018 - force a full parse so broken files fail here, not later
    return cert


def _load_crl(der: bytes) -> crl.CertificateList:
    lst = crl.CertificateList.load(der)
    lst.native  # noqa: B018
    return lst
