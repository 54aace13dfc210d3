"""An in-memory VxpBackend: the exchange semantics the SDK expects, in one process, for tests,
demos and as the reference the adapter over docsvc's exchange services must match.

Packages are read with the real edXML parser (sender, recipients, kind); nothing is persisted.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from docsvc.errors import BadRequestError, NotFoundError, PermissionDeniedError
from docsvc.exchange import DocumentPackage, StatusPackage, parse_package
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


@dataclass
class _Copy:
    """One recipient's copy of a sent package."""

    receiver_doc_id: str
    sender_doc_id: str
    sender_system: str
    from_code: str
    to_code: str
    message_type: MessageType
    service_type: str
    package: bytes
    title: str
    notation: str
    created_at: dt.datetime
    updated_at: dt.datetime
    status: str = "initial"
    status_desc: str = ""


@dataclass
class MemoryVxpBackend:
    """Systems, agencies and packages in dictionaries, guarded by one lock."""

    systems: dict[str, VxpSystem] = field(default_factory=dict)
    agency_list: list[Agency] = field(default_factory=list)
    organ_id_allow: frozenset[str] = frozenset()
    copies: dict[str, _Copy] = field(default_factory=dict)
    submissions: dict[tuple[str, str], str] = field(default_factory=dict)
    """(system id, SHA-256) → sender DocId: the retry deduplication."""
    submit_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def with_systems(cls, systems: Iterable[VxpSystem], agencies: Iterable[Agency] = ()) -> MemoryVxpBackend:
        """Return a backend that knows ``systems`` and the directory ``agencies``."""
        return cls(systems={s.system_id: s for s in systems}, agency_list=list(agencies))

    def authenticate_system(self, system_id: str) -> VxpSystem | None:
        """Return the system with exactly this id."""
        return self.systems.get(system_id)

    def submit(self, system: VxpSystem, submission: Submission) -> str:
        """Parse, check the sender, fan out one copy per recipient; repeats return the first id."""
        with self._lock:
            self.submit_calls += 1
            known = self.submissions.get((system.system_id, submission.sha256))
            if known is not None:
                return known
        parsed = parse_package(submission.package, organ_id_allow=self.organ_id_allow).package
        kind: MessageType = "status" if isinstance(parsed, StatusPackage) else "edoc"
        if kind != submission.message_type:
            raise BadRequestError(f"messagetype {submission.message_type} nhưng gói tin là {kind}.",
                                  f"messagetype is {submission.message_type} but the package is {kind}.")
        sender, recipients, title, notation = _describe(parsed)
        if submission.from_code != system.organ_id or sender != system.organ_id:
            raise PermissionDeniedError(f"Hệ thống {system.system_id} không gửi thay {sender}.",
                                        f"System {system.system_id} does not send for {sender}.")
        recipients = submission.to or recipients
        if not recipients:
            raise BadRequestError("Gói tin không có nơi nhận.", "The package has no recipient.")
        now = dt.datetime.now(dt.UTC)
        sender_doc_id = str(uuid.uuid4())
        with self._lock:
            known = self.submissions.get((system.system_id, submission.sha256))
            if known is not None:
                return known
            for to_code in recipients:
                copy = _Copy(str(uuid.uuid4()), sender_doc_id, system.system_id, sender, to_code, kind,
                             submission.service_type, submission.package, title, notation, now, now)
                self.copies[copy.receiver_doc_id] = copy
            self.submissions[(system.system_id, submission.sha256)] = sender_doc_id
        return sender_doc_id

    def received_list(self, system: VxpSystem, *, message_type: MessageType) -> Sequence[ReceivedItem]:
        """Return the unacknowledged copies of ``message_type`` addressed to the system's organ."""
        with self._lock:
            return [
                ReceivedItem(c.receiver_doc_id, c.from_code, c.to_code, c.message_type, c.service_type,
                             c.status, c.status_desc, c.created_at, c.updated_at)
                for c in self.copies.values()
                if c.to_code == system.organ_id and c.message_type == message_type
                and c.status not in ("done", "fail")
            ]

    def fetch(self, system: VxpSystem, doc_id: str) -> bytes:
        """Return the copy's bytes, if addressed to the system."""
        return self._own_copy(system, doc_id).package

    def acknowledge(self, system: VxpSystem, doc_id: str, status: AckStatus, description: str) -> None:
        """Set the transport status; repeats of a final status change nothing."""
        with self._lock:
            copy = self._own_copy(system, doc_id)
            if copy.status in ("done", "fail"):
                return
            copy.status, copy.status_desc = status, description
            copy.updated_at = dt.datetime.now(dt.UTC)

    def sent_list(
        self, system: VxpSystem, *, message_type: MessageType, doc_id: str | None
    ) -> Sequence[SentItem]:
        """Return one item per recipient copy of the system's sent packages."""
        with self._lock:
            return [
                SentItem(c.sender_doc_id, c.receiver_doc_id, c.from_code, c.to_code, c.message_type,
                         c.service_type, c.title, c.notation, c.created_at,
                         c.updated_at if c.status != "initial" else None,
                         "done", "", c.status, c.status_desc)
                for c in self.copies.values()
                if c.sender_system == system.system_id and c.message_type == message_type
                and (doc_id is None or doc_id in (c.sender_doc_id, c.receiver_doc_id))
            ]

    def count_received(self, system: VxpSystem, *, message_type: MessageType) -> int:
        """Return the length of the inbox list."""
        return len(self.received_list(system, message_type=message_type))

    def agencies(self, system: VxpSystem, *, kind: AgencyListKind, level: str | None) -> Sequence[Agency]:
        """Return the directory without deleted units (all of it for getSynchronizeUnit)."""
        with self._lock:
            return [a for a in self.agency_list if kind == "sync" or not a.deleted]

    def register_agency(self, system: VxpSystem, registration: AgencyRegistration) -> None:
        """Add or replace a unit (directory administrator systems only)."""
        self._admin(system)
        with self._lock:
            parent = next((a.id for a in self.agency_list if a.code == registration.parent_code), "")
            existing = next((a for a in self.agency_list if a.code == registration.code), None)
            agency = Agency(id=existing.id if existing else str(len(self.agency_list) + 1),
                            code=registration.code, name=registration.name, pid=parent,
                            mail=registration.mail, version=(existing.version + 1) if existing else 1,
                            modified_at=dt.datetime.now(dt.UTC))
            self.agency_list = [a for a in self.agency_list if a.code != registration.code] + [agency]

    def delete_agency(self, system: VxpSystem, code: str) -> None:
        """Mark a unit deleted (directory administrator systems only)."""
        self._admin(system)
        with self._lock:
            for index, agency in enumerate(self.agency_list):
                if agency.code == code and not agency.deleted:
                    self.agency_list[index] = replace(agency, deleted=True, version=agency.version + 1)
                    return
        raise NotFoundError(f"Không có đơn vị {code}.", f"No unit {code}.")

    def _own_copy(self, system: VxpSystem, doc_id: str) -> _Copy:
        copy = self.copies.get(doc_id)
        if copy is None or copy.to_code != system.organ_id:
            raise NotFoundError(f"Không có gói tin {doc_id} gửi đến hệ thống này.",
                                f"No package {doc_id} addressed to this system.")
        return copy

    @staticmethod
    def _admin(system: VxpSystem) -> None:
        if not system.may_manage_agencies:
            raise PermissionDeniedError()


def _describe(package: DocumentPackage | StatusPackage) -> tuple[str, tuple[str, ...], str, str]:
    """Return sender, recipients, title and notation of a parsed package."""
    if isinstance(package, StatusPackage):
        return (package.sender.organ_id, (package.response_for.organ_id,),
                f"Trạng thái {package.status_code}", package.response_for.code)
    header = package.header
    recipients = tuple(dict.fromkeys(org.organ_id for org in header.recipients if org.organ_id))
    return header.sender.organ_id, recipients, header.subject, str(header.code)
