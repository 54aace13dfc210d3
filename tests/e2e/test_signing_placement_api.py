"""Automatic placement through the HTTP API: scans repaired at upload and signed with OCR
placement, the preview (dry run), issuance that writes number and date, and errors a person
can act on.
"""

from __future__ import annotations

import io
import json

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import NOTICE_METADATA
from tests.e2e import test_signing_api as base
from tests.support.notices import Notice, build, scan_of

served_pki, pki, responders, trust_root, nssdb, pdfsig, assert_verified = (
    base.served_pki, base.pki, base.responders, base.trust_root, base.nssdb, base.pdfsig,
    base.assert_verified)
settings, world = base.settings, base.world
sign, versions = base.sign, base.versions

LEFT_MARGIN_NOTICE = Notice("readme-left-margin", block_centre=109, recipients_below=True,
                            gap=44)


def post(client, data: bytes):
    boundary, body = encode_multipart(MultiDict({
        "metadata": json.dumps(NOTICE_METADATA),
        "file": FileStorage(io.BytesIO(data), "scan.pdf", content_type="application/pdf")}))
    return client.post("/api/v1/documents", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_scan_pyhanko_refuses_is_repaired_at_upload_and_the_original_kept(world):
    scan = scan_of(build(Notice("scan")))
    assert b"0000000000 65536 f" in scan
    with pytest.raises(Exception):  # noqa: B017 - the reader that signs refuses it as is
        IncrementalPdfFileWriter(io.BytesIO(scan))
    created = post(world["vanthu"], scan)
    assert created.status_code == 201, created.json
    body = created.json
    assert [w["code"] for w in body["warnings"]] == ["pdf_repaired"]
    assert [v["kind"] for v in body["versions"]] == ["original", "repaired"]
    clerk = world["vanthu"]
    original = clerk.get(f"/api/v1/documents/{body['id']}/versions/1/content").data
    assert original == scan
    working = clerk.get(f"/api/v1/documents/{body['id']}/content").data
    IncrementalPdfFileWriter(io.BytesIO(working))  # the signer reads the working version


def test_pdf_nobody_can_repair_is_refused_at_upload_with_nothing_stored(world):
    broken = build(Notice("broken"))
    # a page tree whose /Kids point nowhere: qpdf and pyHanko both give up
    broken = broken.replace(b"/Pages", b"/Pagez", 1)
    response = post(world["vanthu"], broken)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] in ("invalid_pdf", "unsignable_pdf")
    listing = world["vanthu"].get("/api/v1/documents").json["data"]
    assert listing == []


def test_scan_signs_with_ocr_placement_and_verifies(world, assert_verified):
    clerk, signer = world["vanthu"], world["viet"]
    scan = scan_of(build(LEFT_MARGIN_NOTICE))
    created = post(clerk, scan)
    doc_id = created.json["id"]
    assert clerk.post(f"/api/v1/documents/{doc_id}/register").status_code == 200
    person = sign(signer, doc_id, role="person", signer="demo-person", level="B-B")
    assert person.status_code == 201, person.json
    agency = sign(clerk, doc_id, role="agency", signer="demo-agency", level="B-B")
    assert agency.status_code == 201, agency.json
    signed = clerk.get(f"/api/v1/documents/{doc_id}/content").data
    assert_verified(signed, fields=["Sig_person_1", "Sig_agency_1"])
    working = clerk.get(f"/api/v1/documents/{doc_id}/versions/2/content").data
    assert signed.startswith(working)  # the repaired working version is not altered by OCR
    from docsvc.signing import existing_signatures

    boxes = {s.role: s.box for s in existing_signatures(signed)}
    px1, py1, px2, py2 = boxes["person"]
    assert px1 >= 12 and py1 > 400  # over the name at the left margin, inside the page
    sx1, _sy1, sx2, _sy2 = boxes["agency"]
    assert sx1 >= 12 and sx1 < px1 + (px2 - px1) / 3 and sx2 > px1


def upload_notice(client, notice: Notice, *, register: bool = True) -> str:
    created = post(client, build(notice))
    assert created.status_code == 201, created.json
    doc_id = created.json["id"]
    if register:
        assert client.post(f"/api/v1/documents/{doc_id}/register").status_code == 200
    return doc_id


