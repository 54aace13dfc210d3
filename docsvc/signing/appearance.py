"""Signature appearances of Nghị định 30 (Phụ lục I): the person's picture, the agency seal
with name and ISO 8601 time, and the text stamp of attachments and copies.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.layout import (
    AxisAlignment,
    InnerScaling,
    Margins,
    SimpleBoxLayoutRule,
)
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import StaticStampStyle, TextStampStyle

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

ASSETS = Path(__file__).parent / "assets"
# Noto Sans has unitsPerEm 1000: pyHanko 0.38 writes widths in font units, so fonts with
# another unitsPerEm (DejaVu, Times New Roman, Arial) would render stretched.
FONT_PATH = ASSETS / "NotoSans-Regular.ttf"
DEMO_SIGNATURE_PICTURE = ASSETS / "demo-signature.png"
DEMO_SEAL_PICTURE = ASSETS / "demo-seal.png"
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

PERSON_BOX_SIZE = (150.0, 65.0)
"""Width and height (pt) of the person's signature picture."""
SEAL_SIZE = 102.0
"""Seal diameter in pt: 36 mm, the usual size of an agency seal, shown at actual size."""
STAMP_SIZE = (230.0, 46.0)
"""Width and height (pt) of the text stamp of attachments and copies."""


def iso_vn(moment: dt.datetime) -> str:
    """Format ``moment`` as ISO 8601 in Vietnam time, e.g. ``2018-06-19T15:04:05+07:00``."""
    if moment.tzinfo is None:
        raise ValueError("signing time must be timezone-aware")
    return moment.astimezone(VN_TZ).isoformat(timespec="seconds")


@dataclass(frozen=True)
class _InMemoryFontFactory(GlyphAccumulatorFactory):
    """Reads the font once; pyHanko's factory opens the file per engine and never closes it."""

    def create_font_engine(self, writer: BasePdfFileWriter,
                           obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer, font_handle=BytesIO(_font_bytes(self.font_file)),
            font_size=self.font_size, bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )


@functools.cache
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


@functools.cache
def font_factory() -> GlyphAccumulatorFactory:
    """Return the font engine factory of the bundled Noto Sans."""
    return _InMemoryFontFactory(str(FONT_PATH), bcp47_lang_code="vi")


@functools.lru_cache(maxsize=32)
def _picture(data: bytes) -> PILImage:  # PIL is imported lazily by pyHanko
    from PIL import Image

    image = Image.open(BytesIO(data))
    image.load()
    return image


def read_picture(picture: Path | bytes) -> bytes:
    """Return the PNG bytes of ``picture`` (a path or bytes)."""
    return picture if isinstance(picture, bytes) else Path(picture).read_bytes()


