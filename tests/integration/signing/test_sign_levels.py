"""Person then agency signatures at every PAdES level, RSA and ECDSA, verified by pdfsig and
by pyHanko against the demo root.
"""

from __future__ import annotations

import subprocess
import unicodedata
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from docsvc.signing import existing_signatures, sign_pdf

LEVELS = ["B-B", "B-T", "B-LT", "B-LTA"]


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
@pytest.mark.parametrize("level", LEVELS)
def test_person_then_agency_verify_everywhere(level, algorithm, sample_pdf, signer_of,
                                               timestamper, validation_context, assert_verified):
    kwargs = {"level": level, "timestamper": timestamper if level != "B-B" else None,
              "validation_context": validation_context}
    person = sign_pdf(sample_pdf, signer=signer_of(f"person-{algorithm}"), role="person",
                      **kwargs)
    assert person.startswith(sample_pdf)  # incremental update: the original bytes stay
    assert_verified(person, fields=["Sig_person_1"])
    both = sign_pdf(person, signer=signer_of(f"agency-{algorithm}"), role="agency", **kwargs)
    assert both.startswith(person)
    statuses = assert_verified(both, fields=["Sig_person_1", "Sig_agency_1"])
    assert statuses[0].coverage.name == "ENTIRE_REVISION"
    assert statuses[1].coverage.name in ("ENTIRE_FILE", "ENTIRE_REVISION")
    reader = PdfFileReader(BytesIO(both))
    for status in statuses:
        if level == "B-B":
            assert status.timestamp_validity is None
        else:
            assert status.timestamp_validity.valid and status.timestamp_validity.trusted
    has_dss = "/DSS" in reader.root
    assert has_dss == (level in ("B-LT", "B-LTA"))
    timestamps = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    assert len(timestamps) == (2 if level == "B-LTA" else 0)


def test_default_level_is_lt_with_tsa_and_b_without(sample_pdf, signer_of, timestamper,
                                                     validation_context):
    plain = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person")
    assert "/DSS" not in PdfFileReader(BytesIO(plain)).root
    lt = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person",
                  timestamper=timestamper, validation_context=validation_context)
    reader = PdfFileReader(BytesIO(lt))
    assert "/DSS" in reader.root
    assert reader.embedded_regular_signatures[0].signer_info["unsigned_attrs"].native


def test_agency_seal_sits_over_left_third_of_person_picture(sample_pdf, signer_of):
    person = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person")
    both = sign_pdf(person, signer=signer_of("agency-rsa"), role="agency")
    sigs = {s.role: s for s in existing_signatures(both)}
    px1, py1, px2, py2 = sigs["person"].box
    ax1, ay1, ax2, ay2 = sigs["agency"].box
    assert ax2 == pytest.approx(px1 + (px2 - px1) / 3, abs=0.5)  # seal's right edge
    assert ay1 < (py1 + py2) / 2 < ay2
    assert sigs["person"].signer == "Nguyễn Quốc Việt"
    assert sigs["agency"].signer == "UBND tỉnh Quảng Ngãi"


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize(("role", "reference", "expected"), [
    ("attachment", "Kèm theo văn bản số 185/TB-UBND", "Kèm theo văn bản số 185/TB-UBND"),
    ("copy", "SAO Y BẢN CHÍNH", "SAO Y BẢN CHÍNH"),
])
def test_text_stamps_extract_in_vietnamese(role, reference, expected, sample_pdf, signer_of,
                                           timestamper, validation_context, assert_verified,
                                           tmp_path):
    signed = sign_pdf(sample_pdf, signer=signer_of("agency-rsa"), role=role, level="B-T",
                      timestamper=timestamper, validation_context=validation_context,
                      reference=reference)
    assert_verified(signed, fields=[f"Sig_{role}_1"])
    text = _text(signed, tmp_path)
    assert text == unicodedata.normalize("NFC", text)
    assert expected in text
    assert "UBND tỉnh Quảng Ngãi" in text
    sig = existing_signatures(signed)[0]
    assert sig.page_index == 0 and sig.box[3] > 842 - 80  # top of page 1
    assert sig.box[0] > 595 / 2  # right half


def test_agency_stamp_text_shows_iso_time_in_vietnam_zone(sample_pdf, signer_of, tmp_path):
    import datetime as dt

    person = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person")
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    both = sign_pdf(person, signer=signer_of("agency-rsa"), role="agency", signing_time=when)
    shown = when.astimezone(dt.timezone(dt.timedelta(hours=7))).isoformat()
    assert shown.endswith("+07:00")
    text = _text(both, tmp_path)
    assert shown in text
    assert "UBND tỉnh Quảng Ngãi" in text
    sig = PdfFileReader(BytesIO(both)).embedded_regular_signatures[1]
    assert sig.self_reported_timestamp == when
