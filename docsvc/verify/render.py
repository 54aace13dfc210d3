"""Human reports of a verification: an HTML page and a printable PDF, in Vietnamese
(English available), showing what Thông tư 15/2025 asks a verifier to show.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, select_autoescape

from docsvc.verify.report import DocumentReport, Indication, SignatureReport, nfc

VN_TZ = timezone(timedelta(hours=7))
FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
_TEMPLATES = Path(__file__).parent / "templates"

LABELS: dict[str, dict[str, Any]] = {
    "vi": {
        "title": "BÁO CÁO KIỂM TRA CHỮ KÝ SỐ",
        "file": "Tệp (SHA-256)", "size": "Kích thước", "checked_at": "Thời điểm kiểm tra",
        "verdict": "Kết luận chung", "signature": "Chữ ký", "doc_ts": "Dấu thời gian tài liệu",
        "result": "Kết quả", "signer": "Người ký", "organisation": "Tổ chức",
        "position": "Chức danh", "issuer": "Tổ chức cung cấp dịch vụ chứng thực (CA phát hành)",
        "serial": "Số hiệu chứng thư", "cert_validity": "Thời hạn hiệu lực của chứng thư",
        "signing_time": "Thời điểm ký (người ký khai báo)", "timestamp": "Dấu thời gian",
        "integrity": "Tính toàn vẹn", "valid_at_signing": "Hiệu lực chứng thư tại thời điểm ký",
        "trust": "Chứng thư gốc tin cậy", "coverage": "Phạm vi được ký",
        "changes": "Thay đổi sau khi ký", "level": "Mức PAdES", "algorithms": "Thuật toán",
        "revocation": "Tình trạng thu hồi", "notes": "Ghi chú", "none": "không có",
        "from_to": "từ {a} đến {b}", "by": "do", "no_signature": "Tệp không có chữ ký số.",
        "intact": "Nguyên vẹn: nội dung được ký không bị thay đổi",
        "not_intact": "KHÔNG nguyên vẹn: nội dung đã bị thay đổi",
        "unknown": "Không xác định", "valid": "Còn hiệu lực", "invalid": "Không còn hiệu lực",
        "untrusted": "Không tin cậy (không có chuỗi đến chứng thư gốc tin cậy)",
        "whole_file": "Toàn bộ tệp", "revision": "Đến lần lưu tệp thứ {n}/{t} (tệp được lưu thêm sau đó)",
        "unclear": "Không rõ ràng",
        "rev_status": {"good": "Chưa bị thu hồi", "revoked": "ĐÃ BỊ THU HỒI",
                       "unknown": "Không xác định", "not_applicable": "Không áp dụng"},
        "rev_origin": {"embedded": "nhúng trong tệp", "trust-store": "kho tin cậy",
                       "fetched": "tra cứu trực tuyến"},
        "indication": {"TOTAL_PASSED": "HỢP LỆ", "TOTAL_FAILED": "KHÔNG HỢP LỆ",
                       "INDETERMINATE": "CHƯA XÁC ĐỊNH ĐƯỢC"},
    },
    "en": {
        "title": "DIGITAL SIGNATURE VERIFICATION REPORT",
        "file": "File (SHA-256)", "size": "Size", "checked_at": "Checked at",
        "verdict": "Overall verdict", "signature": "Signature", "doc_ts": "Document timestamp",
        "result": "Result", "signer": "Signer", "organisation": "Organisation",
        "position": "Position", "issuer": "Issuing certification authority",
        "serial": "Certificate serial", "cert_validity": "Certificate validity period",
        "signing_time": "Signing time (claimed)", "timestamp": "Timestamp",
        "integrity": "Integrity", "valid_at_signing": "Certificate valid at signing time",
        "trust": "Trust anchor", "coverage": "Signed scope",
        "changes": "Changes after signing", "level": "PAdES level", "algorithms": "Algorithms",
        "revocation": "Revocation status", "notes": "Notes", "none": "none",
        "from_to": "from {a} to {b}", "by": "by", "no_signature": "The file has no signature.",
        "intact": "Intact: the signed content is unchanged",
        "not_intact": "NOT intact: the content was changed",
        "unknown": "Unknown", "valid": "Valid", "invalid": "Not valid",
        "untrusted": "Not trusted (no chain to a trusted root)",
        "whole_file": "The whole file",
        "revision": "Up to file revision {n} of {t} (the file was saved again later)",
        "unclear": "Unclear",
        "rev_status": {"good": "Not revoked", "revoked": "REVOKED", "unknown": "Unknown",
                       "not_applicable": "Not applicable"},
        "rev_origin": {"embedded": "embedded in the file", "trust-store": "trust store",
                       "fetched": "fetched online"},
        "indication": {"TOTAL_PASSED": "VALID", "TOTAL_FAILED": "INVALID",
                       "INDETERMINATE": "INDETERMINATE"},
    },
}


def fmt_time(value: datetime | None) -> str:
    """Format a time as ISO 8601 in Vietnam time, e.g. 2018-06-19T15:04:05+07:00."""
    if value is None:
        return "—"
    return value.astimezone(VN_TZ).replace(microsecond=0).isoformat()


def plain_time(value: datetime | None, lang: str) -> str:
    """Format a time for a sentence: ``10:15:54 ngày 06/12/2026`` (Vietnam time)."""
    if value is None:
        return "—"
    local = value.astimezone(VN_TZ)
    return local.strftime("%H:%M:%S on %d/%m/%Y" if lang == "en" else "%H:%M:%S ngày %d/%m/%Y")


_COMMON_NAME = re.compile(r"Common Name: ([^,]+)")


def short_name(name: str | None) -> str | None:
    """Return the common name of a distinguished name written out ("Common Name: X, …")."""
    if not name:
        return name
    match = _COMMON_NAME.search(name)
    return match.group(1) if match else name


def signature_rows(sig: SignatureReport, lang: str) -> list[tuple[str, str]]:
    """Return the (label, value) rows shown for one signature."""
    lab = LABELS[lang]
    result = lab["indication"][str(sig.indication)]
    if sig.sub_indication:
        result += f" ({sig.sub_indication})"
    rows = [(lab["result"], result)]
    cert = sig.signer
    if cert is not None:
        rows += [
            (lab["signer"], cert.common_name or cert.subject),
            (lab["organisation"], cert.organisation or "—"),
            (lab["position"], cert.title or "—"),
            (lab["issuer"], cert.issuer_common_name or cert.issuer),
            (lab["serial"], cert.serial_hex),
            (lab["cert_validity"], lab["from_to"].format(a=fmt_time(cert.not_before),
                                                        b=fmt_time(cert.not_after))),
        ]
    rows.append((lab["signing_time"], fmt_time(sig.signing_time)))
    if sig.timestamp_time is not None:
        rows.append((lab["timestamp"], f"{fmt_time(sig.timestamp_time)} {lab['by']} "
                                       f"{short_name(sig.timestamp_authority) or '—'}"))
    if sig.intact is not None:
        rows.append((lab["integrity"], lab["intact"] if sig.intact and sig.crypto_valid
                     else lab["not_intact"]))
    rows.append((lab["valid_at_signing"], _valid_at_signing(sig, lab)))
    rows.append((lab["trust"], cast(str, short_name(sig.trust_anchor)) + (f" [{sig.trust_set}]"
                                                                       if sig.trust_set else "")
                 if sig.trust_anchor
                 else lab["untrusted"]))
    rows.append((lab["coverage"], _coverage(sig, lab)))
    level = sig.modification_level
    changes = f"{MODIFICATIONS[lang].get(level, level)} ({level})" if level else "—"
    if sig.changed_fields:
        changes += ": " + ", ".join(sig.changed_fields)
    rows.append((lab["changes"], changes))
    rows.append((lab["level"], sig.level or "—"))
    rows.append((lab["algorithms"], " / ".join(x for x in (
        sig.digest_algorithm, sig.signature_algorithm,
        f"{cert.key_type.upper()} {cert.key_bits} bit" if cert else None) if x) or "—"))
    if sig.revocation is not None:
        rev = sig.revocation
        text = lab["rev_status"].get(rev.status, rev.status)
        if rev.source:
            origin = lab["rev_origin"].get(rev.origin or "", rev.origin)
            text += f" ({rev.source}, {origin}, {fmt_time(rev.issued_at)})"
        rows.append((lab["revocation"], text))
    return [(k, nfc(v)) for k, v in rows]


def _valid_at_signing(sig: SignatureReport, lab: dict) -> str:
    at = sig.timestamp_time or sig.signing_time
    if sig.signer is None or at is None:
        return lab["unknown"]
    in_period = sig.signer.not_before <= at <= sig.signer.not_after
    revoked = sig.revocation is not None and sig.revocation.status == "revoked" and (
        sig.revocation.revocation_time is None or sig.revocation.revocation_time <= at)
    if not in_period or revoked:
        return lab["invalid"]
    return lab["valid"] if sig.trust_anchor else lab["untrusted"]


def _coverage(sig: SignatureReport, lab: dict) -> str:
    if sig.coverage == "ENTIRE_FILE":
        return lab["whole_file"]
    if sig.coverage == "ENTIRE_REVISION" and sig.revision is not None:
        return lab["revision"].format(n=sig.revision + 1, t=sig.revisions_total or "?")
    return lab["unclear"] if sig.coverage else "—"


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(_TEMPLATES),
                       autoescape=select_autoescape(["html"]))


_SIGNATURE_FIELD = re.compile(r"^Sig_(person|agency|attachment|copy)_\d+$")

PLAIN = {
    "vi": {
        "doc_valid": "Tệp hợp lệ: {n} chữ ký số đều đúng, nội dung không bị thay đổi sau khi ký và "
                     "chứng thư số của người ký do tổ chức chứng thực tin cậy cấp.",
        "doc_tampered": "Tệp KHÔNG hợp lệ: nội dung đã bị thay đổi sau khi ký. Chữ ký không còn "
                        "bảo đảm nội dung này; lỗi nằm ở tệp, không phải ở tổ chức cấp chứng thư.",
        "doc_invalid": "Tệp KHÔNG hợp lệ: có chữ ký số không đúng (xem từng chữ ký bên dưới).",
        "doc_indeterminate": "Chưa khẳng định được tệp hợp lệ: nội dung không bị thay đổi, nhưng "
                             "chưa xác nhận được chứng thư số (xem từng chữ ký bên dưới).",
        "doc_unreadable": "Không đọc được tệp như một tệp PDF có chữ ký số.",
        "doc_unsigned": "Không có chữ ký số: tệp này không mang chữ ký số nào, nên không xác nhận "
                        "được ai đã ký và nội dung có bị thay đổi hay không.",
        "person": "Chữ ký số cá nhân", "agency": "Chữ ký số của cơ quan (con dấu số)",
        "attachment": "Chữ ký số trên phụ lục", "copy": "Chữ ký số sao văn bản",
        "timestamp_doc": "Dấu thời gian của tài liệu",
        "of": "của {who}", "at_ts": "lúc {t} (giờ Việt Nam, theo dấu thời gian tin cậy)",
        "at_claimed": "lúc {t} (giờ Việt Nam, theo đồng hồ máy người ký, không có dấu thời gian)",
        "unchanged": "nội dung không bị thay đổi sau khi ký",
        "unchanged_later": "nội dung được ký không bị thay đổi (sau đó chỉ thêm chữ ký hoặc dữ liệu "
                           "kiểm tra, được phép)",
        "changed": "nội dung ĐÃ BỊ THAY ĐỔI sau khi ký",
        "changed_later": "tệp đã bị sửa sau khi ký theo cách không được phép",
        "trusted": "chứng thư số do {issuer} cấp, thuộc tổ chức chứng thực tin cậy và còn hiệu lực "
                   "tại thời điểm ký",
        "trusted_not_valid": "chứng thư số do {issuer} cấp nhưng KHÔNG còn hiệu lực tại thời điểm "
                             "ký (hết hạn hoặc bị thu hồi)",
        "not_trusted": "chứng thư số do {issuer} cấp KHÔNG thuộc tổ chức chứng thực nào mà hệ thống "
                       "tin cậy",
        "not_checked": "chứng thư số không cần xét vì nội dung đã bị thay đổi",
        "revoked_cert": "chứng thư số ĐÃ BỊ THU HỒI",
        "ts_by": "do {tsa} cấp {at}", "ts_ok": "tài liệu không bị thay đổi từ đó",
        "unknown_issuer": "tổ chức không rõ", "unknown_signer": "người ký không rõ",
        "header": "Văn bản", "number": "Số, ký hiệu", "abstract": "Trích yếu",
        "version": "Phiên bản được kiểm tra", "back": "Quay lại văn bản", "print": "In báo cáo",
        "details": "Chi tiết kỹ thuật (chỉ dẫn ETSI, chứng thư, các lần lưu tệp)",
        "doc_details": "Chi tiết kỹ thuật của tệp", "signatures": "Các chữ ký",
        "etsi": "Chỉ dẫn ETSI EN 319 102-1", "field": "Trường chữ ký trong tệp",
        "file_name": "Tệp",
    },
    "en": {
        "doc_valid": "The file is valid: its {n} signature(s) are correct, the content has not "
                     "changed since signing, and the signers' certificates come from a trusted "
                     "certification authority.",
        "doc_tampered": "The file is NOT valid: its content was changed after signing. The "
                        "signature no longer vouches for it; the fault lies with the file, not "
                        "with the certification authority.",
        "doc_invalid": "The file is NOT valid: a signature is not correct (see each signature "
                       "below).",
        "doc_indeterminate": "The file cannot be confirmed valid yet: the content is unchanged, "
                             "but a certificate could not be confirmed (see each signature below).",
        "doc_unreadable": "The file cannot be read as a signed PDF.",
        "doc_unsigned": "No digital signature: the file carries no signature, so nothing tells "
                        "who signed it or whether its content changed.",
        "person": "Personal signature", "agency": "Agency signature (digital seal)",
        "attachment": "Signature on an annex", "copy": "Signature of a copy",
        "timestamp_doc": "Document timestamp",
        "of": "of {who}", "at_ts": "at {t} Vietnam time (trusted timestamp)",
        "at_claimed": "at {t} Vietnam time (the signer's clock; no timestamp)",
        "unchanged": "the content has not changed since signing",
        "unchanged_later": "the signed content is unchanged (only signatures or validation data "
                           "were added later, as allowed)",
        "changed": "the content WAS CHANGED after signing",
        "changed_later": "the file was modified after signing in a way that is not allowed",
        "trusted": "the certificate, issued by {issuer}, chains to a trusted certification "
                   "authority and was valid at signing time",
        "trusted_not_valid": "the certificate, issued by {issuer}, was NOT valid at signing time "
                             "(expired or revoked)",
        "not_trusted": "the certificate, issued by {issuer}, does NOT chain to any authority this "
                       "system trusts",
        "not_checked": "the certificate does not matter since the content was changed",
        "revoked_cert": "the certificate WAS REVOKED",
        "ts_by": "issued by {tsa} {at}", "ts_ok": "the document has not changed since",
        "unknown_issuer": "an unknown authority", "unknown_signer": "an unknown signer",
        "header": "Document", "number": "Number/notation", "abstract": "Subject",
        "version": "Version checked", "back": "Back to the document", "print": "Print the report",
        "details": "Technical detail (ETSI indications, certificates, file revisions)",
        "doc_details": "Technical detail of the file", "signatures": "Signatures",
        "etsi": "ETSI EN 319 102-1 indication", "field": "Signature field in the file",
        "file_name": "File",
    },
}
"""The plain sentences of the report for readers who are not experts."""

MODIFICATIONS = {
    "vi": {"NONE": "không có", "LTA_UPDATES": "chỉ thêm dữ liệu kiểm tra dài hạn (được phép)",
           "FORM_FILLING": "chỉ điền biểu mẫu hoặc thêm chữ ký (được phép)",
           "ANNOTATIONS": "thêm chú thích", "OTHER": "thay đổi khác (không được phép)"},
    "en": {"NONE": "none", "LTA_UPDATES": "only long-term validation data added (allowed)",
           "FORM_FILLING": "only form filling or further signatures (allowed)",
           "ANNOTATIONS": "annotations added", "OTHER": "other changes (not allowed)"},
}


def role_of(sig: SignatureReport, roles: Mapping[str, str] | None = None) -> str:
    """Return ``person``, ``agency``, ``attachment`` or ``copy``: the role recorded when docsvc
    signed (``roles`` by field name), else the field's name, else the certificate (an agency's
    certificate names the organisation as its holder)."""
    if roles and sig.field_name in roles:
        return roles[sig.field_name]
    match = _SIGNATURE_FIELD.match(sig.field_name or "")
    if match:
        return match.group(1)
    cert = sig.signer
    if cert is not None and cert.common_name and cert.common_name == cert.organisation:
        return "agency"
    return "person"


def _tampered(sig: SignatureReport) -> bool:
    return sig.intact is False or sig.crypto_valid is False


def _who(sig: SignatureReport, plain: dict) -> str:
    cert = sig.signer
    if cert is None:
        return plain["unknown_signer"]
    name = cert.common_name or cert.organisation or plain["unknown_signer"]
    if cert.organisation and cert.organisation != name:
        name += f" ({cert.title + ', ' if cert.title else ''}{cert.organisation})"
    elif cert.title:
        name += f" ({cert.title})"
    return name


def signature_sentence(sig: SignatureReport, lang: str, roles: Mapping[str, str] | None = None
                       ) -> str:
    """Return one plain sentence on a signature: who, in what role, when, whether the content
    changed after it, whether the certificate chains to a trusted authority and was valid then."""
    plain = PLAIN["en" if lang == "en" else "vi"]
    if sig.kind == "document_timestamp":
        at = plain["at_ts"].format(t=plain_time(sig.timestamp_time or sig.signing_time, lang))
        head = f"{plain['timestamp_doc']} " + plain["ts_by"].format(
            tsa=short_name(sig.timestamp_authority) or plain["unknown_issuer"], at=at)
        tail = plain["changed"] if _tampered(sig) else plain["ts_ok"]
        return nfc(f"{head}: {tail}.")
    role = role_of(sig, roles)
    if sig.timestamp_time is not None:
        when = plain["at_ts"].format(t=plain_time(sig.timestamp_time, lang))
    else:
        when = plain["at_claimed"].format(t=plain_time(sig.signing_time, lang))
    head = f"{plain.get(role, plain['person'])} {plain['of'].format(who=_who(sig, plain))}, {when}"
    clauses = []
    if _tampered(sig):
        clauses.append(plain["changed"])
    elif sig.modification_level in ("ANNOTATIONS", "OTHER") or sig.docmdp_ok is False:
        clauses.append(plain["changed_later"])
    elif sig.modification_level not in (None, "NONE") or (
            sig.coverage == "ENTIRE_REVISION" and sig.revisions_total):
        clauses.append(plain["unchanged_later"])
    else:
        clauses.append(plain["unchanged"])
    issuer = (sig.signer.issuer_common_name or sig.signer.issuer) if sig.signer else \
        plain["unknown_issuer"]
    revoked = sig.revocation is not None and sig.revocation.status == "revoked"
    if _tampered(sig) and not sig.trust_anchor:
        clauses.append(plain["not_checked"])  # the file is at fault, not the authority
    elif revoked:
        clauses.append(plain["revoked_cert"])
    elif sig.trust_anchor:
        valid = _valid_at_signing(sig, LABELS["en" if lang == "en" else "vi"])
        key = "trusted" if valid == LABELS["en" if lang == "en" else "vi"]["valid"] \
            else "trusted_not_valid"
        clauses.append(plain[key].format(issuer=issuer))
    else:
        clauses.append(plain["not_trusted"].format(issuer=issuer))
    return nfc(f"{head}: {'; '.join(clauses)}.")


def document_sentence(report: DocumentReport, lang: str) -> tuple[str, str]:
    """Return the report's opening sentence and its tone (``ok``, ``bad``, ``warn``, ``none``)."""
    plain = PLAIN["en" if lang == "en" else "vi"]
    signatures = [s for s in report.signatures if s.kind != "document_timestamp"]
    if report.sub_indication == "FORMAT_FAILURE" and not report.signatures:
        return plain["doc_unreadable"], "bad"
    if not signatures:
        return plain["doc_unsigned"], "none"
    if report.verdict is Indication.TOTAL_PASSED:
        return plain["doc_valid"].format(n=len(signatures)), "ok"
    if any(_tampered(s) or s.modification_level == "OTHER" for s in report.signatures):
        return plain["doc_tampered"], "bad"
    if report.verdict is Indication.TOTAL_FAILED:
        return plain["doc_invalid"], "bad"
    return plain["doc_indeterminate"], "warn"


