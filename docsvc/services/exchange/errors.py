"""Errors of the exchange use cases: each has a stable ``code``, a message in Vietnamese and
English, and its HTTP status from its base class in ``docsvc.errors``."""

from __future__ import annotations

from docsvc.errors import ConflictError, PermissionDeniedError, UnprocessableError
from docsvc.exchange import EdxmlError


class DocumentNotSendableError(ConflictError):
    """The document is not registered, not signed, secret, or lacks its số/ký hiệu."""

    code = "document_not_sendable"
    message_vi = "Văn bản chưa đủ điều kiện gửi (phải đã đăng ký, đã ký số, không mật)."
    message_en = "The document cannot be sent yet (it must be registered, signed, not secret)."


class RecipientUnknownError(UnprocessableError):
    code = "recipient_unknown"
    message_vi = "Cơ quan nhận không có trong danh bạ."
    message_en = "The recipient is not in the directory."


class SenderMismatchError(PermissionDeniedError):
    code = "sender_mismatch"
    message_vi = "Cơ quan gửi (From) không phải cơ quan của hệ thống gửi gói tin."
    message_en = "The package's sender (From) is not the calling system's organisation."


class IdempotencyConflictError(ConflictError):
    code = "idempotency_key_reused"
    message_vi = "Idempotency-Key này đã dùng cho một gói tin khác."
    message_en = "This Idempotency-Key was already used for different bytes."


class XmlSignatureRequiredError(EdxmlError):
    code = "xml_signature_required"
    message_vi = "Hệ thống gửi đã đăng ký chứng thư số: gói tin phải có chữ ký XML."
    message_en = "A certificate is pinned for the sender: the package must carry an XML signature."


class UnknownDocumentError(UnprocessableError):
    code = "document_unknown"
    message_vi = "Không có văn bản nào đã gửi cho cơ quan này với DocumentId đó."
    message_en = "No document with this DocumentId was sent to this organisation."


class StatusTransitionError(ConflictError):
    code = "status_transition_refused"
    message_vi = "Không chuyển được sang trạng thái này từ trạng thái hiện tại."
    message_en = "This status cannot follow the current one."


class AckConflictError(ConflictError):
    code = "ack_conflict"
    message_vi = "Gói tin đã được xác nhận với kết quả khác."
    message_en = "The message was already acknowledged with another result."


class NotRevocableError(ConflictError):
    code = "document_not_revocable"
    message_vi = "Không thu hồi được: văn bản chưa được gửi đi hoặc không phải văn bản đi."
    message_en = "Cannot revoke: the document is not an outgoing document that was sent."


class TakeBackRefusedError(ConflictError):
    code = "takeback_refused"
    message_vi = "Không gửi được yêu cầu lấy lại văn bản ở trạng thái hiện tại."
    message_en = "A take-back request cannot be sent in the current state."


class NotUpdatableError(ConflictError):
    """``details.reasons``: not_outgoing, not_sent, revoked, not_registered,
    not_signed_by_person_and_agency, secret_document."""

    code = "document_not_updatable"
    message_vi = ("Không gửi cập nhật được: văn bản phải là văn bản đi đã gửi, chưa thu hồi, "
                  "bản mới nhất đã ký số.")
    message_en = ("Cannot send an update: the document must be an outgoing document that was "
                  "sent, not revoked, its latest version signed.")


class ReplacementRefusedError(ConflictError):
    """``details.problems``: one ``{"document_id", "problem"}`` per refused document; problem is
    not_found (no outgoing document of this agency with that id), not_outgoing, not_sent,
    already_replaced (``by``: the newer document), sent_as_new (this document already went out
    without replacing anything) or replaces_differs (``recorded``: what it replaces)."""

    code = "replacement_refused"
    message_vi = ("Không gửi được văn bản thay thế: văn bản bị thay thế phải là văn bản đi của "
                  "cơ quan, đã được gửi.")
    message_en = ("Cannot send the replacement: each replaced document must be an outgoing "
                  "document of this agency that was sent.")
