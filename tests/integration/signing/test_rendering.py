"""Rendered output: pictures land where Nghị định 30 puts them and look as they should."""

from __future__ import annotations

import subprocess

import pytest
from PIL import Image

from docsvc.signing import existing_signatures, sign_pdf


def _render(pdf: bytes, tmp_path) -> Image.Image:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "72", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(tmp_path / "page")], check=True)
    return Image.open(tmp_path / "page.png").convert("RGB")


def _count(image: Image.Image, box, page_height, predicate) -> int:
    x1, y1, x2, y2 = box
    crop = image.crop((int(x1), int(page_height - y2), int(x2), int(page_height - y1)))
    return sum(1 for pixel in crop.get_flattened_data() if predicate(*pixel))


def _blue(r, g, b):
    return b > 120 and r < 90 and g < 110


def _red(r, g, b):
    return r > 170 and g < 90 and b < 90


@pytest.fixture(scope="module")
def signed_notice(sample_pdf, signer_of):
    person = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person")
    return sign_pdf(person, signer=signer_of("agency-rsa"), role="agency")


def test_person_picture_is_blue_above_the_name_and_seal_is_red(signed_notice, sample_pdf,
                                                               tmp_path):
    page = _render(signed_notice, tmp_path)
    blank = _render(sample_pdf, tmp_path)
    sigs = {s.role: s for s in existing_signatures(signed_notice)}
    person, agency = sigs["person"].box, sigs["agency"].box
    assert _count(blank, person, 842, _blue) == 0
    px1, py1, px2, py2 = person
    right_two_thirds = (px1 + (px2 - px1) / 3, py1, px2, py2)
    assert _count(page, right_two_thirds, 842, _blue) > 150
    # The seal fits the free gap between the position line and the name (76 pt here): at
    # most actual size (36 mm, 102 pt), never over the text of the block.
    diameter = agency[3] - agency[1]
    assert 60 <= diameter <= 102
    seal = (agency[2] - diameter, agency[1], agency[2], agency[3])
    assert _count(page, seal, 842, _red) > diameter * diameter * 0.1
    # The name printed under the picture stays readable: no picture over its line.
    name_line = (px1, py1 - 18, px2, py1 - 2)
    assert _count(page, name_line, 842, _blue) == 0
    # The seal is drawn at the size of its box.
    rows = range(int(842 - agency[3]), int(842 - agency[1]))
    reds = [x for x in range(int(agency[2] - diameter) - 8, int(agency[2]) + 2) for y in rows
            if _red(*page.getpixel((x, y)))]
    assert diameter - 12 <= max(reds) - min(reds) <= diameter + 4