def render_html(report: DocumentReport, lang: str = "vi", *,
                context: Mapping[str, Any] | None = None) -> str:
    """Render the report as a standalone HTML page in ``lang`` (``vi`` or ``en``): a plain
    verdict for the file and for each signature first, the technical detail folded below.

    ``context`` (all optional) names what was checked: ``number``, ``subject``, ``version`` (the
    document's version, e.g. "3 — Bản có dấu của cơ quan"), ``back_url`` and ``back_label``,
    ``other_lang_url``, ``roles`` (field name → person/agency as recorded at signing) and
    ``filename``."""
    lang = "en" if lang == "en" else "vi"
    lab, plain = LABELS[lang], PLAIN[lang]
    context = dict(context or {})
    roles = context.get("roles") or {}
    sigs = [{"title": lab["doc_ts"] if s.kind == "document_timestamp"
             else plain.get(role_of(s, roles), lab["signature"]),
             "sig": s, "rows": [(plain["etsi"], _indication(s, lab)),
                                (plain["field"], s.field_name)] + signature_rows(s, lang)[1:],
             "sentence": signature_sentence(s, lang, roles),
             "tone": "ok" if s.passed else "bad" if s.indication is Indication.TOTAL_FAILED
             else "warn",
             "notes": [nfc(n.text(lang)) for n in s.notes]} for s in report.signatures]
    sentence, tone = document_sentence(report, lang)
    doc_notes = [nfc(n.text(lang)) for n in report.notes if n.code != "NO_SIGNATURE"]
    html = _env().get_template("report.html").render(
        lang=lang, lab=lab, plain=plain, report=report, sigs=sigs, context=context,
        verdict=lab["indication"][str(report.verdict)], sentence=sentence, tone=tone,
        checked_at=fmt_time(report.validated_at), size=human_size(report.size),
        checked_plain=plain_time(report.validated_at, lang),
        doc_notes=doc_notes, passed=report.verdict is Indication.TOTAL_PASSED)
    return nfc(html)


