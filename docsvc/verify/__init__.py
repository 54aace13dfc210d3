"""Signature verification: validation with pyHanko, the ETSI report model and its rendering."""

from docsvc.verify.report import DocumentReport, Indication, SignatureReport
from docsvc.verify.trust import TrustStore, TrustStoreError, load_trust
from docsvc.verify.validate import SignatureNotFoundError, signed_revision, validate_pdf

__all__ = [
    "DocumentReport",
    "Indication",
    "SignatureNotFoundError",
    "SignatureReport",
    "TrustStore",
    "TrustStoreError",
    "load_trust",
    "signed_revision",
    "validate_pdf",
]
