"""Errors of the signing capability; each maps one pyHanko or key-source failure to a stable
code, an HTTP status and a message in Vietnamese and English.
"""

from __future__ import annotations

import logging

from docsvc.errors import ConflictError, DocsvcError, InvalidPdfError, UnprocessableError

REASONS_VI = {
    "expired": "chứng thư số đã hết hạn",
    "not_yet_valid": "chứng thư số chưa có hiệu lực",
    "revoked": "chứng thư số đã bị thu hồi",
    "wrong_key_usage": "chứng thư số không được phép dùng để ký số",
    "untrusted": "không xây dựng được đường dẫn tin cậy tới CA gốc",
    "revocation_unknown": "không xác định được trạng thái thu hồi của chứng thư số",
}
REASONS_EN = {
    "expired": "the certificate has expired",
    "not_yet_valid": "the certificate is not yet valid",
    "revoked": "the certificate has been revoked",
    "wrong_key_usage": "the certificate's key usage does not allow signing",
    "untrusted": "no trusted path to a root CA",
    "revocation_unknown": "the certificate's revocation status cannot be determined",
}


class SigningError(DocsvcError):
    code = "signing_failed"
    status = 500
    message_vi = ("Không ký số được văn bản do một lỗi không lường trước của bộ ký; văn bản "
                  "chưa bị thay đổi. Hãy thử lại; nếu vẫn lỗi, báo quản trị hệ thống kèm thời "
                  "điểm ký.")
    message_en = ("The document could not be signed (an unexpected signer failure); nothing "
                  "was changed. Try again; if it fails again, tell the administrator when.")


class UnsupportedAlgorithmError(SigningError):
    code = "unsupported_algorithm"
    status = 422
    message_vi = "Thuật toán băm không được phép; dùng SHA-256 trở lên (không dùng SHA-1)."
    message_en = "Digest algorithm not allowed; use SHA-256 or stronger (never SHA-1)."


class CertificateRejectedError(SigningError):
    """``details["reason"]`` is one of the keys of ``REASONS_EN``."""

    code = "certificate_rejected"
    status = 422
    message_vi = "Chứng thư số của người ký không hợp lệ."
    message_en = "The signer's certificate is not acceptable."

    def __init__(self, reason: str, *, subject: str = "", extra: str = "") -> None:
        vi = (f"Từ chối ký: {REASONS_VI.get(reason, reason)}. Hãy liên hệ tổ chức cung cấp "
              "dịch vụ chứng thực chữ ký số để cấp lại hoặc gia hạn chứng thư số.")
        en = (f"Signing refused: {REASONS_EN.get(reason, reason)}. Ask the certification "
              "service provider to renew or reissue the certificate.")
        details = {"reason": reason, "subject": subject}
        if extra:  # the certificate library's own words: for the log, not for the person
            logging.getLogger(__name__).info("certificate rejected (%s): %s", reason, extra)
        super().__init__(vi, en, details=details)


class TimestampUnavailableError(SigningError):
    code = "tsa_unavailable"
    status = 503
    message_vi = ("Máy chủ cấp dấu thời gian không phản hồi; văn bản chưa được ký. Hãy thử lại "
                  "sau ít phút, hoặc cho phép ký ở mức thấp hơn (allow_lower_level).")
    message_en = ("The timestamp authority is unavailable; nothing was signed. Try again in a "
                  "few minutes, or allow a lower level (allow_lower_level).")


class RevocationUnavailableError(SigningError):
    code = "revocation_unavailable"
    status = 503
    message_vi = ("Không lấy được thông tin thu hồi (OCSP/CRL); văn bản chưa được ký. Hãy thử "
                  "lại sau ít phút; nếu kéo dài, báo quản trị hệ thống kiểm tra kết nối mạng.")
    message_en = ("Revocation information (OCSP/CRL) is unavailable; nothing was signed. Try "
                  "again in a few minutes; if it lasts, ask the administrator to check the "
                  "network.")


class EncryptedPdfError(UnprocessableError):
    code = "encrypted_pdf"
    message_vi = "Tệp PDF được mã hóa; hãy gỡ mật khẩu trước khi ký."
    message_en = "The PDF is encrypted; remove its password before signing."


class DamagedPdfError(InvalidPdfError):
    """Raised for unreadable PDFs (code ``invalid_pdf``)."""

    message_vi = ("Tệp PDF bị hỏng hoặc trình ký số không đọc được; văn bản chưa được ký. Hãy "
                  "xuất lại tệp PDF (in ra PDF) rồi tải lên bản mới.")
    message_en = ("The PDF is damaged or the signer cannot read it; nothing was signed. Export "
                  "it again (print to PDF) and upload the new file.")


class PlacementError(UnprocessableError):
    code = "signature_placement"
    message_vi = ("Không xác định được vị trí đặt chữ ký trên văn bản; hãy xem trước vị trí "
                  "(dry_run) và chỉ ra trang và khung chữ ký.")
    message_en = ("Cannot find where to place the signature on the document; preview it "
                  "(dry_run) and give the page and box.")


class SignerUnavailableError(SigningError):
    code = "signer_unavailable"
    status = 503
    message_vi = ("Không mở được khóa ký (tệp PKCS#12 hoặc thiết bị ký); văn bản chưa được "
                  "ký. Kiểm tra thiết bị ký đã cắm và đúng mã PIN, hoặc báo quản trị viên hồ sơ "
                  "ký số.")
    message_en = ("The signing key (PKCS#12 file or token) cannot be opened; nothing was "
                  "signed. Check that the token is plugged in and the PIN is right, or ask the "
                  "signer profiles' administrator.")


class WrongPinError(SignerUnavailableError):
    code = "wrong_pin"
    status = 422
    message_vi = "Mã PIN hoặc mật khẩu của khóa ký không đúng."
    message_en = "Wrong PIN or passphrase for the signing key."


class AlreadySignedError(ConflictError):
    code = "already_signed"
    message_vi = "Văn bản đã được ký số bởi cơ quan; không ký lại."
    message_en = "The document already carries the agency signature; it is not signed again."