def _indication(sig: SignatureReport, lab: dict) -> str:
    return lab["indication"][str(sig.indication)] + (
        f" ({sig.sub_indication})" if sig.sub_indication else "")


def human_size(size: int) -> str:
    """Return a size people read: ``812 B``, ``34,5 KB``, ``2,1 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB".replace(".", ",")
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


def report_lines(report: DocumentReport, lang: str = "vi") -> list[str]:
    """Return the report as plain text lines (used by the PDF rendering)."""
    lang = "en" if lang == "en" else "vi"
    lab = LABELS[lang]
    lines = [lab["title"], "",
             f"{lab['verdict']}: {lab['indication'][str(report.verdict)]}"
             + (f" ({report.sub_indication})" if report.sub_indication else ""),
             f"{lab['file']}: {report.sha256}",
             f"{lab['size']}: {report.size} B",
             f"{lab['checked_at']}: {fmt_time(report.validated_at)}"]
    lines += [f"• {n.text(lang)}" for n in report.notes]
    for sig in report.signatures:
        title = lab["doc_ts"] if sig.kind == "document_timestamp" else lab["signature"]
        lines += ["", f"{title} {sig.index + 1}: {sig.field_name}"]
        lines += [f"  {k}: {v}" for k, v in signature_rows(sig, lang)]
        if sig.notes:
            lines.append(f"  {lab['notes']}:")
            lines += [f"   • {n.text(lang)}" for n in sig.notes]
    out: list[str] = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
        out += textwrap.wrap(nfc(line), 100, subsequent_indent=indent) or [""]
    return out


def render_pdf(report: DocumentReport, lang: str = "vi") -> bytes:
    """Render the report as a printable A4 PDF with an embedded Noto Sans font."""
    from pyhanko.pdf_utils import generic, layout
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBox, TextBoxStyle
    from pyhanko.pdf_utils.writer import BasePdfFileWriter, PdfFileWriter

    font_bytes = FONT_PATH.read_bytes()

    class _InMemoryFont(GlyphAccumulatorFactory):
        # pyHanko opens the font file and never closes it; hand it bytes instead
        def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: Any = None) -> GlyphAccumulator:
            return GlyphAccumulator(writer=writer, font_handle=BytesIO(font_bytes),
                                    font_size=self.font_size, obj_stream=obj_stream)

    writer = PdfFileWriter()
    factory = _InMemoryFont(str(FONT_PATH))
    lines = report_lines(report, lang)
    per_page = 62
    for start in range(0, max(len(lines), 1), per_page):
        style = TextBoxStyle(font=factory, font_size=9, leading=12)
        box = TextBox(style, writer=writer,
                      box=layout.BoxConstraints(width=515, height=per_page * 12 + 10))
        box.content = "\n".join(lines[start : start + per_page])
        ops = box.render()
        stream = generic.StreamObject(stream_data=b"q 1 0 0 1 40 40 cm " + ops + b" Q")
        page = generic.DictionaryObject({
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(x) for x in (0, 0, 595, 842)]),
            generic.pdf_name("/Contents"): writer.add_object(stream),
            generic.pdf_name("/Resources"): box.resources.as_pdf_object(),
        })
        writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
