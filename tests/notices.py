"""Generated notices in the Nghị định 30 forms (Phụ lục IV), each with its labelled metadata,
and their "scans" (rendered to a noisy, skewed image, wrapped in an image-only PDF).

Used by the extraction tests and bench/bench_extract.py; not part of the production package.
``corpus(n)`` is deterministic: notice i is always the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

A4 = (595.0, 842.0)
LEFT, RIGHT = 70.0, 540.0

PROVINCES = ["Quảng Ngãi", "Bình Định", "Đà Nẵng", "Thừa Thiên Huế", "Quảng Nam", "Hà Tĩnh"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLES = ["Văn", "Thị", "Quốc", "Minh", "Hữu", "Thanh", "Ngọc", "Đức"]
GIVENS = ["Việt", "Hùng", "Lan", "Phương", "Tuấn", "Hải", "Dũng", "Hoa", "Bình", "Khánh"]
SUBJECTS = [
    "Về việc cải cách hành chính năm {y}",
    "Kết luận của Chủ tịch UBND tỉnh tại cuộc họp về công tác văn thư, lưu trữ",
    "Về việc triển khai chữ ký số trong cơ quan nhà nước trên địa bàn tỉnh",
    "Về việc phòng, chống thiên tai và tìm kiếm cứu nạn mùa mưa bão năm {y}",
    "Về việc tăng cường quản lý đất đai và tài nguyên khoáng sản",
    "Kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội quý II năm {y}",
    "Về việc phê duyệt kế hoạch chuyển đổi số của tỉnh giai đoạn {y}-{y2}",
    "Về việc tổ chức Hội nghị tổng kết công tác thi đua, khen thưởng",
]
REFERENCES = [
    "Nghị định số 30/2020/NĐ-CP ngày 05/3/2020 của Chính phủ",
    "Quyết định số 415/QĐ-UBND ngày 09/6/2017 của UBND tỉnh",
    "Thông tư số 01/2019/TT-BNV ngày 24/01/2019 của Bộ Nội vụ",
    "Kế hoạch số 72/KH-UBND ngày 12/4/2021 của UBND tỉnh",
]
DIRECTORY = [
    ("000.00.00.H48", "UBND tỉnh Quảng Ngãi"),
    ("000.00.01.H48", "Văn phòng UBND tỉnh Quảng Ngãi"),
    ("000.00.02.H48", "Sở Nội vụ tỉnh Quảng Ngãi"),
    ("000.00.03.H48", "Sở Tài chính tỉnh Quảng Ngãi"),
    ("000.00.04.H48", "Sở Tài nguyên và Môi trường tỉnh Quảng Ngãi"),
    ("000.01.01.H48", "UBND xã Tịnh Ấn"),
    ("000.01.02.H48", "UBND xã Nghĩa Hà"),
]
TYPES = [("Thông báo", "TB"), ("Quyết định", "QĐ"), ("Công văn", None), ("Tờ trình", "TTr"),
         ("Kế hoạch", "KH"), ("Báo cáo", "BC")]
# (parent line or None, issuing body line, issuer code in the notation)
BODIES = [
    (None, "ỦY BAN NHÂN DÂN TỈNH {P}", "UBND"),
    ("UBND TỈNH {P}", "SỞ NỘI VỤ", "SNV"),
    ("UBND TỈNH {P}", "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", "STNMT"),
    ("UBND TỈNH {P}", "SỞ TÀI CHÍNH", "STC"),
    (None, "ỦY BAN NHÂN DÂN XÃ TỊNH ẤN", "UBND"),
]
SIGNER_BLOCKS = [
    ([], "CHỦ TỊCH"),
    (["TM. ỦY BAN NHÂN DÂN"], "CHỦ TỊCH"),
    (["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"], "PHÓ CHỦ TỊCH"),
    (["KT. GIÁM ĐỐC"], "PHÓ GIÁM ĐỐC"),
    (["TL. CHỦ TỊCH", "KT. CHÁNH VĂN PHÒNG"], "PHÓ CHÁNH VĂN PHÒNG"),
    ([], "GIÁM ĐỐC"),
    (["TUQ. CHỦ TỊCH"], "CHÁNH VĂN PHÒNG"),
]
RECIPIENT_SETS = [
    ["Sở Nội vụ tỉnh Quảng Ngãi", "Sở Tài chính tỉnh Quảng Ngãi", "Các sở, ban, ngành"],
    ["UBND xã Tịnh Ấn", "UBND xã Nghĩa Hà"],
    ["Văn phòng UBND tỉnh Quảng Ngãi", "Sở Tài nguyên và Môi trường tỉnh Quảng Ngãi",
     "UBND các huyện, thị xã, thành phố", "Báo Quảng Ngãi, Đài PT-TH tỉnh"],
    ["Chủ tịch, các PCT UBND tỉnh", "UBND xã Tịnh Ấn"],
]


@dataclass
class Notice:
    """One generated notice: what is printed and its truth (Phụ lục VI names)."""

    truth: dict[str, Any]
    parent: str | None
    organ_line: str
    urgency: str | None = None
    secrecy_mark: str | None = None
    signer_lines: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    arrival: tuple[int, dt.date] | None = None
    pages: int = 1


def make_notice(index: int) -> Notice:
    """Return notice ``index`` of the corpus (deterministic)."""
    rnd = random.Random(index * 7919 + 1)
    type_name, abbr = TYPES[index % len(TYPES)]
    province = PROVINCES[index % len(PROVINCES)]
    parent, organ, issuer = BODIES[(index // len(TYPES)) % len(BODIES)]
    parent = parent.format(P=province.upper()) if parent else None
    organ = organ.format(P=province.upper())
    year = 2018 + index % 7
    day = dt.date(year, 1 + rnd.randrange(12), 1 + rnd.randrange(28))
    number = str(rnd.randrange(1, 2000))
    number = number.zfill(2)
    notation = f"{abbr}-{issuer}" if abbr else f"{issuer}-{rnd.choice(['VP', 'TH', 'KT', 'NC'])}"
    subject = rnd.choice(SUBJECTS).format(y=year, y2=year + 2)
    competence, position = SIGNER_BLOCKS[index % len(SIGNER_BLOCKS)]
    name = f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLES)} {rnd.choice(GIVENS)}"
    refs = rnd.sample(REFERENCES, k=1 + index % 2)
    recipients = RECIPIENT_SETS[index % len(RECIPIENT_SETS)]
    urgency = [None, None, "KHẨN", None, "THƯỢNG KHẨN", "HỎA TỐC"][index % 6]
    secrecy = "MẬT" if index % 9 == 4 else None
    body = [f"Căn cứ {refs[0]};"] if type_name == "Quyết định" else []
    body += [
        f"Thực hiện {refs[-1]}, {organ.capitalize()} thông báo và đề nghị các cơ quan, đơn vị "
        "triển khai thực hiện một số nội dung sau:",
        "1. Tăng cường công tác cải cách hành chính, hiện đại hóa nền hành chính; rà soát, đơn giản "
        "hóa thủ tục hành chính thuộc phạm vi quản lý.",
        "2. Thực hiện ký số, gửi nhận văn bản điện tử qua Trục liên thông văn bản quốc gia; văn thư "
        "cơ quan đóng dấu, ký số của cơ quan trước khi phát hành văn bản.",
        "3. Báo cáo kết quả thực hiện trước ngày 15 tháng 12 hằng năm để tổng hợp./.",
    ]
    truth = {
        "code_number": number, "code_notation": notation, "type_name": type_name,
        "issued_date": day.isoformat(), "place": province if index % 5 else "Tịnh Ấn",
        "subject": subject, "organ_name": organ, "signer_competence": (
            competence[0].split()[0] if competence else None),
        "signer_position": position, "signer_name": name,
        "priority": {"KHẨN": 1, "THƯỢNG KHẨN": 2, "HỎA TỐC": 3}.get(urgency or "", None),
        "secrecy": "mat" if secrecy else None,
        "references": refs[-1:] if type_name != "Quyết định" else list(dict.fromkeys([refs[0], refs[-1]])),
        "recipients": sorted(oid for oid, n in DIRECTORY if n in recipients),
    }
    if parent:
        truth["parent_organ_name"] = parent
    known = {_fold_abbr(n): (oid, n) for oid, n in DIRECTORY}
    if _fold_abbr(organ) in known:  # the directory's spelling wins over the capitals printed
        truth["organ_id"], truth["organ_name"] = known[_fold_abbr(organ)]
    notice = Notice(truth=truth, parent=parent, organ_line=organ, urgency=urgency,
                    secrecy_mark=secrecy, signer_lines=[*competence, position], body=body,
                    recipients=recipients, pages=1 + (index % 4 == 3))
    if index % 2 == 0:
        notice.arrival = (rnd.randrange(1, 9000), day + dt.timedelta(days=1 + rnd.randrange(3)))
    return notice


def _fold_abbr(name: str) -> str:
    from docsvc.metadata import fold

    return fold(name).replace("uy ban nhan dan", "ubnd")


FIELDS = ("code_number", "code_notation", "type_name", "issued_date", "place", "subject",
          "organ_name", "signer_competence", "signer_position", "signer_name", "priority",
          "secrecy", "references", "recipients", "arrival_number", "arrival_date")


def expected(notice: Notice, *, scan: bool) -> dict[str, Any]:
    """Return the truth the extraction should give for the text PDF or for its stamped scan."""
    truth = dict(notice.truth)
    if scan and notice.arrival:
        truth["arrival_number"] = notice.arrival[0]
        truth["arrival_date"] = notice.arrival[1].isoformat()
    return truth


def extracted_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Return comparable values of an extraction's fields (recipients as sorted OrganIds)."""
    out = {}
    for name in FIELDS:
        found = fields.get(name)
        if found is None:
            out[name] = None
            continue
        value = found.value
        if name == "issued_date" or name == "arrival_date":
            value = value.isoformat()
        if name == "recipients":
            value = sorted(item["value"]["organ_id"] for item in value)
        out[name] = value
    return out


