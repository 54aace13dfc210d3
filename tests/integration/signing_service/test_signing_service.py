"""The signing use case on SQLite (and PostgreSQL when it runs): person then agency signatures
as new versions, the rules of who may sign what, and every refusal leaving nothing stored.
"""

from __future__ import annotations

import io
import threading
from dataclasses import replace

import pytest
from pyhanko.pdf_utils.crypt import StandardSecurityHandler
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from sqlalchemy import select

from docsvc.config import Settings
from docsvc.errors import BadRequestError, BlobCorruptedError, PermissionDeniedError
from docsvc.models import AuditEntry, SignatureRecord
from docsvc.security import OPERATOR, Actor
from docsvc.services.signers import (
    DemoKeyRefusedError,
    ProfileSpec,
    SignerExistsError,
    SignerRoleMismatchError,
    SigningTools,
    UnknownSignerError,
    add_signer_profile,
    get_profile_spec,
)
from docsvc.services.signing import (
    NotRegisteredError,
    SignatureRequest,
    VersionConflictError,
    parse_signature_request,
    sign_bytes,
    sign_document,
)
from docsvc.signing import existing_signatures
from docsvc.signing.appearance import DEMO_SIGNATURE_PICTURE
from docsvc.signing.errors import (
    AlreadySignedError,
    CertificateRejectedError,
    EncryptedPdfError,
    TimestampUnavailableError,
    WrongPinError,
)
from docsvc.storage import read_verified
from tests.support.signing import CLERK, PROVINCE, SIGNER, versions_of


def _read(blobs, key: str) -> bytes:
    with read_verified(blobs, key) as stream:
        return stream.read()


PERSON = SignatureRequest(role="person", signer="demo-person")
AGENCY = SignatureRequest(role="agency", signer="demo-agency")


def _sign(session, blobs, tools, document_id, request, actor):
    return sign_document(session, blobs, tools, document_id=document_id, request=request,
                         actor=actor)


def test_person_then_agency_signatures_are_new_versions(session, blobs, tools, profiles,
                                                        make_notice, notice_bytes):
    doc_id = make_notice()
    first = _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    assert (first.version.number, first.version.kind, first.record.level) == (2, "signed", "B-B")
    second = _sign(session, blobs, tools, doc_id, AGENCY, CLERK)
    assert second.version.number == 3 and second.record.based_on == 2

    versions = versions_of(session, doc_id)
    assert [(v.number, v.kind) for v in versions] == [(1, "original"), (2, "signed"),
                                                      (3, "signed")]
    assert _read(blobs, versions[0].blob_key) == notice_bytes  # original stays
    final = _read(blobs, versions[2].blob_key)
    assert final.startswith(_read(blobs, versions[1].blob_key))  # incremental
    assert [(s.field_name, s.role) for s in existing_signatures(final)] == [
        ("Sig_person_1", "person"), ("Sig_agency_1", "agency")]
    entries = session.execute(select(AuditEntry).where(
        AuditEntry.action == "document.sign", AuditEntry.object_id == doc_id)
        .order_by(AuditEntry.seq)).scalars().all()
    assert [(e.actor, e.content_sha256, e.details["role"]) for e in entries] == [
        ("user:viet", versions[1].sha256, "person"), ("user:vanthu", versions[2].sha256, "agency")]
    records = session.execute(select(SignatureRecord).order_by(SignatureRecord.id)).scalars().all()
    assert [(r.role, r.profile_id, r.field_name) for r in records] == [
        ("person", "demo-person", "Sig_person_1"), ("agency", "demo-agency", "Sig_agency_1")]


def test_keys_are_opened_once_per_process(session, blobs, settings, profiles, make_notice):
    fresh = SigningTools(settings)  # another process: it has opened no key yet
    for _ in range(3):
        _sign(session, blobs, fresh, make_notice(), PERSON, SIGNER)
    assert fresh.loads == 1


def test_unregistered_document_takes_no_attachment_or_copy_stamp(session, blobs, tools,
                                                                  profiles, make_notice):
    # An outgoing draft is signed by the person, then issued by the agency signature
    # (tests/unit/signing_service/test_issuance.py); stamps wait for registration.
    doc_id = make_notice(register=False)
    with pytest.raises(NotRegisteredError) as caught:
        _sign(session, blobs, tools, doc_id,
              SignatureRequest(role="attachment", signer="demo-agency"), CLERK)
    assert caught.value.status == 409 and caught.value.code == "not_registered"
    assert len(versions_of(session, doc_id)) == 1


