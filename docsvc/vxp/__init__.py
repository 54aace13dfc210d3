"""A second face on the exchange: the wire protocol of the national axis (VXP) Java SDK, so
agency systems built on it connect to docsvc by changing only endpoint, system id and secret.

``make_vxp_blueprint(prefix, backend)`` serves it over any :class:`VxpBackend`.
"""

from docsvc.vxp.auth import (
    SignedParams,
    VerifiedRequest,
    VxpAuthError,
    decrypt_secret,
    encrypt_secret,
    generate_secret,
    verify_request,
)
from docsvc.vxp.backend import (
    Agency,
    AgencyRegistration,
    ReceivedItem,
    SentItem,
    Submission,
    VxpBackend,
    VxpSystem,
)
from docsvc.vxp.blueprint import make_vxp_blueprint
from docsvc.vxp.memory import MemoryVxpBackend

GUNICORN_OPTIONS = {"limit_request_field_size": 65536, "limit_request_line": 8190}
"""What the production server needs for the SDK: every value is sent twice (own header and
inside the signed header), so a long ``to`` or ``filePath`` passes gunicorn's 8 KiB default."""

__all__ = [
    "GUNICORN_OPTIONS",
    "Agency",
    "AgencyRegistration",
    "MemoryVxpBackend",
    "ReceivedItem",
    "SentItem",
    "SignedParams",
    "Submission",
    "VerifiedRequest",
    "VxpAuthError",
    "VxpBackend",
    "VxpSystem",
    "decrypt_secret",
    "encrypt_secret",
    "generate_secret",
    "make_vxp_blueprint",
    "verify_request",
]