def corpus(n: int = 36) -> list[Notice]:
    """Return the first ``n`` notices; 36 covers every type, body, signer block and mark."""
    return [make_notice(i) for i in range(n)]


class _Canvas:
    """Lines of text placed on pages, written with pyHanko and the bundled Noto Sans."""

    def __init__(self) -> None:
        from pyhanko.pdf_utils.writer import PdfFileWriter

        from docsvc.signing.appearance import font_factory

        self.writer = PdfFileWriter()
        self.font = font_factory().create_font_engine(self.writer)
        self.pages: list[list[bytes]] = [[]]

    def width(self, text: str, size: float) -> float:
        return self.font.shape(text).x_advance * size

    def text(self, text: str, size: float, x: float, y: float, align: str = "l") -> None:
        shaped = self.font.shape(text)
        left = x - shaped.x_advance * size / 2 if align == "c" else x
        self.pages[-1].append(b"BT /F1 %.1f Tf %.2f %.2f Td %s ET" % (size, left, y, shaped.graphics_ops))

    def raw(self, ops: bytes) -> None:
        self.pages[-1].append(ops)

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        words, lines, current = text.split(), [], ""
        for word in words:
            trial = f"{current} {word}".strip()
            if current and self.width(trial, size) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        return [*lines, current] if current else lines

    def new_page(self) -> None:
        self.pages.append([])

    def finish(self) -> bytes:
        from pyhanko.pdf_utils import generic

        resources = generic.DictionaryObject({generic.pdf_name("/Font"): generic.DictionaryObject(
            {generic.pdf_name("/F1"): self.font.as_resource()})})
        for ops in self.pages:
            stream = self.writer.add_object(generic.StreamObject(stream_data=b"\n".join(ops)))
            self.writer.insert_page(generic.DictionaryObject({
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (0, 0, *A4)]),
                generic.pdf_name("/Resources"): resources,
                generic.pdf_name("/Contents"): stream,
            }))
        out = BytesIO()
        self.writer.write(out)
        return out.getvalue()


