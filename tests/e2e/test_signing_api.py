"""Signing through the HTTP API with the real app: upload → register → person signature →
agency signature, each version checked by poppler's pdfsig and by pyHanko; one test per error
kind; who may sign what with real bodies; the administrators' signer profiles.
"""

from __future__ import annotations

import io
import json
import shutil

import pytest
from pyhanko.pdf_utils.crypt import StandardSecurityHandler
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from docsvc.config import Settings
from docsvc.security import OPERATOR
from docsvc.services.signers import ProfileSpec, SigningTools, add_signer_profile, demo_profile_specs
from docsvc.signing.appearance import DEMO_SIGNATURE_PICTURE
from docsvc.signing.sample import notice_pdf
from tests.conftest import add_province, post_multipart
from tests.support import signing as signing_fixtures
from tests.support.data import NOTICE_METADATA, make_user

# The demo PKI served on loopback, pdfsig with an NSS db trusting its root, pyHanko validation.
served_pki, pki, responders = (signing_fixtures.served_pki, signing_fixtures.pki,
                               signing_fixtures.responders)
trust_root, nssdb, pdfsig = (signing_fixtures.trust_root, signing_fixtures.nssdb,
                             signing_fixtures.pdfsig)
assert_verified = signing_fixtures.assert_verified

PROVINCE = "000.00.00.H48"


@pytest.fixture
def settings(tmp_path, pki) -> Settings:
    """The app trusts the demo root, timestamps with the loopback TSA and fetches OCSP/CRL."""
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy(pki.root_cert_path, trust / "root.pem")
    shutil.copy(pki.chain_path, trust / "chain.pem")
    return Settings(env="test", data_dir=tmp_path / "var", max_upload_bytes=20 * 1024 * 1024,
                    tsa_url=pki.tsa_url, trust_dirs=(trust,), revocation_fetching=True,
                    network_timeout_seconds=5)


@pytest.fixture
def world(runtime, app, pki):
    """The demo profiles (demo-person bound to ``viet``), a revoked person profile bound to
    ``revoked``, and clients of the province's clerk, signers, auditor and admin."""
    tools = SigningTools(runtime.settings)
    with runtime.sessions() as session:
        add_province(session)
        for spec in demo_profile_specs(pki, person_user="viet"):
            add_signer_profile(session, tools, OPERATOR, spec)
        cred = pki["person-revoked"]
        add_signer_profile(session, tools, OPERATOR, ProfileSpec(
            id="revoked-person", role="person", organ_id=PROVINCE,
            display_name="Nguyễn Quốc Việt", username="revoked", key_source="pkcs12",
            p12_path=str(cred.p12_path), passphrase_file=str(cred.passphrase_path),
            picture_path=str(DEMO_SIGNATURE_PICTURE)))
    tools.close()
    clients = {}
    for name, roles in {"vanthu": ["clerk"], "viet": ["signer"], "revoked": ["signer"],
                        "other": ["signer"], "kiemtra": ["auditor"], "quantri": ["admin"],
                        "both": ["clerk", "signer"]}.items():
        client = app.test_client()
        token = make_user(runtime, name, roles, PROVINCE)
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        clients[name] = client
    commune = app.test_client()
    commune.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {make_user(runtime, 'xa', ['clerk'], '000.01.01.H48')}")
    clients["commune"] = commune
    return clients


