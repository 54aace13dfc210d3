"""Signing without services: key sources, placement search, formats, and the key-once rule."""

from __future__ import annotations

import datetime as dt

import pytest

from docsvc.errors import ConfigError
from docsvc.signing import Placement, existing_signatures, load_pkcs12_signer, read_secret, sign_pdf
from docsvc.signing.appearance import iso_vn
from docsvc.signing.errors import PlacementError, SignerUnavailableError, WrongPinError
from docsvc.signing.sign import _pages, _target


def test_iso_time_in_vietnam_zone():
    moment = dt.datetime(2018, 6, 19, 8, 4, 5, tzinfo=dt.UTC)
    assert iso_vn(moment) == "2018-06-19T15:04:05+07:00"
    with pytest.raises(ValueError):
        iso_vn(dt.datetime(2018, 6, 19))


def test_read_secret_from_file_and_environment(tmp_path):
    path = tmp_path / "pass"
    path.write_bytes(b"s3cret\n")
    assert read_secret(file=path) == b"s3cret"
    assert read_secret(env="X_PASS", environ={"X_PASS": "abc"}) == b"abc"
    with pytest.raises(ConfigError):
        read_secret(env="X_PASS", environ={})
    with pytest.raises(ConfigError):
        read_secret()


def test_wrong_pkcs12_passphrase_is_refused(pki):
    with pytest.raises(WrongPinError):
        load_pkcs12_signer(pki["person-rsa"].p12_path, passphrase=b"nope")
    with pytest.raises(SignerUnavailableError):
        load_pkcs12_signer(pki.directory / "missing.p12", passphrase=b"x")


def test_key_is_parsed_once_not_per_signature(person_signer, sample_pdf, monkeypatch):
    from pyhanko.sign.signers import pdf_cms

    def refuse(*args, **kwargs):
        raise AssertionError("the private key was parsed again")

    monkeypatch.setattr(pdf_cms.serialization, "load_der_private_key", refuse)
    signed = sign_pdf(sample_pdf, signer=person_signer, role="person")
    assert len(existing_signatures(signed)) == 1


def test_signer_name_is_found_and_picture_goes_just_above(sample_pdf):
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(sample_pdf))
    target = _target("person", sample_pdf, reader, None, [], "Nguyễn Quốc Việt")
    x1, y1, x2, y2 = target.box
    assert target.page_index == 0 and target.field_name == "Sig_person_1"
    assert 390 < y1 < 400  # the name's baseline is at 380 pt, 12 pt text (glyph boxes are tight)
    assert (x1 + x2) / 2 == pytest.approx(410, abs=2)  # centred on the name
    assert y2 < 472  # below the position line "PHÓ CHÁNH VĂN PHÒNG"
    assert len(_pages(reader)) == 1


def test_unknown_name_and_bad_page_are_placement_errors(sample_pdf, person_signer):
    with pytest.raises(PlacementError):
        sign_pdf(sample_pdf, signer=person_signer, role="person",
                 placement=Placement(search="Trần Văn Không"))
    with pytest.raises(PlacementError):
        sign_pdf(sample_pdf, signer=person_signer, role="person",
                 placement=Placement(page=3, box=(1, 1, 50, 50)))
    with pytest.raises(PlacementError):
        sign_pdf(sample_pdf, signer=person_signer, role="agency")  # no person signature yet


def test_explicit_box_and_existing_empty_field(sample_pdf, person_signer):
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    boxed = sign_pdf(sample_pdf, signer=person_signer, role="person",
                     placement=Placement(page=1, box=(300, 390, 450, 455)))
    assert existing_signatures(boxed)[0].box == (300, 390, 450, 455)
    writer = IncrementalPdfFileWriter(BytesIO(sample_pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec("ChuKy", box=(300, 390, 450, 455)))
    out = BytesIO()
    writer.write(out)
    into = sign_pdf(out.getvalue(), signer=person_signer, role="person",
                    placement=Placement(field="ChuKy"))
    assert [s.field_name for s in existing_signatures(into)] == ["ChuKy"]


def test_bad_role_and_level_are_bad_requests(sample_pdf, person_signer):
    from docsvc.errors import BadRequestError

    with pytest.raises(BadRequestError):
        sign_pdf(sample_pdf, signer=person_signer, role="clerk")
    with pytest.raises(BadRequestError):
        sign_pdf(sample_pdf, signer=person_signer, role="person", level="B-T")
    with pytest.raises(BadRequestError):
        sign_pdf(sample_pdf, signer=person_signer, role="person", level="B-X")
