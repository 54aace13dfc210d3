"""Human reports of a verification: an HTML page and a printable PDF, in Vietnamese
(English available), showing what Thông tư 15/2025 asks a verifier to show.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

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
        "whole_file": "Toàn bộ tệp", "revision": "Phiên bản {n}/{t} (có phiên bản sau)",
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
        "whole_file": "The whole file", "revision": "Revision {n}/{t} (later revisions exist)",
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
                                       f"{sig.timestamp_authority or '—'}"))
    if sig.intact is not None:
        rows.append((lab["integrity"], lab["intact"] if sig.intact and sig.crypto_valid
                     else lab["not_intact"]))
    rows.append((lab["valid_at_signing"], _valid_at_signing(sig, lab)))
    rows.append((lab["trust"], sig.trust_anchor + (f" [{sig.trust_set}]" if sig.trust_set
                                                  else "") if sig.trust_anchor
                 else lab["untrusted"]))
    rows.append((lab["coverage"], _coverage(sig, lab)))
    changes = sig.modification_level or "—"
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


def render_html(report: DocumentReport, lang: str = "vi") -> str:
    """Render the report as a standalone HTML page in ``lang`` (``vi`` or ``en``)."""
    lang = "en" if lang == "en" else "vi"
    lab = LABELS[lang]
    sigs = [{"title": lab["doc_ts"] if s.kind == "document_timestamp" else lab["signature"],
             "sig": s, "rows": signature_rows(s, lang),
             "notes": [nfc(n.text(lang)) for n in s.notes]} for s in report.signatures]
    html = _env().get_template("report.html").render(
        lang=lang, lab=lab, report=report, sigs=sigs,
        verdict=lab["indication"][str(report.verdict)],
        checked_at=fmt_time(report.validated_at),
        doc_notes=[nfc(n.text(lang)) for n in report.notes],
        passed=report.verdict is Indication.TOTAL_PASSED)
    return nfc(html)


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