OTHER_SIGNER = Actor(kind="user", name="someone", organ_id=PROVINCE, roles=frozenset({"signer"}))
AUDITOR = Actor(kind="user", name="kiemtra", organ_id=PROVINCE, roles=frozenset({"auditor"}))
COMMUNE_CLERK = Actor(kind="user", name="xa", organ_id="000.01.01.H48", roles=frozenset({"clerk"}))


@pytest.mark.parametrize(("actor", "request_", "error"), [
    (CLERK, PERSON, PermissionDeniedError),          # a clerk is not the competent person
    (OTHER_SIGNER, PERSON, PermissionDeniedError),   # someone else's person profile
    (SIGNER, AGENCY, PermissionDeniedError),         # the agency key is the clerks'
    (AUDITOR, PERSON, PermissionDeniedError),
    (CLERK, SignatureRequest(role="agency", signer="demo-person"), SignerRoleMismatchError),
    (SIGNER, SignatureRequest(role="person", signer="demo-agency"), SignerRoleMismatchError),
    (SIGNER, SignatureRequest(role="person", signer="nobody"), UnknownSignerError),
])
def test_who_may_sign_with_what(actor, request_, error, session, blobs, tools, profiles,
                                make_notice):
    doc_id = make_notice()
    with pytest.raises(error):
        _sign(session, blobs, tools, doc_id, request_, actor)
    assert len(versions_of(session, doc_id)) == 1
    if error is PermissionDeniedError:
        denied = session.execute(select(AuditEntry).where(
            AuditEntry.outcome == "denied", AuditEntry.object_id == doc_id)).scalars().all()
        assert [e.action for e in denied] == ["document.sign"]


def test_another_agencys_document_is_not_found(session, blobs, tools, profiles, make_notice):
    from docsvc.errors import NotFoundError

    with pytest.raises(NotFoundError):
        _sign(session, blobs, tools, make_notice(), AGENCY, COMMUNE_CLERK)


def test_an_agency_signed_document_is_not_signed_again(session, blobs, tools, profiles,
                                                       make_notice):
    doc_id = make_notice()
    _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    _sign(session, blobs, tools, doc_id, AGENCY, CLERK)
    for request, actor in ((AGENCY, CLERK), (PERSON, SIGNER),
                           (SignatureRequest(role="copy", signer="demo-agency"), CLERK)):
        with pytest.raises(AlreadySignedError) as caught:
            _sign(session, blobs, tools, doc_id, request, actor)
        assert caught.value.status == 409
    assert len(versions_of(session, doc_id)) == 3


def test_a_stale_based_on_is_a_conflict(session, blobs, tools, profiles, make_notice):
    doc_id = make_notice()
    _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    with pytest.raises(VersionConflictError) as caught:
        _sign(session, blobs, tools, doc_id, replace(AGENCY, based_on=1), CLERK)
    assert caught.value.details == {"based_on": 1, "latest": 2}
    assert _sign(session, blobs, tools, doc_id, replace(AGENCY, based_on=2),
                 CLERK).version.number == 3


class _MeetingTools(SigningTools):
    """Keys handed out only when both signers are ready, so both sign the same version."""

    barrier: threading.Barrier | None = None

    def signer(self, spec):
        signer = super().signer(spec)
        if self.barrier is not None:
            self.barrier.wait(timeout=30)
        return signer


def test_concurrent_signing_of_one_version_one_wins_nothing_lost(sessions, blobs, settings,
                                                                 profiles, make_notice):
    doc_id = make_notice()
    tools = _MeetingTools(settings)
    tools.barrier = threading.Barrier(2)
    outcomes: list = []

    def run(request, actor):
        with sessions() as own:
            try:
                outcomes.append(_sign(own, blobs, tools, doc_id, request, actor).version.number)
            except VersionConflictError as exc:
                outcomes.append(exc.code)

    threads = [threading.Thread(target=run, args=(PERSON, SIGNER)),
               threading.Thread(target=run, args=(PERSON, SIGNER))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(str, outcomes)) == ["2", "version_conflict"]
    with sessions() as check:
        versions = versions_of(check, doc_id)
        assert [v.number for v in versions] == [1, 2]
        assert existing_signatures(_read(blobs, versions[1].blob_key))
        records = check.execute(select(SignatureRecord)).scalars().all()
        assert len(records) == 1
    # Issue 13, finding 10: the loser's signed bytes are an orphan blob; repair removes it
    # (once it is older than the grace period) and keeps everything a row names.
    from docsvc.services.maintenance import check_storage, repair_storage

    with sessions() as check:
        [orphan] = check_storage(check, blobs).orphans
        kept = repair_storage(check, blobs)
        assert kept.kept_recent == [orphan] and blobs.exists(orphan)  # may be work in progress
        import datetime as dt

        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
        assert repair_storage(check, blobs, now=later).removed_blobs == [orphan]
        after = check_storage(check, blobs)
        assert after.orphans == [] and after.is_healthy and after.checked == 2