def upload(client, data: bytes | None = None, *, register: bool = True) -> str:
    boundary, body = encode_multipart(MultiDict({
        "metadata": json.dumps(NOTICE_METADATA),
        "file": FileStorage(io.BytesIO(data or notice_pdf()), "tb.pdf",
                            content_type="application/pdf")}))
    response = client.post("/api/v1/documents", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.json
    doc_id = response.json["id"]
    if register:
        assert client.post(f"/api/v1/documents/{doc_id}/register").status_code == 200
    return doc_id


def sign(client, doc_id: str, **body):
    return client.post(f"/api/v1/documents/{doc_id}/signatures", json=body)


def versions(client, doc_id: str) -> list[int]:
    return [v["number"] for v in client.get(f"/api/v1/documents/{doc_id}").json["versions"]]


def test_person_then_agency_signature_verify_in_pdfsig_and_pyhanko(world, assert_verified):
    clerk, signer = world["vanthu"], world["viet"]
    doc_id = upload(clerk)
    person = sign(signer, doc_id, role="person", signer="demo-person")
    assert person.status_code == 201, person.json
    assert person.json["number"] == 2 and person.json["kind"] == "signed"
    assert person.json["signature"]["level"] == "B-LT"  # the default with a TSA and trust roots
    assert person.headers["Location"].endswith(f"/documents/{doc_id}/versions/2/content")
    agency = sign(clerk, doc_id, role="agency", signer="demo-agency", level="B-LT",
                  based_on=2)
    assert agency.status_code == 201, agency.json
    assert (agency.json["number"], agency.json["signature"]["based_on"]) == (3, 2)
    assert versions(clerk, doc_id) == [1, 2, 3]

    original = clerk.get(f"/api/v1/documents/{doc_id}/versions/1/content").data
    assert original.startswith(b"%PDF") and original.rstrip().endswith(b"%%EOF")
    assert not PdfFileReader(io.BytesIO(original)).embedded_signatures  # the original stays
    v2 = clerk.get(f"/api/v1/documents/{doc_id}/versions/2/content").data
    v3 = clerk.get(f"/api/v1/documents/{doc_id}/versions/3/content").data
    assert v3.startswith(v2) and v2.startswith(original)
    assert_verified(v2, fields=["Sig_person_1"])
    statuses = assert_verified(v3, fields=["Sig_person_1", "Sig_agency_1"])
    assert statuses[1].timestamp_validity is not None  # B-T and up: a signature timestamp
    assert "/DSS" in PdfFileReader(io.BytesIO(v3)).root  # B-LT: validation data embedded

    history = clerk.get(f"/api/v1/documents/{doc_id}/history").json["data"]
    signs = [e for e in history if e["action"] == "document.sign"]
    assert [(e["actor"], e["content_sha256"]) for e in signs] == [
        ("user:viet", person.json["sha256"]), ("user:vanthu", agency.json["sha256"])]


def test_errors(world, app):
    clerk, signer = world["vanthu"], world["viet"]
    doc_id = upload(clerk)
    assert app.test_client().post(f"/api/v1/documents/{doc_id}/signatures",
                                  json={"role": "person", "signer": "demo-person"}
                                  ).status_code == 401
    assert sign(signer, "no-such-document", role="person",
                signer="demo-person").status_code == 404
    assert sign(world["commune"], doc_id, role="agency",
                signer="demo-agency").status_code == 404
    bad = sign(clerk, doc_id, role="seal", signer="")
    assert bad.status_code == 400
    assert {f["field"] for f in bad.json["error"]["details"]["fields"]} == {"role", "signer"}
    assert sign(world["kiemtra"], doc_id, role="person", signer="demo-person").status_code == 403
    assert sign(world["other"], doc_id, role="person", signer="demo-person").status_code == 403
    unknown = sign(signer, doc_id, role="person", signer="nobody")
    assert (unknown.status_code, unknown.json["error"]["code"]) == (422, "unknown_signer")

    draft = upload(clerk, register=False)
    # an outgoing draft takes the person's signature (then the agency signature issues it),
    # but no attachment or copy stamp before it is registered
    not_registered = sign(clerk, draft, role="attachment", signer="demo-agency")
    assert (not_registered.status_code, not_registered.json["error"]["code"]) == (
        409, "not_registered")

    revoked = sign(world["revoked"], doc_id, role="person", signer="revoked-person")
    assert revoked.status_code == 422
    assert revoked.json["error"]["code"] == "certificate_rejected"
    assert revoked.json["error"]["details"]["reason"] == "revoked"
    assert "thu hồi" in revoked.json["error"]["message"]

    assert sign(signer, doc_id, role="person", signer="demo-person",
                level="B-B").status_code == 201
    stale = sign(clerk, doc_id, role="agency", signer="demo-agency", based_on=1)
    assert (stale.status_code, stale.json["error"]["code"]) == (409, "version_conflict")
    assert sign(clerk, doc_id, role="agency", signer="demo-agency",
                level="B-B").status_code == 201
    again = sign(clerk, doc_id, role="agency", signer="demo-agency", level="B-B")
    assert (again.status_code, again.json["error"]["code"]) == (409, "already_signed")
    assert versions(clerk, doc_id) == [1, 2, 3]


def test_encrypted_pdf_is_422(world):
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(notice_pdf())))
    writer._assign_security_handler(StandardSecurityHandler.build_from_pw("secret", "user"))
    out = io.BytesIO()
    writer.write(out)
    doc_id = upload(world["vanthu"], out.getvalue())
    response = sign(world["viet"], doc_id, role="person", signer="demo-person")
    assert (response.status_code, response.json["error"]["code"]) == (422, "encrypted_pdf")
    assert versions(world["vanthu"], doc_id) == [1]


