"""Texts people read about a verification (Vietnamese first, English available), as Notes."""

from __future__ import annotations

from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.diff_analysis.policy_api import SuspiciousModification

from docsvc.verify.report import Note, Severity, nfc

_PRODUCER_CAVEAT_VI = (
    "Lưu ý cho kiểm toán viên: bộ phân tích thay đổi của pyHanko rất thận trọng; một số phần mềm "
    "ký khác (Acrobat Pro, PDF-XChange) khi thêm chữ ký sau có ghi lại các đối tượng không liên "
    "quan (siêu dữ liệu XMP, tài nguyên trang, hình hiển thị của trường khác), khiến tệp hợp lệ "
    "cũng bị đánh dấu 'đã sửa đổi'. Hãy đối chiếu chi tiết bên dưới và xem bản đã ký."
)
_PRODUCER_CAVEAT_EN = (
    "Note for auditors: pyHanko's change analysis is conservative; some other signing products "
    "(Acrobat Pro, PDF-XChange) rewrite unrelated objects (XMP metadata, page resources, other "
    "fields' appearances) when adding a later signature, so legitimate files can be flagged "
    "'modified'. Compare the detail below and open the signed revision."
)


def note(code: str, severity: Severity, text_vi: str, text_en: str) -> Note:
    """Build a Note with its Vietnamese text in NFC."""
    return Note(code, severity, nfc(text_vi), text_en)


def library_error(exc: BaseException, action_vi: str, action_en: str) -> Note:
    """Describe a library exception as a FORMAT_FAILURE cause."""
    cause = f"{type(exc).__name__}: {str(exc)[:300]}"
    return note("FORMAT_FAILURE_CAUSE", Severity.ERROR,
                f"Lỗi định dạng khi {action_vi}: {cause}",
                f"Format failure while {action_en}: {cause}")


ISSUE_FIELDS = frozenset({"docsvc_so", "docsvc_ngay", "docsvc_thang", "docsvc_nam"})
"""The number/date fields written at issuance (``docsvc.signing.issuance.ISSUE_FIELDS``)."""


def _only_issuance(changed: object) -> bool:
    names = {str(n) for n in changed}  # type: ignore[attr-defined]
    filled = names & ISSUE_FIELDS
    return bool(filled) and all(n in ISSUE_FIELDS or n.startswith("Sig_") for n in names)


def modification_notes(diff: DiffResult | SuspiciousModification | None) -> list[Note]:
    """Explain what changed after a signature (pyHanko's modification analysis)."""
    if diff is None:
        return []
    if isinstance(diff, SuspiciousModification):
        detail = str(diff)[:500]
        return [note("MODIFICATION_OTHER", Severity.ERROR,
                     f"Có thay đổi không được phép sau khi ký: {detail}. {_PRODUCER_CAVEAT_VI}",
                     f"Disallowed changes after signing: {detail}. {_PRODUCER_CAVEAT_EN}")]
    level = diff.modification_level
    fields = ", ".join(sorted(diff.changed_form_fields)) or "—"
    if level == ModificationLevel.NONE:
        return []
    if level == ModificationLevel.LTA_UPDATES:
        return [note("MODIFICATION_LTA", Severity.INFO,
                     "Sau khi ký chỉ bổ sung dữ liệu xác thực dài hạn (DSS, dấu thời gian tài "
                     "liệu).",
                     "Only long-term validation data (DSS, document timestamps) was added "
                     "after signing.")]
    if level == ModificationLevel.FORM_FILLING and _only_issuance(diff.changed_form_fields):
        return [note("ISSUE_FIELDS_FILLED", Severity.INFO,
                     f"Sau khi ký chỉ ghi số và ngày ban hành vào các ô của văn bản ({fields}; "
                     "ô chữ ký mới là chữ ký sau). Thay đổi này được phân loại là điền biểu mẫu "
                     "(FORM_FILLING), được phép với chữ ký này; nội dung khác không đổi.",
                     f"After signing, only the number and date of issuance were written into "
                     f"their fields ({fields}; new signature fields are later signatures). The "
                     "change is classified as form filling (FORM_FILLING), which this "
                     "signature allows; nothing else changed.")]
    if level == ModificationLevel.FORM_FILLING:
        return [note("MODIFICATION_FORM_FILLING", Severity.WARNING,
                     f"Sau khi ký có điền/sửa trường biểu mẫu hoặc thêm chữ ký ({fields}). Điều "
                     "này được phép, nhưng giá trị hiển thị có thể khác lúc ký: hãy xem bản "
                     "đã ký.",
                     f"Form fields were filled or signatures added after signing ({fields}). "
                     "This is allowed, but what is shown may differ from what was signed: "
                     "open the signed revision.")]
    if level == ModificationLevel.ANNOTATIONS:
        return [note("MODIFICATION_ANNOTATIONS", Severity.WARNING,
                     f"Sau khi ký có thêm/sửa chú thích ({fields}); chú thích có thể che nội "
                     "dung: hãy xem bản đã ký.",
                     f"Annotations were added or changed after signing ({fields}); they may "
                     "cover content: open the signed revision.")]
    return [note("MODIFICATION_OTHER", Severity.ERROR,
                 f"Có thay đổi không được phép sau khi ký. {_PRODUCER_CAVEAT_VI}",
                 f"Disallowed changes after signing. {_PRODUCER_CAVEAT_EN}")]