@dataclass(frozen=True)
class _PreparedXObject:
    """An image XObject (and its alpha mask) already Flate-compressed, to copy into documents."""

    entries: dict[Any, Any]
    encoded: bytes
    mask: _PreparedXObject | None

    @classmethod
    def of(cls, stream: generic.StreamObject) -> _PreparedXObject:
        entries = {k: v for k, v in stream.items() if k not in ("/SMask", "/Length")}
        mask = stream.get("/SMask")
        return cls(entries, stream.encoded_data,
                   cls.of(mask.get_object()) if mask is not None else None)

    def add_to(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        entries = dict(self.entries)
        if self.mask is not None:
            entries[generic.NameObject("/SMask")] = self.mask.add_to(writer)
        return writer.add_object(generic.StreamObject(entries, encoded_data=self.encoded))


@functools.lru_cache(maxsize=32)
def _prepared(data: bytes) -> _PreparedXObject:
    from pyhanko.pdf_utils.images import pil_image
    from pyhanko.pdf_utils.writer import PdfFileWriter

    return _PreparedXObject.of(pil_image(_picture(data), PdfFileWriter()).get_object())


class _PreparedImage(PdfImage):
    """pyHanko's image content, with the XObject compressed once per picture instead of for
    every signature (about 8 ms for the demo signature picture)."""

    def __init__(self, data: bytes, box: Any) -> None:
        super().__init__(_picture(data), box=box)
        self._prepared = _prepared(data)

    @property
    def image_ref(self) -> generic.IndirectObject:
        assert self.writer is not None
        ref = self._image_ref
        if ref is None or ref.get_pdf_handler() is not self.writer:
            self._image_ref = ref = self._prepared.add_to(self.writer)
        return ref


def _image(picture: Path | bytes, size: tuple[float, float]) -> PdfImage:
    from pyhanko.pdf_utils.layout import BoxConstraints

    # A new PdfImage per signature: it binds to the writer of the document it goes into.
    return _PreparedImage(read_picture(picture), box=BoxConstraints(*size))


def picture_aspect(picture: Path | bytes) -> float:
    """Return width / height of a picture."""
    width, height = _picture(read_picture(picture)).size
    return width / height if height else 1.0


def person_style(picture: Path | bytes = DEMO_SIGNATURE_PICTURE) -> StaticStampStyle:
    """Return the person's appearance: the handwritten picture, no text."""
    aspect = picture_aspect(picture)
    return StaticStampStyle(
        border_width=0,
        background=_image(picture, (PERSON_BOX_SIZE[1] * aspect, PERSON_BOX_SIZE[1])),
        background_opacity=1.0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MID, y_align=AxisAlignment.ALIGN_MID,
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ),
    )


def seal_only_style(picture: Path | bytes = DEMO_SEAL_PICTURE) -> StaticStampStyle:
    """Return the agency's appearance when there is no room for its text: the seal alone.

    The agency name and time stay in the signature; only the picture leaves them out.
    """
    return StaticStampStyle(
        border_width=0,
        background=_image(picture, (SEAL_SIZE, SEAL_SIZE)),
        background_opacity=1.0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MID, y_align=AxisAlignment.ALIGN_MID,
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ),
    )


def agency_style(picture: Path | bytes = DEMO_SEAL_PICTURE, *,
                 seal_size: float = SEAL_SIZE) -> TextStampStyle:
    """Return the agency's appearance: the seal (``seal_size`` pt) at the right, name and time
    at its left.

    Text parameters: ``agency`` and ``signed_at``.
    """
    return TextStampStyle(
        stamp_text="%(agency)s\n%(signed_at)s",
        border_width=0,
        background=_image(picture, (seal_size, seal_size)),
        background_opacity=1.0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MAX, y_align=AxisAlignment.ALIGN_MID,
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ),
        inner_content_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MAX, y_align=AxisAlignment.ALIGN_MID,
            margins=Margins(right=seal_size + 2),  # type: ignore[arg-type]  # pyHanko: int, floats work
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ),
        text_box_style=TextBoxStyle(font=font_factory(), font_size=7, border_width=0,
                                    text_color=(0.75, 0.05, 0.1)),
    )


def text_stamp_style(template: str = "%(reference)s\n%(agency)s\n%(signed_at)s") -> TextStampStyle:
    """Return the text-only stamp of attachments and copies (no picture).

    Text parameters: ``reference`` (number/notation or copy form), ``agency``, ``signed_at``.
    """
    return TextStampStyle(
        stamp_text=template,
        border_width=0,
        inner_content_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MAX, y_align=AxisAlignment.ALIGN_MAX,
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ),
        text_box_style=TextBoxStyle(font=font_factory(), font_size=10, border_width=0,
                                    leading=12),
    )


Box = tuple[float, float, float, float]


def stamp_box_top_right(page_width: float, page_height: float) -> Box:
    """Return the box of the attachment/copy stamp at the top right of a page."""
    width, height = STAMP_SIZE
    return (page_width - 28 - width, page_height - 14 - height, page_width - 28,
            page_height - 14)
