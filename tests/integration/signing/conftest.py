"""Fixtures of the signing integration tests (defined in ``tests.support.signing``)."""

from tests.support.signing import (  # noqa: F401 - fixtures
    assert_verified,
    nssdb,
    pdfsig,
    pki,
    responders,
    sample_pdf,
    served_pki,
    signer_of,
    softhsm_token,
    timestamper,
    trust_root,
    validation_context,
)
