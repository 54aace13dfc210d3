"""Number and date at issuance: the person signs the draft, the clerk's agency signature issues
it (number and date written on page 1, in the register in issuance order); a failed signing
burns no number; already-numbered documents are entered with their printed number.
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select, update

from docsvc.models import Document, RegisterCounter, RegisterEntry
from docsvc.security import OPERATOR
from docsvc.services.documents import NumberTakenError, import_numbered
from docsvc.services.signing import SignatureRequest, sign_document
from docsvc.signing.errors import CertificateRejectedError
from docsvc.signing.issuance import FIELD_DAY, FIELD_MONTH, FIELD_NUMBER, FIELD_YEAR, issue_texts
from docsvc.storage import read_verified
from docsvc.verify import Indication, load_trust
from docsvc.verify.validate import validate_pdf
from tests.support.notices import Notice, build
from tests.support.signing import CLERK, SIGNER

PERSON = SignatureRequest(role="person", signer="demo-person", level="B-B")
AGENCY = SignatureRequest(role="agency", signer="demo-agency", level="B-B")
WHEN = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the demo certificates start today
TODAY = WHEN.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()


@pytest.fixture
def draft(make_notice):
    def make() -> str:
        return make_notice(register=False, data=build(Notice("issue")))
    return make


def _sign(session, blobs, tools, doc_id, request, actor):
    return sign_document(session, blobs, tools, document_id=doc_id, request=request,
                         actor=actor, signing_time=WHEN)


def _latest(session, blobs, doc_id) -> bytes:
    session.expire_all()
    document = session.get(Document, doc_id)
    with read_verified(blobs, document.latest_version.blob_key) as stream:
        return stream.read()


def _values(pdf: bytes) -> dict[str, str]:
    reader = PdfFileReader(io.BytesIO(pdf))
    form = reader.root["/AcroForm"]
    return {str(f.get_object()["/T"]): str(f.get_object()["/V"])
            for f in form["/Fields"] if "/V" in f.get_object()
            and f.get_object()["/FT"] == "/Tx"}


def _entries(session) -> list[tuple[int, str, bool]]:
    session.expire_all()
    return [(e.number, e.document_id, e.imported) for e in session.execute(
        select(RegisterEntry).order_by(RegisterEntry.number)).scalars()]


def test_person_signs_the_draft_then_the_agency_issues_number_and_date(
        session, blobs, tools, profiles, draft, pki):
    doc_id = draft()
    person = _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    assert person.document.status == "draft" and _entries(session) == []
    issued = _sign(session, blobs, tools, doc_id, AGENCY, CLERK)
    assert [w.code for w in issued.warnings] == []
    document = session.get(Document, doc_id)
    assert document.status == "registered" and document.code_number == "01"
    assert document.issued_date == TODAY
    assert _entries(session) == [(1, doc_id, False)]
    pdf = _latest(session, blobs, doc_id)
    # the number and date on the PDF are the register's
    assert _values(pdf) == {FIELD_NUMBER: "01", FIELD_DAY: f"{TODAY.day:02d}",
                            FIELD_MONTH: issue_texts("01", None, TODAY,
                                                     number_has_notation=True)[FIELD_MONTH]}
    report = validate_pdf(pdf, load_trust([pki.root_cert_path.parent]))
    person_report, agency_report = report.signatures
    assert person_report.indication == Indication.TOTAL_PASSED
    assert agency_report.indication == Indication.TOTAL_PASSED
    # only the number and date fields changed after the person signed: form filling
    assert person_report.modification_level == "FORM_FILLING"
    assert {FIELD_NUMBER, FIELD_DAY, FIELD_MONTH} <= set(person_report.changed_fields) <= {
        FIELD_NUMBER, FIELD_DAY, FIELD_MONTH, "Sig_agency_1"}
    codes = [n.code for n in person_report.notes]
    assert "ISSUE_FIELDS_FILLED" in codes


def test_register_order_is_issuance_order(session, blobs, tools, profiles, draft):
    first, second = draft(), draft()
    for doc_id in (first, second):
        _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    _sign(session, blobs, tools, second, AGENCY, CLERK)  # the second is issued first
    _sign(session, blobs, tools, first, AGENCY, CLERK)
    assert _entries(session) == [(1, second, False), (2, first, False)]


def test_a_failed_agency_signing_burns_no_number(session, blobs, tools, profiles, draft,
                                                 monkeypatch):
    doc_id = draft()
    _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    import docsvc.services.signing as service

    real = service.sign_bytes

    def refused(*args, **kwargs):
        if kwargs.get("role") == "agency":
            raise CertificateRejectedError("revoked")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "sign_bytes", refused)
    with pytest.raises(CertificateRejectedError):
        _sign(session, blobs, tools, doc_id, AGENCY, CLERK)
    session.expire_all()
    assert _entries(session) == []
    assert session.get(Document, doc_id).status == "draft"
    assert session.execute(select(RegisterCounter.last_number)).scalars().all() in ([], [0])
    monkeypatch.setattr(service, "sign_bytes", real)
    _sign(session, blobs, tools, doc_id, AGENCY, CLERK)
    assert _entries(session) == [(1, doc_id, False)]


def test_number_taken_meanwhile_is_signed_again_with_the_next(session, blobs, tools, profiles,
                                                              draft, monkeypatch):
    doc_id, other = draft(), draft()
    session.execute(update(Document).where(Document.id == other).values(issued_date=TODAY))
    session.commit()  # printed with this year's date
    _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    import docsvc.services.signing as service

    real = service.sign_bytes
    calls = []

    def racing(*args, **kwargs):
        if kwargs.get("role") == "agency" and not calls:
            calls.append(1)
            # another clerk imports number 1 while this signature is being made
            import_numbered(session, document_id=other, actor=OPERATOR, number=1,
                            zone=tools.settings.zone, now=WHEN)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "sign_bytes", racing)
    _sign(session, blobs, tools, doc_id, AGENCY, CLERK)
    assert _entries(session) == [(1, other, True), (2, doc_id, False)]
    assert _values(_latest(session, blobs, doc_id))[FIELD_NUMBER] == "02"


def test_already_numbered_document_is_imported_with_its_printed_number(
        session, blobs, tools, profiles, make_notice):
    doc_id = make_notice(register=False)  # the sample prints "Số: 185/TB-UBND"
    document, _ = import_numbered(session, document_id=doc_id, actor=CLERK, number="185",
                                  zone=tools.settings.zone, now=WHEN)
    assert document.code_number == "185" and document.status == "registered"
    assert _entries(session) == [(185, doc_id, True)]
    another = make_notice(register=False)
    with pytest.raises(NumberTakenError) as caught:
        import_numbered(session, document_id=another, actor=CLERK, number=185,
                        zone=tools.settings.zone, now=WHEN)
    assert caught.value.status == 409 and caught.value.code == "number_taken"
    # signing an imported document writes nothing over its printed number
    _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    sealed = _sign(session, blobs, tools, doc_id, AGENCY, CLERK)
    assert [w.code for w in sealed.warnings] == ["issue_not_written"]
    assert _entries(session) == [(185, doc_id, True)]


def test_counter_skips_imported_numbers(session, blobs, tools, profiles, draft):
    imported, issued = draft(), draft()
    session.execute(update(Document).where(Document.id == imported).values(issued_date=TODAY))
    session.commit()
    import_numbered(session, document_id=imported, actor=CLERK, number=1,
                    zone=tools.settings.zone, now=WHEN)
    _sign(session, blobs, tools, issued, PERSON, SIGNER)
    _sign(session, blobs, tools, issued, AGENCY, CLERK)
    assert _entries(session) == [(1, imported, True), (2, issued, False)]


def test_date_and_number_are_written_as_nghi_dinh_30_does():
    assert issue_texts("05", "TB-VP", dt.date(2026, 2, 3), number_has_notation=True) == {
        FIELD_NUMBER: "05", FIELD_DAY: "03", FIELD_MONTH: "02", FIELD_YEAR: "2026"}
    assert issue_texts("12", "TB-VP", dt.date(2026, 11, 23), number_has_notation=False)[
        FIELD_NUMBER] == "12/TB-VP"
    assert issue_texts("12", None, dt.date(2026, 3, 9), number_has_notation=False)[
        FIELD_MONTH] == "3"