def _spec_for(pki, name, *, username="viet", profile_id=None) -> ProfileSpec:
    cred = pki[name]
    return ProfileSpec(id=profile_id or name, role="person", organ_id=PROVINCE,
                       display_name="Nguyễn Quốc Việt", key_source="pkcs12",
                       username=username, p12_path=str(cred.p12_path),
                       passphrase_file=str(cred.passphrase_path),
                       picture_path=str(DEMO_SIGNATURE_PICTURE))


@pytest.mark.parametrize("damage", ["still_a_pdf", "not_a_pdf"])
def test_a_source_whose_bytes_changed_in_storage_is_refused_with_nothing_stored(
        damage, session, blobs, tools, profiles, make_notice, notice_bytes):
    doc_id = make_notice()
    [original] = versions_of(session, doc_id)
    # the stored bytes no longer match their address: signing may succeed or fail on them,
    # either way the corruption is what is reported and nothing new is stored
    tampered = notice_bytes.replace(b"/Count 1", b"/Count 1 ") if damage == "still_a_pdf" \
        else b"garbage"
    blobs.overwrite(original.blob_key, tampered)
    before = set(blobs.keys())
    with pytest.raises(BlobCorruptedError):
        _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    assert len(versions_of(session, doc_id)) == 1 and set(blobs.keys()) == before
    failed = session.execute(select(AuditEntry).where(AuditEntry.outcome == "failed")).scalars()
    assert [(e.action, e.details["code"]) for e in failed] == [("document.sign", "blob_corrupted")]


def test_expired_certificate_is_refused_with_nothing_stored(session, blobs, tools, profiles,
                                                           pki, make_notice):
    add_signer_profile(session, tools, OPERATOR, _spec_for(pki, "person-expired",
                                                           profile_id="expired"))
    doc_id = make_notice()
    before = set(blobs.keys()) if hasattr(blobs, "keys") else None
    with pytest.raises(CertificateRejectedError) as caught:
        _sign(session, blobs, tools, doc_id, SignatureRequest(role="person", signer="expired"),
              SIGNER)
    assert caught.value.status == 422 and caught.value.details["reason"] == "expired"
    assert len(versions_of(session, doc_id)) == 1
    if before is not None:
        assert set(blobs.keys()) == before
    failed = session.execute(select(AuditEntry).where(AuditEntry.outcome == "failed")).scalars()
    assert [(e.action, e.details["code"], e.details["reason"]) for e in failed] == [
        ("document.sign", "certificate_rejected", "expired")]


def test_tsa_down_is_503_unless_a_lower_level_is_allowed(session, blobs, profiles, make_notice,
                                                         tmp_path):
    # Port 9 (discard) is closed on loopback: the TSA is "down".
    tools = SigningTools(Settings(env="test", data_dir=tmp_path / "var",
                                  tsa_url="http://127.0.0.1:9/tsa", network_timeout_seconds=2))
    doc_id = make_notice()
    with pytest.raises(TimestampUnavailableError) as caught:
        _sign(session, blobs, tools, doc_id, replace(PERSON, level="B-T"), SIGNER)
    assert caught.value.status == 503
    assert len(versions_of(session, doc_id)) == 1
    outcome = _sign(session, blobs, tools, doc_id,
                    replace(PERSON, level="B-T", allow_lower_level=True), SIGNER)
    assert outcome.record.level == "B-B" and outcome.record.requested_level == "B-T"
    assert [w.code for w in outcome.warnings] == ["level_lowered"]


def test_encrypted_pdf_is_refused(session, blobs, tools, profiles, make_notice, notice_bytes):
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(notice_bytes)))
    writer._assign_security_handler(StandardSecurityHandler.build_from_pw("secret", "user"))
    out = io.BytesIO()
    writer.write(out)
    doc_id = make_notice(data=out.getvalue())
    with pytest.raises(EncryptedPdfError) as caught:
        _sign(session, blobs, tools, doc_id, PERSON, SIGNER)
    assert caught.value.status == 422
    assert len(versions_of(session, doc_id)) == 1