def _cache_path(kind: str, key: str) -> Path:
    # Embedding the font subset costs ~1 s a notice; keep each rendering until this file changes.
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"docsvc-notices-{source}"
    folder.mkdir(exist_ok=True)
    return folder / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.pdf"


def render_pdf(notice: Notice, *, stamp: bool = False, extra_pages: int = 0) -> bytes:
    """Write the notice as a text PDF (Noto Sans 11–13 pt, A4) laid out like Phụ lục IV (cached)."""
    path = _cache_path("pdf", repr((notice, stamp, extra_pages)))
    if path.exists():
        return path.read_bytes()
    data = _render_pdf(notice, stamp=stamp, extra_pages=extra_pages)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def _render_pdf(notice: Notice, *, stamp: bool, extra_pages: int) -> bytes:
    t = notice.truth
    c = _Canvas()
    y = 790.0
    if notice.parent:
        c.text(notice.parent, 12, 160, y, "c")
        y -= 15
    for part in c.wrap(notice.organ_line, 12, 200):
        c.text(part, 12, 160, y, "c")
        y -= 15
    c.raw(b"0.5 w 130 %.1f m 190 %.1f l S" % (y + 10, y + 10))
    c.text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, 410, 790, "c")
    c.text("Độc lập - Tự do - Hạnh phúc", 12, 410, 775, "c")
    c.raw(b"0.5 w 340 768 m 480 768 l S")
    y = min(y - 8, 745)
    c.text(f"Số: {t['code_number']}/{t['code_notation']}", 12, 160, y, "c")
    c.text(f"{t['place']}, ngày {_d(t['issued_date'])}", 12, 410, y, "c")
    y -= 18
    if t["type_name"] == "Công văn":
        for part in c.wrap(f"V/v {t['subject']}", 11, 190):
            c.text(part, 11, 160, y, "c")
            y -= 13
    for mark in (notice.urgency, notice.secrecy_mark):
        if mark:
            c.text(mark, 12, 95, y - 6, "l")
            y -= 18
    y -= 20
    if t["type_name"] != "Công văn":
        c.text(t["type_name"].upper(), 14, 297, y, "c")
        y -= 17
        for part in c.wrap(t["subject"], 13, 360):
            c.text(part, 13, 297, y, "c")
            y -= 16
        if t["type_name"] == "Quyết định":
            y -= 14
            c.text(notice.organ_line.replace("ỦY BAN NHÂN DÂN", "CHỦ TỊCH ỦY BAN NHÂN DÂN")
                   if "ỦY BAN" in notice.organ_line else "GIÁM ĐỐC " + notice.organ_line, 13, 297, y, "c")
        y -= 30
    else:
        c.text("Kính gửi: Các cơ quan, đơn vị có liên quan.", 12, 200, y, "l")
        y -= 30
    for paragraph in notice.body:
        for part in c.wrap(paragraph, 12, RIGHT - LEFT):
            c.text(part, 12, LEFT, y)
            y -= 16
        y -= 4
    for page in range(notice.pages - 1 + extra_pages):
        c.new_page()
        y = 780.0
        for _ in range(12):
            for part in c.wrap(f"Trang {page + 2}: nội dung chi tiết của kế hoạch, các nhiệm vụ cụ "
                               "thể và phân công trách nhiệm của các cơ quan, đơn vị.", 12, RIGHT - LEFT):
                c.text(part, 12, LEFT, y)
                y -= 16
    y -= 20
    top = y
    c.text("Nơi nhận:", 11, LEFT, y)
    for name in [*notice.recipients, "Lưu: VT."]:
        for i, part in enumerate(c.wrap(f"- {name};" if name[0] != "L" else f"- {name}", 10, 190)):
            y -= 12
            c.text(part if i == 0 else "  " + part, 10, LEFT, y)
    y = top
    for line in notice.signer_lines:
        c.text(line, 12, 420, y, "c")
        y -= 15
    c.text(t["signer_name"], 13, 420, y - 75, "c")
    if stamp and notice.arrival:  # the receiver's stamp, top left above the header
        number, day = notice.arrival
        c.raw(b"0.8 0 0 RG 1.2 w 22 805 110 35 re S")
        c.text("ĐẾN", 10, 77, 829, "c")
        c.text(f"Số: {number}", 9, 30, 818)
        c.text(f"Ngày: {day.day}/{day.month}/{day.strftime('%y')}", 9, 30, 808)
    return c.finish()


def _d(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{day.day:02d} tháng {month} năm {day.year}"


def render_scan(pdf: bytes, *, seed: int = 0, dpi: int = 200, skew: float | None = None) -> bytes:
    """Render ``pdf`` to grey images with noise and skew, and wrap them in an image-only PDF."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageChops, ImageFilter

    rnd = random.Random(seed)
    images = []
    doc = pdfium.PdfDocument(pdf)
    try:
        for page in doc:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            page.close()
            angle = skew if skew is not None else rnd.uniform(-1.2, 1.2)
            image = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255)
            image = image.point(lambda v: 40 + v * 195 // 255)  # grey paper, grey ink
            speckle = Image.effect_noise(image.size, 40).point(lambda v: 0 if v < 10 else 255)
            image = ImageChops.darker(image, speckle).filter(ImageFilter.GaussianBlur(0.5))
            images.append(image)
    finally:
        doc.close()
    out = BytesIO()
    images[0].save(out, format="PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()
