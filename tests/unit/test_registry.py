"""Registry use cases on SQLite and PostgreSQL: upload, numbering, search, versions, failures."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from docsvc.errors import (
    BadRequestError,
    BlobCorruptedError,
    InvalidPdfError,
    NotFoundError,
    PermissionDeniedError,
    StorageUnavailableError,
    UnsupportedMediaTypeError,
)
from docsvc.metadata import parse_metadata
from docsvc.models import Document, DocumentVersion, RegisterEntry
from docsvc.samples import notice_pdf
from docsvc.security import Actor
from docsvc.services import documents as svc
from docsvc.storage import LocalBlobStore
from tests.support.data import NOTICE_METADATA

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CLERK = Actor(kind="user", name="vanthu", organ_id="000.00.00.H48", roles=frozenset({"clerk"}))
SO_NOI_VU_CLERK = Actor(kind="user", name="snv", organ_id="000.00.53.H48", roles=frozenset({"clerk"}))


def upload(session, blobs, pdf=None, **changes):
    meta = parse_metadata({**NOTICE_METADATA, **changes})
    owner = meta.owner_organ_id or (meta.organ_id if meta.direction == "outgoing" else "000.00.00.H48")
    actor = CLERK if owner == CLERK.organ_id else SO_NOI_VU_CLERK
    return svc.upload_document(session, blobs, stream=io.BytesIO(pdf or notice_pdf()),
                               filename="tb.pdf", metadata=meta, owner_organ_id=owner, actor=actor)


CLEARED_CLERK = Actor(kind="user", name="vtmat", organ_id="000.00.00.H48", roles=frozenset({"clerk"}),
                      clearance="mat")


def register(session, doc, when=None):
    actor = CLERK if doc.owner_organ_id == CLERK.organ_id else SO_NOI_VU_CLERK
    if doc.secrecy != "none":
        actor = CLEARED_CLERK
    return svc.register_document(session, document_id=doc.id, actor=actor, zone=VN, now=when)


def test_upload_stores_bytes_then_row(session, blobs):
    pdf = notice_pdf(["THONG BAO 185"])
    doc, warnings = upload(session, blobs, pdf)
    assert warnings == []
    assert doc.status == "draft" and doc.code_number is None
    [version] = doc.versions
    assert (version.number, version.kind, version.size) == (1, "original", len(pdf))
    assert blobs.open(version.blob_key).read() == pdf
    assert doc.page_amount == 1


def test_outgoing_numbers_count_per_agency_and_year(session, blobs):
    jan = dt.datetime(2026, 1, 2, 3, tzinfo=dt.UTC)
    numbers = [register(session, upload(session, blobs)[0], jan)[0].code_number for _ in range(3)]
    assert numbers == ["01", "02", "03"]
    # another agency has its own register
    other, _ = upload(session, blobs, organ_id="000.00.53.H48", organ_name="Sở Nội vụ")
    assert register(session, other, jan)[0].code_number == "01"
    # 31 Dec 17:30 UTC is already 1 January in Vietnam: a new year, a new sequence
    new_year = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)
    doc, _ = register(session, upload(session, blobs)[0], new_year)
    assert doc.code_number == "01" and doc.issued_date == dt.date(2018, 6, 19)


def test_secret_documents_have_their_own_sequence(session, blobs):
    register(session, upload(session, blobs)[0])
    secret, _ = register(session, upload(session, blobs, secrecy="mat")[0])
    normal, _ = register(session, upload(session, blobs)[0])
    assert (secret.code_number, normal.code_number) == ("01", "02")
    entry = session.execute(select(RegisterEntry).where(RegisterEntry.document_id == secret.id)).scalar_one()
    assert entry.register == "outgoing_secret"
    # only people cleared for the level see it, in the registry and in the register
    with pytest.raises(NotFoundError):
        svc.get_document(session, secret.id, CLERK)
    assert svc.get_document(session, secret.id, CLEARED_CLERK).id == secret.id
    listed = {d.id for d in svc.list_documents(session, svc.DocumentQuery(), CLERK)[0]}
    assert secret.id not in listed and normal.id in listed
    year = entry.year
    assert svc.register_rows(session, organ_id=CLERK.organ_id, register="outgoing_secret", year=year,
                             actor=CLEARED_CLERK)[0].document_id == secret.id
    with pytest.raises(PermissionDeniedError):
        svc.register_rows(session, organ_id=CLERK.organ_id, register="outgoing_secret", year=year,
                          actor=CLERK)


def test_registering_twice_returns_the_same_number(session, blobs):
    doc, _ = upload(session, blobs)
    first, _ = register(session, doc)
    again, warnings = register(session, doc)
    assert again.code_number == first.code_number == "01" and warnings == []
    assert session.execute(select(func.count()).select_from(RegisterEntry)).scalar_one() == 1


def test_incoming_gets_so_den_and_arrival_date(session, blobs):
    doc, _ = upload(session, blobs, direction="incoming", code_number="185")
    when = dt.datetime(2018, 6, 20, 2, tzinfo=dt.UTC)
    registered, _ = register(session, doc, when)
    assert registered.arrival_number == 1 and registered.arrival_date == dt.date(2018, 6, 20)
    assert registered.code_number == "185"  # the sender's number is kept
    assert registered.owner_organ_id == "000.00.00.H48"


def test_given_outgoing_number_is_replaced_with_a_warning(session, blobs):
    doc, _ = upload(session, blobs, code_number="185")
    registered, warnings = register(session, doc)
    assert registered.code_number == "01"
    assert [w.code for w in warnings] == ["code_number_replaced"]
    assert warnings[0].details == {"previous": "185", "assigned": "01"}


def test_duplicate_number_notation_and_issuer_is_warned(session, blobs):
    first, warnings = upload(session, blobs, direction="incoming", code_number="185")
    assert warnings == []
    second, warnings = upload(session, blobs, direction="incoming", code_number="185")
    assert [w.code for w in warnings] == ["duplicate_number"]
    assert warnings[0].details["document_ids"] == [first.id]
    # same number from another year is not a duplicate
    _, warnings = upload(session, blobs, direction="incoming", code_number="185",
                         issued_date="2019-01-05")
    assert warnings == []


def test_search_ignores_diacritics_and_case(session, blobs):
    upload(session, blobs, subject="Về việc cải cách hành chính năm 2018")
    upload(session, blobs, subject="Thông báo lịch tiếp công dân")
    page, _ = svc.list_documents(session, svc.DocumentQuery(q="CAI CACH hanh chinh"), CLERK)
    assert [d.subject for d in page] == ["Về việc cải cách hành chính năm 2018"]
    page, _ = svc.list_documents(session, svc.DocumentQuery(q="tiếp công"), CLERK)
    assert len(page) == 1
    page, _ = svc.list_documents(session, svc.DocumentQuery(q="100%_"), CLERK)
    assert page == []


def test_search_by_number_notation(session, blobs):
    doc, _ = register(session, upload(session, blobs)[0])
    page, _ = svc.list_documents(session, svc.DocumentQuery(q="01/tb-ubnd"), CLERK)
    assert [d.id for d in page] == [doc.id]


def test_filters_and_cursor_pagination(session, blobs):
    ids = [upload(session, blobs, issued_date=f"2018-06-{d:02d}")[0].id for d in range(1, 8)]
    upload(session, blobs, direction="incoming", type_name="Công văn")
    query = svc.DocumentQuery(direction="outgoing", type_name="TB", limit=3)
    seen, after = [], None
    while True:
        paged = svc.DocumentQuery(**{**query.__dict__, "after": after})
        page, after = svc.list_documents(session, paged, CLERK)
        seen += [d.id for d in page]
        if after is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    page, _ = svc.list_documents(session, svc.DocumentQuery(
        issued_from=dt.date(2018, 6, 3), issued_to=dt.date(2018, 6, 4)), CLERK)
    assert sorted(d.issued_date.day for d in page) == [3, 4]
    with pytest.raises(BadRequestError):
        svc.list_documents(session, svc.DocumentQuery(after="not-a-cursor"), CLERK)


def test_versions_read_back_verified(session, blobs):
    pdf = notice_pdf(["v1"])
    doc, _ = upload(session, blobs, pdf)
    version, stream = svc.open_version(session, blobs, document_id=doc.id, actor=CLERK)
    with stream:
        assert version.number == 1 and stream.read() == pdf
    blobs.overwrite(version.blob_key, pdf.replace(b"v1", b"v2"))
    with pytest.raises(BlobCorruptedError):
        svc.open_version(session, blobs, document_id=doc.id, number=1, actor=CLERK)
    with pytest.raises(NotFoundError):
        svc.open_version(session, blobs, document_id=doc.id, number=2, actor=CLERK)
    with pytest.raises(NotFoundError):
        svc.get_document(session, "no-such-id", CLERK)


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"PK\x03\x04 a zip file", UnsupportedMediaTypeError),
     (b"hello", UnsupportedMediaTypeError),
     (notice_pdf()[:200], InvalidPdfError),
     (b"%PDF-1.7\n" + b"garbage " * 100, InvalidPdfError)],
)
def test_bad_files_are_refused_and_nothing_is_kept(session, blobs, data, error):
    with pytest.raises(error):
        upload(session, blobs, data)
    session.rollback()
    assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
    assert list(blobs.keys()) == []


def test_storage_down_commits_no_row(session, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(StorageUnavailableError):
        upload(session, LocalBlobStore(not_a_folder))
    session.rollback()
    assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(DocumentVersion)).scalar_one() == 0