def test_tsa_down_is_503_with_nothing_stored_or_a_lower_level_when_allowed(world, responders):
    doc_id = upload(world["vanthu"])
    responders.tsa_available = False
    down = sign(world["viet"], doc_id, role="person", signer="demo-person", level="B-LT")
    assert (down.status_code, down.json["error"]["code"]) == (503, "tsa_unavailable")
    assert versions(world["vanthu"], doc_id) == [1]
    lowered = sign(world["viet"], doc_id, role="person", signer="demo-person", level="B-LT",
                   allow_lower_level=True)
    assert lowered.status_code == 201
    assert lowered.json["signature"]["level"] == "B-B"
    assert [w["code"] for w in lowered.json["warnings"]] == ["level_lowered"]


@pytest.mark.parametrize(("who", "role", "profile", "status"), [
    ("viet", "person", "demo-person", 201),
    ("both", "person", "demo-person", 403),     # the profile is bound to viet
    ("vanthu", "person", "demo-person", 403),
    ("viet", "agency", "demo-agency", 403),
    ("vanthu", "agency", "demo-agency", 201),
    ("vanthu", "attachment", "demo-agency", 201),
    ("vanthu", "copy", "demo-agency", 201),
    ("kiemtra", "agency", "demo-agency", 403),
    ("quantri", "agency", "demo-agency", 404),  # administrators do not read the registry
    ("commune", "agency", "demo-agency", 404),
])
def test_who_may_sign_what(world, who, role, profile, status):
    doc_id = upload(world["vanthu"])
    placement = {"page": 1, "box": [300, 380, 420, 480]} if role == "agency" else None
    response = sign(world[who], doc_id, role=role, signer=profile, level="B-B",
                    placement=placement)
    assert response.status_code == status, response.json
    assert versions(world["vanthu"], doc_id) == ([1, 2] if status == 201 else [1])


def _profile_form(cred, **extra):
    """A multipart profile registration: the PKCS#12, its passphrase and the PNG picture."""
    form = {"id": "agency-ec", "role": "agency", "display_name": "UBND tỉnh Quảng Ngãi",
            "passphrase": cred.passphrase_path.read_text().strip(),
            "p12": (io.BytesIO(cred.p12_path.read_bytes()), "agency.p12"),
            "picture": (io.BytesIO(DEMO_SIGNATURE_PICTURE.read_bytes()), "seal.png")}
    form.update(extra)
    return form