def test_demo_keys_are_refused_in_production(session, profiles, settings, tmp_path, notice_bytes):
    from docsvc.config import sealing_keys

    production = SigningTools(Settings(env="production", data_dir=tmp_path / "prod",
                                       secret_key=sealing_keys(settings)[0]))
    with pytest.raises(DemoKeyRefusedError):
        sign_bytes(production, get_profile_spec(session, "demo-person"), notice_bytes,
                   role="person")
    # …even when the profile does not say it is demo material: the issuer gives it away.
    spec = replace(get_profile_spec(session, "demo-person"), is_demo=False)
    with pytest.raises(DemoKeyRefusedError):
        sign_bytes(production, spec, notice_bytes, role="person")


def test_profiles_refuse_bad_configuration(session, tools, pki, tmp_path):
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("not the passphrase\n")
    with pytest.raises(WrongPinError):
        add_signer_profile(session, tools, OPERATOR,
                           replace(_spec_for(pki, "person-rsa"), passphrase_file=str(wrong)))
    with pytest.raises(BadRequestError) as caught:
        add_signer_profile(session, tools, OPERATOR, ProfileSpec(
            id="bad id!", role="boss", organ_id="", display_name="", key_source="pkcs12"))
    assert {p["field"] for p in caught.value.details["fields"]} >= {
        "id", "role", "organ_id", "display_name", "p12", "picture"}
    add_signer_profile(session, tools, OPERATOR, _spec_for(pki, "person-rsa", profile_id="p"))
    with pytest.raises(SignerExistsError):
        add_signer_profile(session, tools, OPERATOR, _spec_for(pki, "person-rsa", profile_id="p"))


def test_a_swapped_key_file_is_refused(session, blobs, tools, profiles, pki, make_notice):
    spec = get_profile_spec(session, "demo-person")
    other = pki["person-ecdsa"]
    from docsvc.services.signers import seal_key
    from docsvc.signing.errors import SignerUnavailableError

    key, passphrase = seal_key(tools, spec.id, other.p12_path.read_bytes(),
                               other.passphrase_path.read_bytes().strip())
    swapped = replace(spec, p12_sealed=key, passphrase_sealed=passphrase)

    with pytest.raises(SignerUnavailableError) as caught:
        sign_bytes(tools, swapped, b"", role="person")
    assert caught.value.details["expected"] == spec.certificate_sha256


@pytest.mark.parametrize(("body", "fields"), [
    (None, None),
    ({}, {"role", "signer"}),
    ({"role": "boss", "signer": "x", "level": "B-X"}, {"role", "level"}),
    ({"role": "person", "signer": "x", "allow_lower_level": "yes", "based_on": 0},
     {"allow_lower_level", "based_on"}),
    ({"role": "person", "signer": "x", "placement": {"box": [1, 2, 0, 3]}}, {"placement"}),
    ({"role": "person", "signer": "x", "placement": {"page": 0}}, {"placement"}),
    ({"role": "person", "signer": "x", "placement": {"colour": "red"}}, {"placement"}),
])
def test_bad_requests_name_every_bad_field(body, fields):
    with pytest.raises(BadRequestError) as caught:
        parse_signature_request(body)
    if fields is not None:
        assert {p["field"] for p in caught.value.details["fields"]} == fields


def test_a_good_request_is_parsed():
    request = parse_signature_request({"role": "agency", "signer": "demo-agency", "level": "B-LT",
                                       "placement": {"page": -1, "box": [1, 2, 3, 4]},
                                       "based_on": 2})
    assert request.placement.box == (1.0, 2.0, 3.0, 4.0) and request.placement.page == -1
    assert (request.level, request.based_on, request.allow_lower_level) == ("B-LT", 2, False)


def test_a_foreign_certificate_needs_the_operators_explicit_override(session, tools, pki):
    """Issue 13, finding 1: the province's person key is not the commune's, even for the
    operator, unless overridden (``signers add --allow-certificate-mismatch``)."""
    from docsvc.services.signers import CertificateAgencyMismatchError

    commune = replace(_spec_for(pki, "person-rsa", profile_id="xa"), organ_id="000.01.01.H48")
    with pytest.raises(CertificateAgencyMismatchError) as caught:
        add_signer_profile(session, tools, OPERATOR, commune)
    assert caught.value.details["certificate_organisation"] == "UBND tỉnh Quảng Ngãi"
    admin = Actor(kind="user", name="a", organ_id="000.01.01.H48", roles=frozenset({"admin"}))
    with pytest.raises(PermissionDeniedError):
        add_signer_profile(session, tools, admin, replace(
            commune, p12_path=None, passphrase_file=None, picture_path=None,
            certificate_override=True))
    profile = add_signer_profile(session, tools, OPERATOR,
                                 replace(commune, certificate_override=True))
    assert profile.certificate_override and profile.p12_sealed and profile.p12_path is None
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "signer.add")
                            .order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.details["certificate_override"] is True
