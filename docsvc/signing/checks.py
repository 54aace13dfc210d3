"""Check the signer's certificate before signing (validity, key usage, revocation) and build
the validation context and timestamper that signing uses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable

from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from docsvc.signing.errors import (
    CertificateRejectedError,
    RevocationUnavailableError,
    SigningError,
)

SIGNER_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})


def make_validation_context(trust_roots: Iterable[asn1_x509.Certificate], *,
                            other_certs: Iterable[asn1_x509.Certificate] = (),
                            allow_fetching: bool = True, hard_fail: bool = True,
                            timeout: float = 5.0) -> ValidationContext:
    """Build a validation context that fetches OCSP/CRL over HTTP with ``requests``.

    Build one per signature: a context caches what it fetched.
    """
    return ValidationContext(
        trust_roots=list(trust_roots), other_certs=list(other_certs),
        allow_fetching=allow_fetching,
        revocation_mode="hard-fail" if hard_fail else "soft-fail",
        fetcher_backend=RequestsFetcherBackend(per_request_timeout=timeout),
    )


def make_timestamper(url: str, *, timeout: float = 5.0) -> RequestsHTTPTimeStamper:
    """Return an RFC 3161 client for the TSA at ``url``."""
    return RequestsHTTPTimeStamper(url, timeout=timeout)


def subject_text(cert: asn1_x509.Certificate) -> str:
    """Return the common name of ``cert`` (or its whole subject)."""
    native = cert.subject.native
    return native.get("common_name") or cert.subject.human_friendly


def check_certificate_locally(cert: asn1_x509.Certificate, *, at: dt.datetime | None = None,
                              key_usage: Iterable[str] = SIGNER_KEY_USAGE) -> None:
    """Refuse a certificate that is expired, not yet valid or not meant for signing."""
    at = at or dt.datetime.now(dt.UTC)
    validity = cert["tbs_certificate"]["validity"]
    subject = subject_text(cert)
    if at < validity["not_before"].native:
        raise CertificateRejectedError("not_yet_valid", subject=subject)
    if at > validity["not_after"].native:
        raise CertificateRejectedError("expired", subject=subject)
    usage = cert.key_usage_value
    if usage is not None and not set(key_usage) <= set(usage.native):
        raise CertificateRejectedError("wrong_key_usage", subject=subject,
                                       extra=",".join(sorted(usage.native)))


def rejection_from(exc: BaseException, subject: str) -> SigningError | None:
    """Translate a certvalidator error (or its cause chain) into a refusal, if it is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, cv_errors.RevokedError):
            return CertificateRejectedError("revoked", subject=subject, extra=str(seen))
        if isinstance(seen, cv_errors.ExpiredError):
            return CertificateRejectedError("expired", subject=subject, extra=str(seen))
        if isinstance(seen, cv_errors.NotYetValidError):
            return CertificateRejectedError("not_yet_valid", subject=subject, extra=str(seen))
        if isinstance(seen, cv_errors.InsufficientRevinfoError):
            logging.getLogger(__name__).warning("no revocation information: %s", seen)
            return RevocationUnavailableError(details={"subject": subject,
                                                       "stage": "revocation"})
        if isinstance(seen, cv_errors.PathBuildingError | cv_errors.PathValidationError):
            return CertificateRejectedError("untrusted", subject=subject, extra=str(seen))
        if isinstance(seen, cv_errors.InvalidCertificateError):
            return CertificateRejectedError("wrong_key_usage", subject=subject, extra=str(seen))
        seen = seen.__cause__ or seen.__context__
    return None


async def async_check_signer(signer: Signer, *, validation_context: ValidationContext | None,
                             at: dt.datetime | None = None,
                             key_usage: Iterable[str] = SIGNER_KEY_USAGE) -> None:
    """Refuse to sign with an unusable certificate, naming the reason."""
    cert = signer.signing_cert
    assert cert is not None
    check_certificate_locally(cert, at=at, key_usage=key_usage)
    if validation_context is None:
        return
    validator = CertificateValidator(
        cert, intermediate_certs=list(signer.cert_registry),
        validation_context=validation_context,
    )
    try:
        await validator.async_validate_usage(set(key_usage))
    except (cv_errors.ValidationError, cv_errors.PathError) as exc:
        rejection = rejection_from(exc, subject_text(cert))
        if rejection is None:
            raise
        raise rejection from exc


def check_signer(signer: Signer, *, validation_context: ValidationContext | None = None,
                 at: dt.datetime | None = None,
                 key_usage: Iterable[str] = SIGNER_KEY_USAGE) -> None:
    """Refuse to sign with an expired, not yet valid, revoked or wrongly usable certificate."""
    asyncio.run(async_check_signer(signer, validation_context=validation_context, at=at,
                                   key_usage=key_usage))