def test_administrators_manage_signer_profiles(world, pki, runtime, tmp_path):
    admin = world["quantri"]
    cred = pki["agency-ecdsa"]
    assert post_multipart(admin, "/api/v1/signers", _profile_form(cred, pin="1")).status_code == 400
    assert post_multipart(world["vanthu"], "/api/v1/signers",
                          _profile_form(cred)).status_code == 403
    created = post_multipart(admin, "/api/v1/signers", _profile_form(cred))
    assert created.status_code == 201, created.json
    assert created.json["organ_id"] == PROVINCE and created.json["certificate_sha256"]
    assert created.json["key_storage"] == "stored" and created.json["has_picture"]
    assert not {"passphrase", "p12_path", "passphrase_file", "picture_path"} & set(created.json)
    assert post_multipart(admin, "/api/v1/signers", _profile_form(cred)).status_code == 409
    wrong_org = post_multipart(admin, "/api/v1/signers",
                               _profile_form(cred, id="x", organ_id="000.01.02.H48"))
    assert wrong_org.status_code == 403
    listed = admin.get("/api/v1/signers").json["data"]
    assert {p["id"] for p in listed} == {"agency-ec", "demo-agency", "demo-person",
                                         "revoked-person"}
    # The key and its passphrase are stored sealed: neither appears in the row.
    from docsvc.models import SignerProfile

    with runtime.sessions() as session:
        row = session.get(SignerProfile, "agency-ec")
        passphrase = cred.passphrase_path.read_text().strip()
        assert row.p12_sealed and passphrase not in row.p12_sealed + row.passphrase_sealed
        assert row.p12_path is None and row.picture_png == DEMO_SIGNATURE_PICTURE.read_bytes()
    doc_id = upload(world["vanthu"])
    assert sign(world["vanthu"], doc_id, role="attachment", signer="agency-ec",
                level="B-B").status_code == 201


# -- issue 13, finding 1: key material only by upload, bound to the agency ---------------------


@pytest.mark.parametrize("field", ["p12_path", "passphrase_file", "passphrase_env",
                                   "picture_path", "pin_file", "pin_env", "chain_file"])
@pytest.mark.parametrize("as_form", [False, True])
def test_server_paths_are_refused_with_no_existence_oracle(world, pki, field, as_form):
    admin = world["quantri"]
    cred = pki["person-rsa"]
    answers = []
    for value in (str(cred.p12_path), "/etc/passwd", "/nonexistent/key.p12", "HOME"):
        if as_form:
            response = post_multipart(admin, "/api/v1/signers", _profile_form(cred, **{field: value}))
        else:
            response = admin.post("/api/v1/signers", json={
                "id": "p", "role": "person", "display_name": "Nguyễn Quốc Việt", field: value})
        answers.append((response.status_code, response.json["error"]["code"],
                        response.json["error"]["details"]))
    assert answers == [(422, "server_path_refused", {"fields": [field]})] * 4
    assert "p" not in {p["id"] for p in admin.get("/api/v1/signers").json["data"]}


def test_a_commune_admin_cannot_register_the_province_key(world, pki, runtime, app):
    """The attack of the finding: the province's person key uploaded by a commune admin."""
    commune_admin = app.test_client()
    commune_admin.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {make_user(runtime, 'xaadmin', ['admin'], '000.01.01.H48')}")
    cred = pki["person-rsa"]
    response = post_multipart(commune_admin, "/api/v1/signers", _profile_form(
        cred, id="stolen", role="person", display_name="Nguyễn Quốc Việt"))
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "certificate_agency_mismatch"
    assert response.json["error"]["details"]["organ_id"] == "000.01.01.H48"
    # An override cannot be asked for through the API.
    again = post_multipart(commune_admin, "/api/v1/signers", _profile_form(
        cred, id="stolen", role="person", display_name="Nguyễn Quốc Việt",
        certificate_override="true"))
    assert again.json["error"]["code"] == "certificate_agency_mismatch"
    assert commune_admin.get("/api/v1/signers").json["data"] == []


@pytest.mark.parametrize("picture, code", [
    (b"root:x:0:0:root:/root:/bin/bash\n", "invalid_picture"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "invalid_picture"),
])
def test_the_picture_must_be_a_png(world, pki, picture, code):
    response = post_multipart(world["quantri"], "/api/v1/signers", _profile_form(
        pki["agency-ecdsa"], picture=(io.BytesIO(picture), "seal.png")))
    assert response.status_code == 422 and response.json["error"]["code"] == code


