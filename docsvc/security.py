"""Who is asking and what they may do: actors, secrets (tokens, passwords) and the policy.

The policy is a set of small pure functions over an ``Actor`` and a document, so the API, the
web pages and the CLI all decide the same way, and the authorization matrix test reads them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from docsvc.models import SECRECY_ORDER, Document

TOKEN_PREFIX = "dsv_"  # noqa: S105 - a visible marker, not a secret
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Actor:
    """The identity behind a request: a person, a linked system, or the local operator (CLI)."""

    kind: str
    """``user``, ``system`` or ``operator``."""
    name: str
    organ_id: str | None
    roles: frozenset[str] = frozenset()
    clearance: str = "none"
    audits_subordinates: bool = False
    subordinate_organs: frozenset[str] = field(default_factory=frozenset)
    """OrganIds below ``organ_id`` in the directory (filled for auditors granted them)."""
    user_id: int | None = None
    system_id: int | None = None
    client_cert_sha256: str | None = None
    """For a linked system: the SHA-256 of the TLS client certificate it must present."""

    def has_role(self, role: str) -> bool:
        """Tell whether the actor is a person with ``role``."""
        return self.kind == "user" and role in self.roles

    @property
    def label(self) -> str:
        """Return ``kind:name`` as written in the audit trail."""
        return f"{self.kind}:{self.name}"


OPERATOR = Actor(kind="operator", name="cli", organ_id=None)


def new_token() -> str:
    """Return a new random bearer token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Return the SHA-256 under which a token is stored (tokens are random: no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_match(a: str, b: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Tell whether ``password`` matches; a missing hash never matches."""
    if not password_hash:
        _hasher.hash(password)  # spend the same time, so timing does not reveal unknown users
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- policy ------------------------------------------------------------------------------------


def is_cleared_for(actor: Actor, document: Document) -> bool:
    """Tell whether the actor's clearance covers the document's secrecy level."""
    if actor.kind == "operator":
        return True
    return SECRECY_ORDER.get(actor.clearance, 0) >= SECRECY_ORDER[document.secrecy]


def readable_organs(actor: Actor) -> frozenset[str]:
    """Return the organisations whose registries the actor may read."""
    if actor.kind != "user" or actor.organ_id is None:
        return frozenset()
    organs = {actor.organ_id} if actor.roles & {"clerk", "signer", "auditor"} else set()
    if actor.has_role("auditor") and actor.audits_subordinates:
        organs |= actor.subordinate_organs
    return frozenset(organs)


def is_addressed_to(document: Document, organ_id: str | None) -> bool:
    """Tell whether ``organ_id`` is among the document's recipients."""
    return any(r.get("organ_id") == organ_id for r in document.recipients or ())


def can_read(actor: Actor, document: Document) -> bool:
    """Tell whether the actor may see the document at all (else: 404, existence is not revealed)."""
    if actor.kind == "operator":
        return True
    if actor.kind == "system":
        return (document.status == "registered" and document.secrecy == "none"
                and is_addressed_to(document, actor.organ_id))
    return document.owner_organ_id in readable_organs(actor) and is_cleared_for(actor, document)


def can_write(actor: Actor, document: Document) -> bool:
    """Tell whether the actor may register or change the document (a clerk of its agency)."""
    if actor.kind == "operator":
        return True
    return actor.has_role("clerk") and document.owner_organ_id == actor.organ_id


def can_create_in(actor: Actor, owner_organ_id: str) -> bool:
    """Tell whether the actor may put a new document in ``owner_organ_id``'s registry."""
    return actor.kind == "operator" or (actor.has_role("clerk") and actor.organ_id == owner_organ_id)


def can_read_registers(actor: Actor, organ_id: str) -> bool:
    """Tell whether the actor may read an agency's outgoing and incoming registers."""
    if actor.kind == "operator":
        return True
    return (actor.has_role("clerk") or actor.has_role("auditor")) and organ_id in readable_organs(actor)


def can_read_history(actor: Actor, document: Document) -> bool:
    """Tell whether the actor may read a document's audit history (auditors and owners)."""
    if not can_read(actor, document):
        return False
    return actor.kind == "operator" or actor.has_role("auditor") or actor.has_role("clerk")


def client_certificate_sha256(pem_or_escaped: str) -> str | None:
    """Return the SHA-256 (hex) of a PEM client certificate as a proxy or the server passes it."""
    from urllib.parse import unquote

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    text = unquote(pem_or_escaped) if "%" in pem_or_escaped else pem_or_escaped
    try:
        certificate = x509.load_pem_x509_certificate(text.strip().encode())
    except ValueError:
        return None
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def presents_pinned_certificate(environ: dict, headers, header_name: str, pinned: str) -> bool:  # type: ignore[no-untyped-def]
    """Tell whether the request carries the pinned TLS client certificate.

    The certificate comes from the WSGI server (``SSL_CLIENT_CERT``) or from the header a
    TLS-terminating proxy sets (``DOCSVC_CLIENT_CERT_HEADER``, e.g. nginx's
    ``$ssl_client_escaped_cert``); the proxy must strip that header from client requests.
    """
    presented = environ.get("SSL_CLIENT_CERT") or (headers.get(header_name) if header_name else None)
    actual = client_certificate_sha256(presented) if presented else None
    return actual is not None and digests_match(actual, pinned.lower())
