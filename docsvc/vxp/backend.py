"""The port the VXP face calls: what docsvc's exchange services must offer the SDK protocol.

The protocol layer (auth, envelopes, parameters, bodies) knows nothing of the database; an
adapter over the exchange services implements :class:`VxpBackend`. Failures are raised as
``docsvc.errors.DocsvcError`` subclasses (``NotFoundError``, ``PermissionDeniedError``,
``BadRequestError``, ``ConflictError``, edXML errors …); the face turns their HTTP status into
the SDK's ``ErrorCode``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

MessageType = Literal["edoc", "status"]
AckStatus = Literal["done", "fail", "processing"]
AgencyListKind = Literal["agencies", "qd20", "sync"]


@dataclass(frozen=True)
class VxpSystem:
    """A linked agency system as the SDK knows it: system id, shared secret, organisation."""

    system_id: str
    """``XroadVnpt-systemid``, e.g. ``vxp.saas.03`` or an OrganId."""
    organ_id: str
    """The organisation the system acts for (QĐ 20/2020 OrganId)."""
    secret: str = field(repr=False)
    """The shared secret as text (decrypted); HMAC needs the secret itself, never a hash of it."""
    may_manage_agencies: bool = False
    """Whether registerAgency/deleteAgency are allowed (a provincial directory admin system)."""


@dataclass(frozen=True)
class Submission:
    """One sendEdoc call, after authentication and the ``hash-file`` check."""

    package: bytes
    """The package file exactly as the client hashed it (trailing CRLF removed)."""
    sha256: str
    """Lower-case 64-digit hex SHA-256 of ``package`` (deduplicate retries on it)."""
    message_type: MessageType
    service_type: str
    """``servicetype`` as sent (``eDoc`` in the sample); opaque to the protocol."""
    from_code: str
    """``from`` as sent, or the system's organ when ``from`` named the system id or was absent."""
    to: tuple[str, ...] | None
    """Recipients from the ``to`` parameter; ``None`` means: take them from the package."""


@dataclass(frozen=True)
class ReceivedItem:
    """One package in the caller's inbox (getReceivedEdocList)."""

    doc_id: str
    """The receiver's id of the package: what getEdoc and updateStatus name."""
    from_code: str
    to_code: str
    message_type: MessageType
    service_type: str = "eDoc"
    status: str = "initial"
    status_desc: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class SentItem:
    """Delivery state of one sent package for one recipient (getSentEdocList)."""

    sender_doc_id: str
    receiver_doc_id: str
    from_code: str
    to_code: str
    message_type: MessageType
    service_type: str = "eDoc"
    title: str = ""
    notation: str = ""
    """Số/ký hiệu, e.g. ``42/BC-UBND``."""
    sent_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    send_status: str = ""
    send_status_desc: str = ""
    receive_status: str = ""
    receive_status_desc: str = ""


@dataclass(frozen=True)
class Agency:
    """A unit of the directory, with every field any of the three directory calls reads."""

    id: str
    code: str
    name: str
    pid: str = ""
    """The parent's ``id``."""
    mail: str = ""
    old_code: str = ""
    code102: str = ""
    """Standard-102 (old-style) identifier, for getAgenciesListQD20."""
    center_code: str = ""
    version: int = 0
    deleted: bool = False
    is_agency: bool = True
    modified_at: dt.datetime | None = None


@dataclass(frozen=True)
class AgencyRegistration:
    """The (unsigned) body of registerAgency."""

    code: str
    name: str
    parent_code: str = ""
    id: str = ""
    mail: str = ""
    mobile: str = ""
    fax: str = ""


class VxpBackend(Protocol):
    """What the VXP endpoints need from docsvc; one call per operation, ``system`` authenticated."""

    def authenticate_system(self, system_id: str) -> VxpSystem | None:
        """Return the active system with this id (and its secret), or ``None``."""
        ...

    def submit(self, system: VxpSystem, submission: Submission) -> str:
        """Accept a package from ``system``; return the sender's DocId.

        Must be idempotent on ``(system.system_id, submission.sha256)`` for a while (the SDK
        retries POSTs after I/O errors): a repeat returns the first DocId. Raises
        ``PermissionDeniedError`` when ``from_code`` / the package's sender is not the system's,
        edXML errors for a bad package, ``BadRequestError`` for no recipients.
        """
        ...

    def received_list(self, system: VxpSystem, *, message_type: MessageType) -> Sequence[ReceivedItem]:
        """Return the packages of ``message_type`` addressed to the system and not yet done/fail."""
        ...

    def fetch(self, system: VxpSystem, doc_id: str) -> bytes:
        """Return the package bytes; ``NotFoundError`` unless addressed to the system."""
        ...

    def acknowledge(self, system: VxpSystem, doc_id: str, status: AckStatus, description: str) -> None:
        """Record the transport acknowledgement; idempotent; ``NotFoundError`` as for fetch."""
        ...

    def sent_list(
        self, system: VxpSystem, *, message_type: MessageType, doc_id: str | None
    ) -> Sequence[SentItem]:
        """Return one item per recipient of the system's sent packages (of one, with ``doc_id``)."""
        ...

    def count_received(self, system: VxpSystem, *, message_type: MessageType) -> int:
        """Return how many packages ``received_list`` would return."""
        ...

    def agencies(self, system: VxpSystem, *, kind: AgencyListKind, level: str | None) -> Sequence[Agency]:
        """Return the directory (``kind`` says which call asks; ``level`` is getAgenciesListQD20's)."""
        ...

    def register_agency(self, system: VxpSystem, registration: AgencyRegistration) -> None:
        """Add or update a unit; ``PermissionDeniedError`` unless the system may manage agencies."""
        ...

    def delete_agency(self, system: VxpSystem, code: str) -> None:
        """Remove a unit; ``PermissionDeniedError`` / ``NotFoundError``."""
        ...
