"""The VXP face over docsvc's own exchange: :class:`ExchangeVxpBackend` answers the SDK's calls
with the same services as the REST pull API (submit, inbox with leases, fetch, ack, directory),
so a package sent through either face is one exchange, with one deduplication and one receipt.

One database session per call, closed before the reply.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.errors import AuthenticationError, PermissionDeniedError
from docsvc.models import Document, LinkedSystem, Message
from docsvc.sealing import VXP_SECRET, Sealer
from docsvc.security import Actor
from docsvc.services import directory as dirsvc
from docsvc.services import exchange as svc
from docsvc.vxp.backend import (
    AckStatus,
    Agency,
    AgencyListKind,
    AgencyRegistration,
    MessageType,
    ReceivedItem,
    SentItem,
    Submission,
    VxpSystem,
)

log = logging.getLogger(__name__)
LIST_LIMIT = 500
"""Packages per getReceivedEdocList / getSentEdocList reply (the rest come on the next call)."""
_RECEIVE_STATUS = {None: "initial", "received": "done", "rejected": "fail"}


class ExchangeVxpBackend:
    """:class:`docsvc.vxp.backend.VxpBackend` over the exchange and directory services."""

    def __init__(self, runtime: Any, *, sealer: Sealer,
                 config: Callable[[], svc.ExchangeConfig]) -> None:
        """``runtime``: sessions and blobs; ``sealer``: opens the stored VXP secrets;
        ``config``: returns the exchange configuration the REST face uses (same agency key,
        same verifier of received documents)."""
        self._runtime = runtime
        self._sealer = sealer
        self.config = config

    @staticmethod
    def _actor(session: Session, system: VxpSystem) -> Actor:
        """Return the linked system's actor (as the REST face builds it from a token)."""
        row = session.execute(select(LinkedSystem).where(
            LinkedSystem.vxp_system_id == system.system_id)).scalar_one_or_none()
        if row is None or not row.active:
            raise AuthenticationError()
        return Actor(kind="system", name=f"{row.id}:{row.name}", organ_id=row.organ_id,
                     system_id=row.id, client_cert_sha256=row.client_cert_sha256)

    # -- the port

    def authenticate_system(self, system_id: str) -> VxpSystem | None:
        """Return the active system with this VXP id and its decrypted secret, or ``None``."""
        with self._runtime.sessions() as session:
            row = session.execute(select(LinkedSystem).where(
                LinkedSystem.vxp_system_id == system_id)).scalar_one_or_none()
            if row is None or not row.active or not row.vxp_secret_sealed:
                return None
            if row.client_cert_sha256 and not self._presents_certificate(row.client_cert_sha256):
                log.warning("VXP %s: pinned TLS client certificate not presented", system_id)
                return None
            secret = self._sealer.open(row.vxp_secret_sealed, purpose=VXP_SECRET, subject=system_id)
            return VxpSystem(system_id=system_id, organ_id=row.organ_id, secret=secret)

    def _presents_certificate(self, pinned: str) -> bool:
        """Check the pinned TLS client certificate, as the REST face does."""
        from flask import has_request_context, request

        from docsvc.security import presents_pinned_certificate

        return has_request_context() and presents_pinned_certificate(
            request.environ, request.headers, self._runtime.settings.client_cert_header, pinned)

    def submit(self, system: VxpSystem, submission: Submission) -> str:
        """Submit like ``POST /api/v1/exchange/messages`` without a key; return the DocId.

        The package decides kind and recipients, as on the REST path; ``messagetype`` and ``to``
        disagreeing with it are logged. The DocId is the smallest message id of the submission,
        so a repeat (same organisation, same bytes) returns the same DocId.
        """
        if submission.from_code != system.organ_id:
            raise svc.SenderMismatchError(details={"from": submission.from_code,
                                                   "caller": system.organ_id})
        with self._runtime.sessions() as session:
            actor = self._actor(session, system)
            result = svc.submit_package(session, self._runtime.blobs, self.config(),
                                        stream=io.BytesIO(submission.package), idempotency_key=None,
                                        actor=actor)
        receipt = result.receipt
        if receipt.get("kind") != submission.message_type:
            log.warning("VXP %s: messagetype %s but the package is %s", system.system_id,
                        submission.message_type, receipt.get("kind"))
        if submission.to is not None and set(submission.to) != set(receipt.get("to", ())):
            log.warning("VXP %s: 'to' %s ignored; the package's recipients %s decide",
                        system.system_id, list(submission.to), receipt.get("to"))
        return min(receipt["message_ids"])

    def received_list(self, system: VxpSystem, *, message_type: MessageType) -> Sequence[ReceivedItem]:
        """Return (and lease, as the inbox does) the unacknowledged packages of this kind."""
        with self._runtime.sessions() as session:
            actor = self._actor(session, system)
            page, _ = svc.inbox(session, self.config(), actor=actor, limit=LIST_LIMIT, kind=message_type)
            return [ReceivedItem(doc_id=m.id, from_code=m.sender_organ_id, to_code=m.recipient_organ_id,
                                 message_type=message_type,  # the kind the inbox was filtered on
                                 status="processing" if m.fetch_count else "initial",
                                 created_at=m.created_at, updated_at=m.lease_until or m.created_at)
                    for m in page]

    def fetch(self, system: VxpSystem, doc_id: str) -> bytes:
        """Return the package bytes (hash-checked), as ``GET /exchange/messages/{id}``."""
        with self._runtime.sessions() as session:
            actor = self._actor(session, system)
            _, stream = svc.fetch_message(session, self._runtime.blobs, message_id=doc_id, actor=actor)
            with stream:
                return stream.read()

    def acknowledge(self, system: VxpSystem, doc_id: str, status: AckStatus, description: str) -> None:
        """``done`` → received, ``fail`` → rejected, ``processing`` → noted; repeats change nothing."""
        with self._runtime.sessions() as session:
            actor = self._actor(session, system)
            if status == "processing":
                svc.note_processing(session, message_id=doc_id, actor=actor, description=description)
                return
            result = "received" if status == "done" else "rejected"
            reason = description or ("updateStatus fail (VXP)" if result == "rejected" else None)
            try:
                svc.ack_message(session, self.config(), message_id=doc_id, result=result, reason=reason,
                                actor=actor)
            except svc.AckConflictError as exc:  # a late done/fail after the other: the first stands
                log.info("VXP %s: %s on %s ignored (already %s)", system.system_id, status, doc_id,
                         exc.details.get("ack_result"))

    def sent_list(
        self, system: VxpSystem, *, message_type: MessageType, doc_id: str | None
    ) -> Sequence[SentItem]:
        """Return one item per recipient of the organisation's sent packages (of one sending)."""
        with self._runtime.sessions() as session:
            actor = self._actor(session, system)
            messages = svc.sent_messages(session, actor=actor, kind=message_type, message_id=doc_id,
                                         limit=LIST_LIMIT)
            first: dict[tuple[str, Any], str] = {}
            for m in messages:
                key = (m.sha256, m.created_at)
                first[key] = min(first.get(key, m.id), m.id)
            return [self._sent_item(session, m, first[(m.sha256, m.created_at)]) for m in messages]

    @staticmethod
    def _sent_item(session: Session, m: Message, sender_doc_id: str) -> SentItem:
        document_id = m.local_document_id or m.delivered_document_id
        document = session.get(Document, document_id) if document_id else None
        notation = (document.number_notation or "") if document is not None else ""
        title = f"Trạng thái {m.status_code}" if m.kind == "status" else (
            document.subject if document is not None else "")
        return SentItem(
            sender_doc_id=sender_doc_id, receiver_doc_id=m.id, from_code=m.sender_organ_id,
            to_code=m.recipient_organ_id, message_type=m.kind, title=title, notation=notation,  # type: ignore[arg-type]
            sent_at=m.created_at, received_at=m.acked_at, send_status="done",
            receive_status=_RECEIVE_STATUS.get(m.ack_result, "initial"),
            receive_status_desc=m.ack_reason or "")

    def count_received(self, system: VxpSystem, *, message_type: MessageType) -> int:
        """Return how many packages of this kind await updateStatus (listed ones included)."""
        with self._runtime.sessions() as session:
            return svc.count_unacknowledged(session, actor=self._actor(session, system), kind=message_type)

    def agencies(self, system: VxpSystem, *, kind: AgencyListKind, level: str | None) -> Sequence[Agency]:
        """Return docsvc's directory (OrganId as id and code; ``level`` is not interpreted)."""
        with self._runtime.sessions() as session:
            return [Agency(id=o.organ_id, code=o.organ_id, name=o.name, pid=o.parent_id or "",
                           mail=o.email or "", code102=o.organ_id)
                    for o in dirsvc.list_organizations(session)]

    def register_agency(self, system: VxpSystem, registration: AgencyRegistration) -> None:
        """Refuse: the directory is kept by docsvc's operators (``docsvc directory import``)."""
        raise PermissionDeniedError("Danh bạ do quản trị docsvc cập nhật, không qua VXP.",
                                    "The directory is maintained by docsvc's operators, not over VXP.")

    def delete_agency(self, system: VxpSystem, code: str) -> None:
        """Refuse, as register_agency."""
        self.register_agency(system, AgencyRegistration(code=code, name=""))
