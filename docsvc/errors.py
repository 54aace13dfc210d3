"""The DocsvcError tree: every failure a user can meet has a stable code, an HTTP status
and a message in Vietnamese and English.

Adapters translate their library's exceptions into these; the three faces (API, web, CLI)
are the only places that catch them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DocsvcError(Exception):
    """Base class: ``code`` is stable and machine-readable, ``status`` is the HTTP status."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    message_vi: ClassVar[str] = "Lỗi hệ thống."
    message_en: ClassVar[str] = "Internal error."

    def __init__(
        self,
        message_vi: str | None = None,
        message_en: str | None = None,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.text_vi = message_vi or self.message_vi
        self.text_en = message_en or self.message_en
        self.details = details or {}
        super().__init__(self.text_en)

    def message(self, lang: str = "vi") -> str:
        """Return the message in ``lang`` (``vi`` or ``en``)."""
        return self.text_en if lang == "en" else self.text_vi

    def to_dict(self, lang: str = "vi") -> dict[str, Any]:
        """Return the one error shape of the API."""
        return {"error": {"code": self.code, "message": self.message(lang), "details": self.details}}


class ConfigError(DocsvcError):
    code = "config_invalid"
    message_vi = "Cấu hình không hợp lệ."
    message_en = "Invalid configuration."


# -- 4xx ---------------------------------------------------------------------------------------


class BadRequestError(DocsvcError):
    code = "bad_request"
    status = 400
    message_vi = "Yêu cầu không hợp lệ."
    message_en = "Bad request."


class NestingTooDeepError(BadRequestError):
    """JSON (or XML) nested deeper than any real payload: refused before it reaches a parser's
    recursion limit."""

    code = "nesting_too_deep"
    message_vi = "Dữ liệu JSON lồng nhau quá sâu."
    message_en = "The JSON is nested too deeply."


class InvalidMetadataError(BadRequestError):
    """``details["fields"]`` lists every bad field at once."""

    code = "invalid_metadata"
    message_vi = "Siêu dữ liệu văn bản không hợp lệ."
    message_en = "Invalid document metadata."


class AuthenticationError(DocsvcError):
    code = "unauthorized"
    status = 401
    message_vi = "Cần xác thực: thiếu hoặc sai mã truy cập."
    message_en = "Authentication required: missing or invalid token."


class PermissionDeniedError(DocsvcError):
    code = "forbidden"
    status = 403
    message_vi = "Bạn không có quyền thực hiện thao tác này."
    message_en = "You are not allowed to do this."


class NotFoundError(DocsvcError):
    code = "not_found"
    status = 404
    message_vi = "Không tìm thấy."
    message_en = "Not found."


class ConflictError(DocsvcError):
    code = "conflict"
    status = 409
    message_vi = "Xung đột với trạng thái hiện tại."
    message_en = "Conflicts with the current state."


class ContentRevokedError(DocsvcError):
    """The version's content was removed (revocation or agreed take-back); its metadata stays."""

    code = "content_revoked"
    status = 410
    message_vi = "Nội dung văn bản đã bị thu hồi (đã xóa); chỉ còn siêu dữ liệu."
    message_en = "The document's content was revoked (deleted); only its metadata remains."


class PayloadTooLargeError(DocsvcError):
    code = "payload_too_large"
    status = 413
    message_vi = "Tệp hoặc yêu cầu vượt quá dung lượng cho phép."
    message_en = "The file or request is too large."


class UnsupportedMediaTypeError(DocsvcError):
    code = "unsupported_media_type"
    status = 415
    message_vi = "Định dạng tệp không được hỗ trợ."
    message_en = "Unsupported media type."


class UnprocessableError(DocsvcError):
    code = "unprocessable"
    status = 422
    message_vi = "Không xử lý được nội dung gửi lên."
    message_en = "The content cannot be processed."


class InvalidPdfError(UnprocessableError):
    code = "invalid_pdf"
    message_vi = "Tệp PDF bị hỏng hoặc không đọc được."
    message_en = "The PDF is damaged or unreadable."


# -- 5xx ---------------------------------------------------------------------------------------


class StorageUnavailableError(DocsvcError):
    code = "storage_unavailable"
    status = 503
    message_vi = "Kho lưu trữ tệp tạm thời không truy cập được; chưa có gì được lưu."
    message_en = "File storage is unavailable; nothing was stored."


class DatabaseUnavailableError(DocsvcError):
    code = "database_unavailable"
    status = 503
    message_vi = "Cơ sở dữ liệu tạm thời không truy cập được; chưa có gì được lưu."
    message_en = "The database is unavailable; nothing was stored."


class BlobMissingError(DocsvcError):
    code = "blob_missing"
    status = 500
    message_vi = "Không tìm thấy nội dung tệp trong kho lưu trữ."
    message_en = "The stored bytes are missing."


class BlobCorruptedError(DocsvcError):
    code = "blob_corrupted"
    status = 500
    message_vi = "Nội dung tệp trong kho lưu trữ bị sai lệch (mã băm không khớp)."
    message_en = "The stored bytes are corrupted (hash mismatch)."