def test_dry_run_previews_page_boxes_and_png_and_signs_nothing(world):
    import base64

    from PIL import Image

    clerk, signer = world["vanthu"], world["viet"]
    doc_id = upload_notice(clerk, LEFT_MARGIN_NOTICE)
    preview = sign(signer, doc_id, role="person", signer="demo-person", dry_run=True)
    assert preview.status_code == 200, preview.json
    body = preview.json
    assert body["page"] == 1 and body["page_size"] == [595.0, 842.0]
    px1, py1, px2, py2 = body["boxes"]["person"]
    sx1, _sy1, sx2, _sy2 = body["boxes"]["seal"]
    assert px1 >= 12 and sx1 >= 12 and sx1 < px1 + (px2 - px1) / 3 < sx2 + (px2 - px1) / 3
    image = Image.open(io.BytesIO(base64.b64decode(body["png_base64"])))
    assert image.size == (595, 842)
    # the person box is outlined in blue where the JSON says
    assert image.convert("RGB").getpixel((int(px1 + 20), int(842 - py2))) == (30, 60, 220)
    assert versions(clerk, doc_id) == [1]  # nothing signed
    signed = sign(signer, doc_id, role="person", signer="demo-person", level="B-B")
    assert signed.status_code == 201
    from docsvc.signing import existing_signatures

    made = existing_signatures(clerk.get(f"/api/v1/documents/{doc_id}/content").data)[0].box
    assert made == pytest.approx(tuple(body["boxes"]["person"]), abs=0.01)
    seal_preview = sign(clerk, doc_id, role="agency", signer="demo-agency", dry_run=True)
    assert seal_preview.status_code == 200
    assert seal_preview.json["boxes"]["seal"] == body["boxes"]["seal"]
    assert seal_preview.json["boxes"]["person"] == pytest.approx(list(made), abs=0.01)


def test_dry_run_when_nothing_fits_is_422_with_page_size_and_area(world):
    clerk, signer = world["vanthu"], world["viet"]
    doc_id = upload_notice(clerk, Notice("no-name", signers=(base_signer("Trần Văn Khác"),)))
    preview = sign(signer, doc_id, role="person", signer="demo-person", dry_run=True)
    assert preview.status_code == 422
    assert preview.json["error"]["code"] == "signature_placement"
    assert versions(clerk, doc_id) == [1]


def base_signer(name: str):
    from tests.support.notices import Signer

    return Signer(name)


def test_signing_errors_say_why_and_what_next_without_library_words(world, monkeypatch):
    clerk, signer = world["vanthu"], world["viet"]
    doc_id = upload_notice(clerk, Notice("errors"))
    # an unexpected failure inside the signing library
    from pyhanko.sign.signers import pdf_signer

    def broken(*args, **kwargs):
        raise ValueError("internal pyhanko words xyzzy")

    monkeypatch.setattr(pdf_signer.PdfSigner, "init_signing_session", broken)
    failed = sign(signer, doc_id, role="person", signer="demo-person", level="B-B")
    assert failed.json["error"]["code"] == "signing_failed"
    assert "xyzzy" not in failed.get_data(as_text=True)
    assert "Hãy thử lại" in failed.json["error"]["message"]
    assert failed.json["error"]["details"]["stage"] == "signing"
    monkeypatch.undo()
    # placement: the name is not on the page; the message says how to go on
    missing = sign(signer, doc_id, role="person", signer="demo-person", level="B-B",
                   placement={"search": "Không Có Tên Này"})
    assert missing.status_code == 422 and missing.json["error"]["code"] == "signature_placement"
    assert "chỉ ra vị trí" in missing.json["error"]["message"]
    # the web page says the same in Vietnamese
    assert versions(clerk, doc_id) == [1]


def test_register_with_printed_number_is_imported_and_duplicates_refused(world):
    clerk = world["vanthu"]
    first = upload_notice(clerk, Notice("imported"), register=False)
    second = upload_notice(clerk, Notice("imported-again"), register=False)
    done = clerk.post(f"/api/v1/documents/{first}/register", json={"number": 185,
                                                                   "imported": True})
    assert done.status_code == 200, done.json
    assert done.json["code_number"] == "185" and done.json["status"] == "registered"
    again = clerk.post(f"/api/v1/documents/{second}/register", json={"number": "185",
                                                                     "imported": True})
    assert again.status_code == 409 and again.json["error"]["code"] == "number_taken"


def test_issue_through_the_api_writes_the_registers_number_and_date(world, assert_verified):
    clerk, signer = world["vanthu"], world["viet"]
    doc_id = upload_notice(clerk, LEFT_MARGIN_NOTICE, register=False)
    person = sign(signer, doc_id, role="person", signer="demo-person")
    assert person.status_code == 201, person.json
    issued = sign(clerk, doc_id, role="agency", signer="demo-agency")
    assert issued.status_code == 201, issued.json
    doc = clerk.get(f"/api/v1/documents/{doc_id}").json
    assert doc["status"] == "registered" and doc["code_number"] == "01"
    pdf = clerk.get(f"/api/v1/documents/{doc_id}/content").data
    assert_verified(pdf, fields=["Sig_person_1", "Sig_agency_1"])
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        text = subprocess.run(["pdftotext", "-l", "1", fh.name, "-"], capture_output=True,
                              text=True, check=True).stdout
    assert "01" in text  # poppler renders the filled number field
    number = doc["versions"][-1]["number"]
    report = clerk.get(f"/api/v1/documents/{doc_id}/versions/{number}/verification")
    assert report.status_code == 200, report.json
    person_report = report.json["signatures"][0]
    assert person_report["modification_level"] == "FORM_FILLING"
    assert "ISSUE_FIELDS_FILLED" in [n["code"] for n in person_report["notes"]]
