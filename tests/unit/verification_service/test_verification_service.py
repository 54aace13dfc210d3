"""The verification use cases against a real database and the memory blob store, with PDFs
signed by the verifier's test PKI.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from docsvc.config import Settings
from docsvc.errors import NotFoundError, PermissionDeniedError, UnsupportedMediaTypeError
from docsvc.models import AuditEntry, Document, VerificationResult
from docsvc.security import OPERATOR, Actor
from docsvc.services import verification as svc
from docsvc.verify import Indication, SignatureNotFoundError, TrustStoreError
from tests.support.data import PROVINCE_CLERK as CLERK
from tests.support.pki import revoke

SYSTEM = Actor(kind="system", name="lienthong", organ_id="000.00.53.H48")
STRANGER = Actor(kind="user", name="khac", organ_id="000.01.02.H48", roles=frozenset({"clerk"}))


def _audit(session, action):
    return session.execute(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.seq)).scalars().all()


def _results(session):
    return session.execute(select(VerificationResult).order_by(VerificationResult.id)).scalars().all()


# -- verify a file ---------------------------------------------------------------------------


def test_upload_passes_and_keeps_only_the_audit_entry(session, verifier, signed_pdf):
    report = svc.verify_upload(session, verifier, read=lambda: signed_pdf, actor=CLERK,
                               filename="tb.pdf")
    assert report.verdict is Indication.TOTAL_PASSED
    assert report.signatures[0].signer.common_name == "Nguyễn Văn An"
    [entry] = _audit(session, "verification.run")
    assert entry.content_sha256 == report.sha256 and entry.actor == "user:vanthu"
    assert entry.details["verdict"] == "TOTAL_PASSED"
    assert _results(session) == []
    assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0


def test_upload_that_is_not_a_pdf_is_refused(session, verifier):
    with pytest.raises(UnsupportedMediaTypeError):
        svc.verify_upload(session, verifier, read=lambda: b"PK\x03\x04 a zip file", actor=CLERK)
    assert _audit(session, "verification.run") == []


def test_damaged_pdf_is_a_format_failure_report(session, verifier, signed_pdf):
    report = svc.verify_upload(session, verifier, read=lambda: signed_pdf[: len(signed_pdf) // 2],
                               actor=CLERK)
    assert report.verdict is not Indication.TOTAL_PASSED
    assert "FORMAT_FAILURE" in {report.sub_indication} | {s.sub_indication for s in report.signatures}


def test_linked_system_may_not_verify_files_and_the_refusal_is_recorded(session, verifier):
    def read():  # never called: the permission check comes first
        raise AssertionError("read before the permission check")

    with pytest.raises(PermissionDeniedError):
        svc.verify_upload(session, verifier, read=read, actor=SYSTEM)
    [entry] = _audit(session, "verification.run")
    assert entry.outcome == "denied"


def test_untrusted_signer_is_indeterminate(session, test_pki, original_pdf, verifier):
    report = svc.verify_upload(session, verifier, actor=CLERK,
                               read=lambda: test_pki.sign(original_pdf, test_pki.impostor))
    assert report.verdict is Indication.INDETERMINATE


# -- stored versions -------------------------------------------------------------------------


def test_stored_version_result_is_kept_with_its_evidence(session, blobs, verifier, test_pki,
                                                         original_pdf, store_document):
    data = test_pki.sign(original_pdf, level="B-LT")
    doc_id, number = store_document(data)
    version, report, result = svc.verify_version(session, blobs, verifier, document_id=doc_id,
                                                 number=number, actor=CLERK)
    assert report.verdict is Indication.TOTAL_PASSED and report.signatures[0].level == "B-LT"
    [row] = _results(session)
    assert (row.document_id, row.version_number, row.sha256) == (doc_id, 2, version.sha256)
    assert row.verdict == "TOTAL_PASSED" and row.source == "api" and row.created_by == "user:vanthu"
    assert row.trust_fingerprint == verifier.fingerprint
    kinds = {e["kind"] for e in row.report["signatures"][0]["evidence"]}
    assert {"certificate", "crl"} <= kinds
    assert row.signatures == [{"field_name": "Sig1", "indication": "TOTAL_PASSED",
                               "sub_indication": None}]
    [entry] = _audit(session, "verification.run")
    assert (entry.object_id, entry.content_sha256) == (doc_id, version.sha256)
    assert entry.details == {"version": 2, "verdict": "TOTAL_PASSED"}


def test_other_organisation_cannot_verify_a_stored_version(session, blobs, verifier, signed_pdf,
                                                           store_document):
    doc_id, number = store_document(signed_pdf)
    with pytest.raises(NotFoundError):
        svc.verify_version(session, blobs, verifier, document_id=doc_id, number=number,
                           actor=STRANGER)
    with pytest.raises(NotFoundError):
        svc.verify_version(session, blobs, verifier, document_id=doc_id, number=9, actor=CLERK)
    assert _results(session) == []


def test_signed_revision_is_what_each_signature_covers(session, blobs, test_pki, original_pdf,
                                                       store_document):
    first = test_pki.sign(original_pdf, test_pki.person, field_name="NguoiKy")
    both = test_pki.sign(first, test_pki.agency, field_name="CoQuan", level="B-T")
    doc_id, number = store_document(both)
    kw = {"document_id": doc_id, "number": number, "actor": CLERK}
    assert svc.signed_revision_of(session, blobs, signature=1, **kw)[1] == first
    assert svc.signed_revision_of(session, blobs, signature=2, **kw)[1] == both
    for missing in (0, 3):
        with pytest.raises(SignatureNotFoundError):
            svc.signed_revision_of(session, blobs, signature=missing, **kw)


# -- trust -----------------------------------------------------------------------------------


def test_missing_trust_folder_is_a_configuration_error(tmp_path):
    with pytest.raises(TrustStoreError):
        svc.make_verifier(Settings(env="test", trust_dirs=(tmp_path / "nowhere",)))


def test_trust_fingerprint_changes_with_a_new_crl(test_pki, trust_dir, verifier):
    assert svc.make_verifier(Settings(env="test", trust_dirs=(trust_dir,))).fingerprint \
        == verifier.fingerprint
    revoke(test_pki, trust_dir, test_pki.person)
    assert svc.make_verifier(Settings(env="test", trust_dirs=(trust_dir,))).fingerprint \
        != verifier.fingerprint


# -- the archive -----------------------------------------------------------------------------


def test_archive_finds_a_signer_revoked_since_the_last_run(session, blobs, test_pki, trust_dir,
                                                           verifier, signed_pdf, original_pdf,
                                                           store_document):
    revoked_doc, _ = store_document(signed_pdf)
    other_doc, _ = store_document(test_pki.sign(original_pdf, test_pki.agency))
    first = svc.audit_archive(session, blobs, verifier, actor=OPERATOR)
    assert (first.checked, first.first_time, first.changes) == (2, 2, [])
    assert first.verdicts == {"TOTAL_PASSED": 2}

    again = svc.audit_archive(session, blobs, verifier, actor=OPERATOR)
    assert (again.checked, again.unchanged, again.changes) == (2, 2, [])

    revoke(test_pki, trust_dir, test_pki.person)
    seen = []
    later = svc.audit_archive(session, blobs, svc.make_verifier(Settings(trust_dirs=(trust_dir,))),
                              actor=OPERATOR, on_change=seen.append)
    [change] = later.changes
    assert seen == [change]
    assert (change.document_id, change.version, change.before) == (revoked_doc, 2, "TOTAL_PASSED")
    assert change.after != "TOTAL_PASSED" and change.trust_changed
    assert change.signatures_after[0]["sub_indication"] in {"REVOKED", "REVOKED_NO_POE"}
    assert later.unchanged == 1 and not later.is_quiet
    assert len(_results(session)) == 6
    [entry] = _audit(session, "verification.changed")
    assert entry.object_id == revoked_doc and entry.details["before"] == "TOTAL_PASSED"
    assert len(_audit(session, "verification.archive")) == 3
    assert other_doc != revoked_doc


def test_archive_finds_a_withdrawn_trust_anchor(session, blobs, trust_dir, verifier, signed_pdf,
                                                store_document, tmp_path):
    store_document(signed_pdf)
    svc.audit_archive(session, blobs, verifier, actor=OPERATOR)
    (trust_dir / "root.pem").unlink()
    report = svc.audit_archive(session, blobs, svc.make_verifier(Settings(trust_dirs=(trust_dir,))),
                               actor=OPERATOR)
    [change] = report.changes
    assert (change.before, change.after) == ("TOTAL_PASSED", "INDETERMINATE")


def test_archive_goes_in_batches_and_skips_unsigned_versions(session, blobs, verifier, signed_pdf,
                                                             original_pdf, store_document):
    for _ in range(5):
        store_document(signed_pdf)
    store_document(original_pdf, kind="original")
    external, _ = store_document(signed_pdf, kind="original")  # signed elsewhere, uploaded
    report = svc.audit_archive(session, blobs, verifier, actor=OPERATOR, batch_size=2)
    assert report.checked == 5
    everything = svc.audit_archive(session, blobs, verifier, actor=OPERATOR, batch_size=2,
                                   every_version=True)
    assert everything.checked == 6 and everything.first_time == 1
    by_version = {(r.document_id, r.version_number) for r in _results(session)}
    assert (external, 1) in by_version
    # once a result shows signatures, the default run takes that version too
    assert svc.audit_archive(session, blobs, verifier, actor=OPERATOR).checked == 6


def test_archive_reports_missing_and_altered_bytes(session, blobs, verifier, signed_pdf,
                                                   original_pdf, test_pki, store_document):
    gone, _ = store_document(signed_pdf)
    altered, _ = store_document(test_pki.sign(original_pdf, test_pki.agency))
    versions = {d.id: d.latest_version for d in session.execute(select(Document)).scalars()}
    blobs.delete(versions[gone].blob_key)
    blobs.overwrite(versions[altered].blob_key, b"%PDF-1.7 altered")
    report = svc.audit_archive(session, blobs, verifier, actor=OPERATOR)
    assert report.checked == 0 and not report.is_quiet
    assert sorted((u["document_id"], u["error"]) for u in report.unreadable) == sorted(
        [(gone, "blob_missing"), (altered, "blob_corrupted")])


def test_archive_result_does_not_reuse_the_api_source(session, blobs, verifier, signed_pdf,
                                                      store_document):
    store_document(signed_pdf)
    svc.audit_archive(session, blobs, replace(verifier), actor=OPERATOR)
    assert [r.source for r in _results(session)] == ["archive"]
    assert [r.created_by for r in _results(session)] == ["operator:cli"]


def test_upload_hash_given_by_the_caller_is_what_the_audit_records(session, verifier, signed_pdf):
    known = hashlib.sha256(signed_pdf).hexdigest()
    report = svc.verify_upload(session, verifier, read=lambda: signed_pdf, actor=CLERK,
                               sha256=known)
    assert report.sha256 == known and report.verdict is Indication.TOTAL_PASSED
    [entry] = _audit(session, "verification.run")
    assert entry.content_sha256 == known


def test_stored_version_report_carries_the_checked_content_hash(session, blobs, verifier,
                                                                signed_pdf, store_document):
    doc_id, number = store_document(signed_pdf)
    _, report, result = svc.verify_version(session, blobs, verifier, document_id=doc_id,
                                           number=number, actor=CLERK)
    assert report.sha256 == result.sha256 == hashlib.sha256(signed_pdf).hexdigest()


def test_verifier_takes_the_network_timeout_from_the_settings(trust_dir):
    settings = Settings(env="test", trust_dirs=(trust_dir,), network_timeout_seconds=4.5)
    assert svc.make_verifier(settings).fetch_timeout == 4.5