def test_a_wrong_passphrase_or_a_non_pkcs12_upload_is_refused(world, pki):
    admin = world["quantri"]
    wrong = post_multipart(admin, "/api/v1/signers", _profile_form(pki["agency-ecdsa"], passphrase="no"))
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "wrong_pin"
    junk = post_multipart(admin, "/api/v1/signers", _profile_form(
        pki["agency-ecdsa"], p12=(io.BytesIO(b"x" * 70_000), "k.p12")))
    assert junk.status_code == 422 and junk.json["error"]["code"] == "invalid_key_file"


def test_a_token_must_be_granted_to_the_agency(world):
    response = post_multipart(world["quantri"], "/api/v1/signers", {
        "id": "tok", "role": "agency", "display_name": "UBND tỉnh Quảng Ngãi",
        "key_source": "pkcs11", "pkcs11_token_label": "docsvc-test",
        "pkcs11_key_label": "agency-rsa",
        "picture": (DEMO_SIGNATURE_PICTURE.read_bytes(), "seal.png")})
    assert response.status_code == 422 and response.json["error"]["code"] == "token_not_granted"


def test_an_uploaded_key_signs_on_an_instance_without_the_files(world, pki, runtime, tmp_path):
    """The key lives in the database: a fresh process signs after the files are gone."""
    cred = pki["agency-ecdsa"]
    copy = tmp_path / "copy.p12"
    copy.write_bytes(cred.p12_path.read_bytes())
    form = _profile_form(cred)
    form["p12"] = (io.BytesIO(copy.read_bytes()), "agency.p12")
    assert post_multipart(world["quantri"], "/api/v1/signers", form).status_code == 201
    copy.unlink()
    tools = SigningTools(runtime.settings)
    with runtime.sessions() as session:
        from docsvc.services.signers import get_profile_spec
        from docsvc.services.signing import sign_bytes

        signed = sign_bytes(tools, get_profile_spec(session, "agency-ec"), notice_pdf(),
                            role="attachment", level="B-B")
    tools.close()
    assert signed.data.startswith(b"%PDF")


# -- issue 13, finding 7: what answered 500 now answers 4xx ------------------------------------


@pytest.mark.parametrize("box", [[0, 0, 1e308, 1e308], [0, 0, float("inf"), 10],
                                 [-1e30, 0, 10, 10]])
def test_an_absurd_placement_box_is_a_400(world, box):
    doc_id = upload(world["vanthu"])
    response = world["viet"].post(f"/api/v1/documents/{doc_id}/signatures", data=json.dumps(
        {"role": "person", "signer": "demo-person", "level": "B-B",
         "placement": {"page": 1, "box": box}}).replace("Infinity", "1e999"),
        content_type="application/json")
    assert response.status_code == 400, response.json
    assert versions(world["vanthu"], doc_id) == [1]


@pytest.mark.parametrize("kind", ["cyclic", "deep"])
def test_signing_a_stored_pdf_with_a_hostile_page_tree_is_a_422(world, runtime, kind):
    """Upload refuses these trees now; a row stored before the check is refused at signing."""
    from docsvc.models import DocumentVersion
    from docsvc.storage import hash_stream
    from tests import hostile_pdfs

    data = (hostile_pdfs.cyclic_page_tree() if kind == "cyclic"
            else hostile_pdfs.deep_page_tree())
    refused = post_multipart(world["vanthu"], "/api/v1/documents", {
        "metadata": json.dumps(NOTICE_METADATA), "file": (data, "tb.pdf", "application/pdf")})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "invalid_pdf"
    doc_id = upload(world["vanthu"])
    sha256, size = hash_stream(io.BytesIO(data))
    info = runtime.blobs.put(io.BytesIO(data), sha256=sha256, size=size)
    with runtime.sessions() as session:
        version = session.query(DocumentVersion).filter_by(document_id=doc_id).one()
        version.sha256, version.size, version.blob_key = sha256, size, info.key
        session.commit()
    response = sign(world["viet"], doc_id, role="person", signer="demo-person", level="B-B",
                    placement={"page": 1, "box": [100, 100, 200, 150]})
    assert response.status_code == 422, response.json
    assert versions(world["vanthu"], doc_id) == [1]
