"""Authentication on every endpoint, the audit trail of API actions, and response hardening."""

from __future__ import annotations

import pytest

from tests.e2e.test_api_registry import post_document
from tests.support.data import make_user


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer dsv_not-a-real-token", "Basic dnQ6eA=="])
def test_missing_or_invalid_token_is_401(anonymous, header):
    headers = {"Authorization": header} if header else {}
    response = anonymous.get("/api/v1/documents", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert anonymous.get("/api/v1/health").status_code == 200
    assert anonymous.get("/api/v1/openapi.json").status_code == 200


def test_history_shows_each_action_in_order(client, runtime, notice_metadata, app):
    doc = post_document(client, notice_metadata).json
    client.post(f"/api/v1/documents/{doc['id']}/register")
    client.post(f"/api/v1/documents/{doc['id']}/register")  # idempotent: no second entry
    auditor = app.test_client()
    token = make_user(runtime, "thanhtra", ["auditor"])
    history = auditor.get(f"/api/v1/documents/{doc['id']}/history",
                          headers={"Authorization": f"Bearer {token}"}).json["data"]
    assert [(e["action"], e["actor"], e["outcome"]) for e in history] == [
        ("document.upload", "user:vanthu", "success"),
        ("document.register", "user:vanthu", "success"),
    ]
    assert history[0]["content_sha256"] == doc["versions"][0]["sha256"]
    assert history[1]["prev_hash"] == history[0]["entry_hash"] or history[1]["seq"] > history[0]["seq"]


def test_refused_register_is_audited(app, runtime, client, notice_metadata):
    doc = post_document(client, notice_metadata).json
    signer = make_user(runtime, "lanhdao", ["signer"])
    response = app.test_client().post(f"/api/v1/documents/{doc['id']}/register",
                                      headers={"Authorization": f"Bearer {signer}"})
    assert response.status_code == 403
    history = client.get(f"/api/v1/documents/{doc['id']}/history").json["data"]
    assert [(e["action"], e["outcome"]) for e in history] == [
        ("document.upload", "success"), ("document.register", "denied")]


def test_reading_a_secret_document_is_audited(app, runtime, notice_metadata):
    token = make_user(runtime, "vtmat", ["clerk"], clearance="mat")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    doc = post_document(client, {**notice_metadata, "secrecy": "mat"}).json
    client.get(f"/api/v1/documents/{doc['id']}/content").close()
    actions = [e["action"] for e in client.get(f"/api/v1/documents/{doc['id']}/history").json["data"]]
    assert actions[:2] == ["document.upload", "document.read_secret"]
    uncleared = make_user(runtime, "vt2", ["clerk"])
    assert app.test_client().get(f"/api/v1/documents/{doc['id']}", headers={
        "Authorization": f"Bearer {uncleared}"}).status_code == 404


def test_security_headers(client, anonymous):
    for response in (client.get("/api/v1/documents"), anonymous.get("/api/v1/health")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"


def _self_signed(name: str):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_pinned_client_certificate_is_required(tmp_path, notice_metadata):
    import hashlib
    from urllib.parse import quote

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from docsvc.app import build_runtime, create_app
    from docsvc.config import Settings
    from docsvc.db import upgrade
    from docsvc.security import OPERATOR
    from docsvc.services.identity import add_system
    from docsvc.storage import MemoryBlobStore

    good, other = _self_signed("xa-tinh-an"), _self_signed("impostor")
    pin = hashlib.sha256(x509.load_pem_x509_certificate(good.encode()).public_bytes(Encoding.DER)).hexdigest()
    runtime = build_runtime(Settings(env="test", data_dir=tmp_path, client_cert_header="X-Client-Cert"),
                            blobs=MemoryBlobStore())
    upgrade(runtime.engine)
    with runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id="000.01.01.H48", name="UBND xã Tịnh Ấn",
                              client_cert_sha256=pin)
    client = create_app(runtime=runtime).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    # linked systems may not list the registry (403) — but only after the certificate check (401)
    assert client.get("/api/v1/documents", headers=auth).status_code == 401
    wrong = client.get("/api/v1/documents", headers={**auth, "X-Client-Cert": quote(other)})
    assert wrong.status_code == 401 and wrong.json["error"]["details"]["reason"] == "client_certificate"
    right = client.get("/api/v1/documents", headers={**auth, "X-Client-Cert": quote(good)})
    assert right.status_code == 403
