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
from tests.conftest import NOTICE_METADATA, make_user
from tests.integration.signing import conftest as signing_fixtures

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


def test_administrators_manage_signer_profiles(world, pki):
    admin = world["quantri"]
    cred = pki["agency-ecdsa"]
    body = {"id": "agency-ec", "role": "agency", "display_name": "UBND tỉnh Quảng Ngãi",
            "p12_path": str(cred.p12_path), "passphrase_file": str(cred.passphrase_path),
            "picture_path": str(DEMO_SIGNATURE_PICTURE)}
    assert admin.post("/api/v1/signers", json={**body, "passphrase": "x"}).status_code == 400
    assert world["vanthu"].post("/api/v1/signers", json=body).status_code == 403
    created = admin.post("/api/v1/signers", json=body)
    assert created.status_code == 201, created.json
    assert created.json["organ_id"] == PROVINCE and created.json["certificate_sha256"]
    assert "passphrase" not in created.json
    assert admin.post("/api/v1/signers", json=body).status_code == 409
    wrong_org = admin.post("/api/v1/signers", json={**body, "id": "x", "organ_id": "000.01.02.H48"})
    assert wrong_org.status_code == 403
    listed = admin.get("/api/v1/signers").json["data"]
    assert {p["id"] for p in listed} == {"agency-ec", "demo-agency", "demo-person",
                                         "revoked-person"}
    doc_id = upload(world["vanthu"])
    assert sign(world["vanthu"], doc_id, role="attachment", signer="agency-ec",
                level="B-B").status_code == 201
