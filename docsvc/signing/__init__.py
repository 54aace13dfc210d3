"""PAdES signing of official documents (Nghị định 30): key sources, certificate checks,
appearances of the person and agency signatures, and ``sign_pdf``.
"""

from docsvc.signing.checks import (
    check_signer,
    make_timestamper,
    make_validation_context,
)
from docsvc.signing.keys import (
    LoadedKeySigner,
    TokenSigner,
    load_pkcs12_bytes,
    load_pkcs12_signer,
    read_secret,
)
from docsvc.signing.placement import Placement
from docsvc.signing.sign import (
    LEVELS,
    ROLES,
    ExistingSignature,
    SignedBytes,
    existing_signatures,
    sign_pdf,
    sign_pdf_detailed,
)

__all__ = [
    "LEVELS",
    "ROLES",
    "ExistingSignature",
    "LoadedKeySigner",
    "Placement",
    "SignedBytes",
    "TokenSigner",
    "check_signer",
    "existing_signatures",
    "load_pkcs12_bytes",
    "load_pkcs12_signer",
    "make_timestamper",
    "make_validation_context",
    "read_secret",
    "sign_pdf",
    "sign_pdf_detailed",
]
