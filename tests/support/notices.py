"""Generated notices in the form of Nghị định 30, Phụ lục I (mẫu 1.3, thông báo), for the layout
corpus of signature placement: fonts, margins, signer block position, gap heights, blocks alone
on the last page, headers, footers and page numbers, joint documents and names in the body.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.writer import PdfFileWriter

from docsvc.signing.appearance import FONT_PATH

A4 = (595.0, 842.0)
MM = 72 / 25.4
FONTS = {
    "sans": str(FONT_PATH),
    "serif": "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
}
if not Path(FONTS["serif"]).exists():  # fonts-noto-core is in scripts/test; fall back quietly
    FONTS["serif"] = str(FONT_PATH)

BODY = (
    "Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh về công tác văn thư và lưu trữ,",
    "các sở, ban, ngành và Ủy ban nhân dân các xã thực hiện ký số văn bản điện tử",
    "theo Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ.",
    "Văn thư cơ quan đóng dấu, ký số của cơ quan trước khi phát hành văn bản",
    "và gửi văn bản qua Trục liên thông văn bản quốc gia đúng thời hạn.",
)


@dataclass(frozen=True)
class Signer:
    name: str
    competence: tuple[str, ...] = ("TL. CHỦ TỊCH", "KT. CHÁNH VĂN PHÒNG")
    position: str = "PHÓ CHÁNH VĂN PHÒNG"


@dataclass(frozen=True)
class Notice:
    """How one generated notice is laid out (sizes in points)."""

    key: str
    signers: tuple[Signer, ...] = (Signer("Nguyễn Quốc Việt"),)
    """One block, or several side by side (liên tịch), left to right."""
    font: str = "sans"
    left_margin: float = 30 * MM
    right_margin: float = 15 * MM
    block_centre: float | None = None
    """x of the centre of the (single) signer block; the right column by default."""
    gap: float = 90.0
    """From the bottom of the position line to the top of the name."""
    body_paragraphs: int = 1
    """How many times the body is repeated (more pages when it does not fit)."""
    block_alone: bool = False
    """Put the signer block on a page of its own after the body."""
    block_top: float | None = None
    """y of the first competence line; right after the body by default."""
    header_footer: bool = False
    name_in_body: bool = False
    split_name: bool = False
    """Draw the name one character at a time, letter-spaced."""
    recipients_below: bool = False
    """Put "Nơi nhận" under the signer block (block at the left)."""
    size: tuple[float, float] = A4
    extra: tuple[str, ...] = field(default=())
    """Extra body lines."""
    signs: int = -1
    """Index of the block of the person who signs (joint documents)."""


class _Page:
    def __init__(self) -> None:
        self.ops: list[bytes] = []


class _Writer:
    def __init__(self, notice: Notice) -> None:
        self.notice = notice
        self.writer = PdfFileWriter()
        # the font is read into memory: pyHanko's factory leaves its file open
        self.font = GlyphAccumulator(writer=self.writer,
                                     font_handle=BytesIO(Path(FONTS[notice.font]).read_bytes()),
                                     font_size=1, bcp47_lang_code="vi")
        self.pages: list[_Page] = []

    def width(self, text: str, size: float) -> float:
        return self.font.shape(text).x_advance * size

    def text(self, page: _Page, text: str, size: float, x: float, y: float, *,
             align: str = "l") -> None:
        width = self.width(text, size)
        left = {"l": x, "c": x - width / 2, "r": x - width}[align]
        page.ops.append(b"BT /F1 %.1f Tf %.2f %.2f Td %s ET"
                        % (size, left, y, self.font.shape(text).graphics_ops))

    def runs(self, page: _Page, parts: tuple[str | float, ...], size: float, centre: float,
             y: float) -> None:
        """Draw text runs with blanks between them (numbers: blank widths in points), centred,
        as word processors write the blanks of "Số:  /…" and "ngày … tháng …"."""
        widths = [p if isinstance(p, float) else self.width(p, size) for p in parts]
        x = centre - sum(widths) / 2
        for part, width in zip(parts, widths, strict=True):
            if isinstance(part, str):
                self.text(page, part, size, x, y)
            x += width

    def spaced(self, page: _Page, text: str, size: float, centre: float, y: float) -> None:
        """Draw ``text`` one character at a time with wide tracking (a name split in runs)."""
        track = size * 0.35
        widths = [self.width(ch, size) for ch in text]
        x = centre - (sum(widths) + track * (len(text) - 1)) / 2
        for ch, width in zip(text, widths, strict=True):
            if ch.strip():
                page.ops.append(b"BT /F1 %.1f Tf %.2f %.2f Td %s ET"
                                % (size, x, y, self.font.shape(ch).graphics_ops))
            x += width + track

    def finish(self) -> bytes:
        resources = generic.DictionaryObject({generic.pdf_name("/Font"): generic.DictionaryObject(
            {generic.pdf_name("/F1"): self.font.as_resource()})})
        w, h = self.notice.size
        for page in self.pages:
            stream = self.writer.add_object(generic.StreamObject(
                stream_data=b"\n".join(page.ops)))
            self.writer.insert_page(generic.DictionaryObject({
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (0, 0, w, h)]),
                generic.pdf_name("/Resources"): resources,
                generic.pdf_name("/Contents"): stream,
            }))
        out = BytesIO()
        self.writer.write(out)
        return out.getvalue()


def build(notice: Notice) -> bytes:
    """Return the PDF of ``notice``."""
    pdf = _Writer(notice)
    width, height = notice.size
    left, right = notice.left_margin, width - notice.right_margin
    top, bottom = height - 20 * MM, 20 * MM
    pdf.pages.append(_Page())
    page = pdf.pages[0]
    col1, col2 = left + 75, right - 130
    pdf.text(page, "UBND TỈNH QUẢNG NGÃI", 12, col1, top, align="c")
    pdf.text(page, "VĂN PHÒNG", 12, col1, top - 15, align="c")
    pdf.text(page, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, col2, top, align="c")
    pdf.text(page, "Độc lập - Tự do - Hạnh phúc", 12, col2, top - 15, align="c")
    pdf.runs(page, ("Số:", 30.0, "/TB-VP"), 12, col1, top - 45)
    pdf.runs(page, ("Quảng Ngãi, ngày", 24.0, "tháng", 24.0, "năm 2026"), 12, col2, top - 45)
    pdf.text(page, "THÔNG BÁO", 14, (left + right) / 2, top - 90, align="c")
    pdf.text(page, "Về việc ký số và phát hành văn bản điện tử", 13, (left + right) / 2,
             top - 108, align="c")
    y = top - 145
    lines = list(BODY) * notice.body_paragraphs + list(notice.extra)
    if notice.name_in_body:
        lines.insert(1, f"Giao ông {notice.signers[0].name} chủ trì, theo dõi việc thực hiện.")
    for line in lines:
        if y < bottom + 20:
            pdf.pages.append(_Page())
            page = pdf.pages[-1]
            y = top
        pdf.text(page, line, 13, left + 20, y)
        y -= 19
    if notice.block_alone:
        pdf.pages.append(_Page())
        page = pdf.pages[-1]
        y = top
    block_top = notice.block_top if notice.block_top is not None else y - 20
    rows = max(len(s.competence) for s in notice.signers) + 1
    block_height = rows * 15 + notice.gap + 14
    if block_top - block_height < bottom - 10 * MM:
        pdf.pages.append(_Page())
        page = pdf.pages[-1]
        block_top = top
    count = len(notice.signers)
    if count == 1:
        centres = [notice.block_centre if notice.block_centre is not None else right - 110]
    else:
        step = (right - left) / count
        centres = [left + step * (i + 0.5) for i in range(count)]
    recipients_y = block_top
    for signer, centre in zip(notice.signers, centres, strict=True):
        yy = block_top
        for line in (*signer.competence, signer.position):
            pdf.text(page, line, 12, centre, yy, align="c")
            yy -= 15
        name_y = yy + 15 - 9 - notice.gap - 12
        if notice.split_name:
            pdf.spaced(page, signer.name, 13, centre, name_y)
        else:
            pdf.text(page, signer.name, 13, centre, name_y, align="c")
        recipients_y = min(recipients_y, name_y - 30)
    recipients = ("Nơi nhận:", "- Các sở, ban, ngành;", "- UBND các xã, phường;", "- Lưu: VT, VP.")
    if count == 1:
        if notice.recipients_below:
            ry = recipients_y
        else:
            ry = block_top
        rx = left if not notice.recipients_below else left
        if not notice.recipients_below and (notice.block_centre or right) < width / 2:
            rx = width / 2 + 40
        for n, line in enumerate(recipients):
            pdf.text(page, line, 11 if n == 0 else 10, rx, ry - n * 12)
    if notice.header_footer:
        for number, each in enumerate(pdf.pages, start=1):
            pdf.text(each, "VĂN PHÒNG UBND TỈNH QUẢNG NGÃI - THÔNG BÁO", 8, (left + right) / 2,
                     height - 10 * MM, align="c")
            pdf.text(each, f"Trang {number}/{len(pdf.pages)}", 9, (left + right) / 2, 10 * MM,
                     align="c")
    return pdf.finish()


NAMES = ("Nguyễn Quốc Việt", "Trần Thị Bích Ngọc", "Lê Văn Đức", "Phạm Thị Hồng Nhung",
         "Võ Thành Long")


def corpus() -> list[Notice]:
    """Return the layouts of the corpus (at least 20)."""
    viet = Signer("Nguyễn Quốc Việt")
    ngoc = Signer("Trần Thị Bích Ngọc", ("TM. ỦY BAN NHÂN DÂN",), "CHỦ TỊCH")
    duc = Signer("Lê Văn Đức", ("TM. SỞ TÀI CHÍNH",), "GIÁM ĐỐC")
    nhung = Signer("Phạm Thị Hồng Nhung", ("KT. GIÁM ĐỐC",), "PHÓ GIÁM ĐỐC")
    return [
        Notice("sans-right"),
        Notice("serif-right", font="serif"),
        Notice("margin-35mm", left_margin=35 * MM, font="serif"),
        Notice("left-margin-block", block_centre=109, recipients_below=True, gap=44),
        Notice("left-margin-block-serif", block_centre=105, recipients_below=True,
               font="serif", gap=60, signers=(ngoc,)),
        Notice("left-block-recipients-right", block_centre=120, gap=70),
        Notice("very-low", block_top=150, gap=60),
        Notice("very-low-small-gap", block_top=128, gap=36),
        Notice("gap-44", gap=44),
        Notice("gap-30", gap=30),
        Notice("gap-140", gap=140),
        Notice("alone-on-last-page", block_alone=True, body_paragraphs=6),
        Notice("header-footer", header_footer=True, body_paragraphs=5),
        Notice("header-footer-low", header_footer=True, block_top=140, gap=50),
        Notice("joint-two", signers=(viet, duc), gap=70),
        Notice("joint-two-first", signers=(duc, nhung), gap=60, font="serif", signs=0),
        Notice("joint-three-middle", signers=(ngoc, duc, nhung), gap=80, signs=1),
        Notice("name-in-body", name_in_body=True),
        Notice("name-in-body-multipage", name_in_body=True, body_paragraphs=8,
               header_footer=True),
        Notice("split-name", split_name=True),
        Notice("chairman", signers=(ngoc,), font="serif", gap=75),
        Notice("director-wide-gap", signers=(nhung,), gap=110, left_margin=33 * MM),
        Notice("letter-size", size=(612.0, 792.0), gap=56),
    ]


def signer_name(notice: Notice) -> str:
    """Return the name of the person who signs ``notice`` (the last block of joint ones)."""
    return notice.signers[notice.signs].name


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def scan_of(pdf: bytes, *, dpi: int = 150) -> bytes:
    """Return an image-only "scan" of ``pdf`` as Pillow writes it (its xref has the entry
    ``0000000000 65536 f`` that pyHanko's strict reader refuses)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        images = [document[i].render(scale=dpi / 72, grayscale=True).to_pil()
                  for i in range(len(document))]
    finally:
        document.close()
    out = BytesIO()
    images[0].save(out, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:])
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    """Write one corpus layout to a file: ``python -m tests.support.notices KEY OUT.pdf``
    (``--scan`` for an image-only scan of it)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    scan = "--scan" in args
    args = [a for a in args if a != "--scan"]
    layouts = {n.key: n for n in corpus()}
    if len(args) != 2 or args[0] not in layouts:
        raise SystemExit("usage: python -m tests.support.notices [--scan] KEY OUT.pdf\nkeys: "
                         + ", ".join(layouts))
    pdf = build(layouts[args[0]])
    Path(args[1]).write_bytes(scan_of(pdf) if scan else pdf)


if __name__ == "__main__":
    main()
