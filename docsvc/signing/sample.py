"""Write the sample notice (Thông báo 185/TB-UBND) as a one-page PDF with pyHanko's own writer
and the bundled Noto Sans font; used by tests, the benchmark and demos.
"""

from __future__ import annotations

from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from docsvc.signing.appearance import font_factory

A4 = (595.0, 842.0)
SIGNER_NAME = "Nguyễn Quốc Việt"

# (text, font size, alignment, x anchor, baseline y); x anchor is the centre for "c".
_LINES: tuple[tuple[str, int, str, float, float], ...] = (
    ("UBND TỈNH QUẢNG NGÃI", 12, "c", 150, 790),
    ("VĂN PHÒNG", 12, "c", 150, 774),
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, "c", 400, 790),
    ("Độc lập - Tự do - Hạnh phúc", 12, "c", 400, 774),
    ("Số: 185/TB-UBND", 12, "c", 150, 745),
    ("Quảng Ngãi, ngày 19 tháng 6 năm 2018", 11, "c", 400, 745),
    ("THÔNG BÁO", 14, "c", 297, 700),
    ("Kết luận của Phó Chủ tịch UBND tỉnh tại cuộc họp về công tác văn thư", 12, "c", 297, 680),
    ("Văn phòng UBND tỉnh thông báo kết luận của Phó Chủ tịch UBND tỉnh như sau:", 11, "l", 70,
     640),
    ("1. Các sở, ban, ngành và UBND các xã thực hiện ký số văn bản điện tử theo", 11, "l", 70,
     620),
    ("Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ.", 11, "l", 70, 604),
    ("2. Văn thư cơ quan đóng dấu, ký số của cơ quan trước khi phát hành văn bản.", 11, "l",
     70, 584),
    ("Văn phòng UBND tỉnh thông báo để các cơ quan, đơn vị biết, thực hiện./.", 11, "l", 70,
     564),
    ("Nơi nhận:", 10, "l", 70, 500),
    ("- Các sở, ban, ngành;", 9, "l", 70, 487),
    ("- UBND các xã, phường;", 9, "l", 70, 476),
    ("- Lưu: VT, VP.", 9, "l", 70, 465),
    ("TL. CHỦ TỊCH", 11, "c", 410, 500),
    ("KT. CHÁNH VĂN PHÒNG", 11, "c", 410, 486),
    ("PHÓ CHÁNH VĂN PHÒNG", 11, "c", 410, 472),
    (SIGNER_NAME, 12, "c", 410, 380),
)


def notice_pdf(*, extra_pages: int = 0, filler: bytes = b"") -> bytes:
    """Return the sample notice; ``extra_pages`` and ``filler`` make it larger for benchmarks."""
    writer = PdfFileWriter()
    font = font_factory().create_font_engine(writer)
    ops = []
    for text, size, align, x, y in _LINES:
        shaped = font.shape(text)
        width = shaped.x_advance * size
        left = x - width / 2 if align == "c" else x
        ops.append(b"BT /F1 %d Tf %.2f %.2f Td %s ET" % (size, left, y, shaped.graphics_ops))
    ops.append(b"0.5 w 110 768 m 190 768 l S 330 768 m 470 768 l S")
    resources = generic.DictionaryObject({
        generic.pdf_name("/Font"): generic.DictionaryObject(
            {generic.pdf_name("/F1"): font.as_resource()}
        )
    })
    pages = [b"\n".join(ops)]
    pages += [b"BT /F1 11 Tf 70 780 Td %s ET" % font.shape(f"Trang {i + 2}").graphics_ops
              for i in range(extra_pages)]
    for content in pages:
        stream = writer.add_object(generic.StreamObject(stream_data=content))
        page = generic.DictionaryObject({
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (0, 0, *A4)]
            ),
            generic.pdf_name("/Resources"): resources,
            generic.pdf_name("/Contents"): stream,
        })
        writer.insert_page(page)
    if filler:
        # An embedded file pads the document to a realistic scanned-annex size.
        writer.root[generic.pdf_name("/DocsvcFiller")] = writer.add_object(
            generic.StreamObject(stream_data=filler)
        )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
