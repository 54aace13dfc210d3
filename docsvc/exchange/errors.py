"""Errors of the edXML capability: malformed or hostile XML, limits, schema and signature failures.

Every class keeps the stable ``code`` / HTTP status contract of :mod:`docsvc.errors`.
"""

from __future__ import annotations

from docsvc.errors import (
    DocsvcError,
    InvalidMetadataError,
    PayloadTooLargeError,
    UnprocessableError,
)


class EdxmlError(UnprocessableError):
    """Base class of every problem found in an edXML package (HTTP 422)."""

    code = "edxml_invalid"
    message_vi = "Gói tin edXML không hợp lệ."
    message_en = "Invalid edXML package."


class XmlMalformedError(EdxmlError):
    """The bytes are not well-formed, namespace-well-formed XML."""

    code = "xml_malformed"
    message_vi = "Nội dung XML bị lỗi cú pháp (không đúng định dạng XML)."
    message_en = "The XML is not well-formed."


class XmlForbiddenConstructError(EdxmlError):
    """A DOCTYPE, entity declaration or external reference: never accepted.

    ``details["construct"]`` is one of ``doctype``, ``external_dtd``, ``entity_declaration``,
    ``external_entity``.
    """

    code = "xml_forbidden_construct"
    message_vi = "Gói tin chứa khai báo DTD/thực thể XML bị cấm (nguy cơ tấn công)."
    message_en = "The XML contains a forbidden DTD or entity declaration."


class XmlTooLargeError(PayloadTooLargeError):
    """The package is larger than the configured limit (HTTP 413)."""

    code = "xml_too_large"
    message_vi = "Gói tin edXML vượt quá dung lượng cho phép."
    message_en = "The edXML package is too large."


class AttachmentTooLargeError(PayloadTooLargeError):
    """One decoded (or unzipped) attachment is larger than the configured limit (HTTP 413)."""

    code = "attachment_too_large"
    message_vi = "Tệp đính kèm vượt quá dung lượng cho phép."
    message_en = "An attachment is too large."


class XmlTooDeepError(EdxmlError):
    code = "xml_too_deep"
    message_vi = "Cấu trúc XML lồng nhau quá sâu."
    message_en = "The XML is nested too deeply."


class XmlTooManyElementsError(EdxmlError):
    code = "xml_too_many_elements"
    message_vi = "Gói tin XML có quá nhiều phần tử."
    message_en = "The XML has too many elements."


class XmlTextTooLongError(EdxmlError):
    code = "xml_text_too_long"
    message_vi = "Một trường văn bản trong XML dài quá mức cho phép."
    message_en = "A text node in the XML is too long."


class EdxmlSchemaError(EdxmlError):
    """The package does not have the edXML structure; ``details["violations"]`` lists each."""

    code = "edxml_schema_invalid"
    message_vi = "Gói tin không đúng cấu trúc edXML (QCVN 102:2016)."
    message_en = "The package does not match the edXML structure (QCVN 102:2016)."


class EdxmlBuildError(InvalidMetadataError):
    """The values given cannot make a valid package; ``details["fields"]`` lists every problem."""

    code = "edxml_build_invalid"
    message_vi = "Thiếu hoặc sai thông tin để tạo gói tin edXML."
    message_en = "Missing or invalid values for building the edXML package."


class XmlSignatureInvalidError(EdxmlError):
    """Raised by callers that refuse a package whose XML signature did not verify."""

    code = "xml_signature_invalid"
    message_vi = "Chữ ký số XML của gói tin không hợp lệ."
    message_en = "The XML signature of the package is invalid."


class XmlSigningError(DocsvcError):
    """The package could not be signed (bad key, certificate or algorithm): a server-side fault."""

    code = "xml_signing_failed"
    status = 500
    message_vi = "Không ký số được gói tin edXML (khóa, chứng thư hoặc thuật toán không phù hợp)."
    message_en = "The edXML package could not be signed (key, certificate or algorithm)."


class SchemaUnavailableError(DocsvcError):
    """The XSD folder is missing or unreadable: a deployment fault."""

    code = "edxml_schema_unavailable"
    status = 500
    message_vi = "Không nạp được lược đồ XSD của edXML."
    message_en = "The edXML XSD schemas cannot be loaded."
