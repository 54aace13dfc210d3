"""The layout corpus: generated notices (Nghị định 30, Phụ lục I) signed by the person and then
the agency with automatic placement. Each must verify in pdfsig and in our verifier, neither
widget may cover a word other than the name line (word boxes read independently, with
poppler's pdftotext), and the seal must overlap the left third of the person's picture.
"""

from __future__ import annotations

import subprocess
import unicodedata
from xml.etree import ElementTree

import pytest

from docsvc.signing import Placement, existing_signatures, sign_pdf
from docsvc.signing.errors import PlacementError
from docsvc.verify import Indication, load_trust
from docsvc.verify.validate import validate_pdf
from tests.support.notices import Notice, Signer, build, corpus, nfd, signer_name

CORPUS = corpus()


def poppler_words(pdf: bytes, page: int, tmp_path) -> list[tuple[str, tuple[float, ...]]]:
    """Return ``(text, (x1, y1, x2, y2))`` of every word of ``page`` (1-based), PDF space."""
    path = tmp_path / "words.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
                         capture_output=True, check=True, timeout=60).stdout
    root = ElementTree.fromstring(out)  # noqa: S314 - poppler's own output
    page_el = next(e for e in root.iter() if e.tag.endswith("page"))
    height = float(page_el.get("height"))
    words = []
    for w in root.iter():
        if w.tag.endswith("word"):
            x1, y1 = float(w.get("xMin")), float(w.get("yMin"))
            x2, y2 = float(w.get("xMax")), float(w.get("yMax"))
            words.append((w.text or "", (x1, height - y2, x2, height - y1)))
    return words


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _intersects(a, b) -> bool:
    shrink = 0.5  # poppler's boxes use the font's ascent/descent, a little taller than glyphs
    return (a[0] < b[2] - shrink and a[2] > b[0] + shrink and a[1] < b[3] - shrink
            and a[3] > b[1] + shrink)


def _name_line(words, name: str, person_box) -> list:
    """The words of the printed name under (or beside) the person's picture."""
    wanted = "".join(_fold(name).split())
    # poppler gives a word per syllable, or the whole line when the text carries ActualText
    hits = [w for w in words if "".join(_fold(w[0]).split()) in wanted]
    below = [w for w in hits if w[1][1] <= person_box[1] + 20]
    if not below:
        return []
    top = max(w[1][1] for w in below)
    return [w for w in below if abs(w[1][1] - top) < 6]


@pytest.mark.parametrize("notice", CORPUS, ids=[n.key for n in CORPUS])
def test_corpus_notice_signs_and_verifies(notice: Notice, signer_of, assert_verified, pki,
                                          tmp_path):
    pdf = build(notice)
    name = signer_name(notice)
    person = sign_pdf(pdf, signer=signer_of("person-rsa"), role="person",
                      placement=Placement(search=name))
    both = sign_pdf(person, signer=signer_of("agency-rsa"), role="agency")
    assert_verified(both, fields=["Sig_person_1", "Sig_agency_1"])
    report = validate_pdf(both, load_trust([pki.root_cert_path.parent]))
    assert [s.indication for s in report.signatures] == [Indication.TOTAL_PASSED] * 2, report

    sigs = {s.role: s for s in existing_signatures(both)}
    person_box, seal_box = sigs["person"].box, sigs["agency"].box
    assert sigs["person"].page_index == sigs["agency"].page_index
    words = poppler_words(pdf, sigs["person"].page_index + 1, tmp_path)
    name_words = _name_line(words, name, person_box)
    assert name_words, "the name line is under the picture"
    others = [w for w in words if w not in name_words]
    for role, box in (("person", person_box), ("agency", seal_box)):
        covered = [w[0] for w in others if _intersects(box, w[1])]
        assert not covered, f"{role} widget covers {covered}"
    px1, py1, px2, py2 = person_box
    left_third = (px1, py1, px1 + (px2 - px1) / 3, py2)
    assert _intersects(seal_box, left_third), (seal_box, person_box)
    # the picture is over the signer's own name (joint documents: the right block)
    name_box = (min(w[1][0] for w in name_words), min(w[1][1] for w in name_words),
                max(w[1][2] for w in name_words), max(w[1][3] for w in name_words))
    centre = (px1 + px2) / 2
    assert name_box[0] - 60 < centre < name_box[2] + 60


def test_corpus_is_large_and_varied():
    assert len(CORPUS) >= 20
    assert {n.font for n in CORPUS} == {"sans", "serif"}
    assert any(len(n.signers) > 1 for n in CORPUS)
    assert any(n.block_alone for n in CORPUS) and any(n.name_in_body for n in CORPUS)


def test_name_in_nfd_and_split_name_are_found(signer_of):
    notice = next(n for n in CORPUS if n.key == "split-name")
    signed = sign_pdf(build(notice), signer=signer_of("person-rsa"), role="person",
                      placement=Placement(search=nfd(notice.signers[0].name)))
    box = existing_signatures(signed)[0].box
    assert 380 < box[1] < 410 and 300 < (box[0] + box[2]) / 2 < 520


def test_no_room_is_a_422_with_page_size_and_candidate_area(signer_of):
    crammed = Notice("crammed", gap=2, extra=tuple(
        "Dòng chữ dày đặc " * 6 for _ in range(3)), signers=(Signer("Lê Văn Đức"),))
    pdf = build(crammed)
    with pytest.raises(PlacementError) as caught:
        sign_pdf(_crowd(pdf), signer=signer_of("person-rsa"), role="person",
                 placement=Placement(search="Lê Văn Đức"))
    error = caught.value
    assert error.status == 422 and error.code == "signature_placement", error.details
    assert error.details["page_size"] == [595.0, 842.0], error.details
    assert len(error.details["candidate_area"]) == 4


def _crowd(pdf: bytes) -> bytes:
    """Fill the page with rows of words, all but the name's line (a page with no room)."""
    from docsvc.signing.placement import find_signer_block
    from docsvc.signing.words import Document, ScanLimits

    with Document(pdf, ScanLimits(ocr=False)) as doc:
        name = find_signer_block(doc, "Lê Văn Đức").name_box
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from docsvc.signing.appearance import font_factory

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    font = font_factory().create_font_engine(writer)
    ops = []
    for row in range(0, 842, 9):
        if name[1] - 9 < row < name[3] + 1:
            continue
        ops.append(b"BT /FX 7 Tf 0 %d Td %s ET" % (row, font.shape("chữ " * 60).graphics_ops))
    stream = writer.add_object(generic.StreamObject(stream_data=b"\n".join(ops)))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    resources = page["/Resources"]
    fonts = resources["/Font"]
    fonts[generic.pdf_name("/FX")] = font.as_resource()
    contents = page.raw_get("/Contents")
    page[generic.pdf_name("/Contents")] = generic.ArrayObject([contents, stream])
    writer.update_container(page)
    writer.update_container(fonts)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
