"""The worlds the tests act in: the exchange parties of one instance (the province, a hosted
commune, a pull-only commune system; a registered and signed notice) and, for push delivery,
two docsvc instances served on loopback that know each other.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.serving import make_server
from werkzeug.test import encode_multipart

from docsvc.app import Runtime, build_runtime, create_app
from docsvc.config import Settings
from docsvc.db import upgrade
from docsvc.metadata import parse_metadata
from docsvc.models import Document
from docsvc.samples import notice_pdf
from docsvc.sealing import sealer_from_settings
from docsvc.security import OPERATOR, Actor
from docsvc.services.delivery import set_endpoint
from docsvc.services.directory import seed_demo
from docsvc.services.documents import register_document, store_version, upload_document
from docsvc.services.exchange import AgencyKey, ExchangeConfig
from docsvc.services.identity import actor_for_user, add_system, add_user
from tests.support.data import NOTICE_METADATA, make_user
from tests.support.net import free_port
from tests.support.pki import self_signed

PROVINCE, HOSTED, PULLING = "000.00.00.H48", "000.01.01.H48", "000.01.02.H48"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def make_key(common_name: str, key=None) -> AgencyKey:  # type: ignore[no-untyped-def]
    """Return a self-signed agency key (RSA 2048 unless ``key`` is given)."""
    key = key or rsa.generate_private_key(65537, 2048)
    return AgencyKey(key, (self_signed(key, common_name),))


def world_in(session) -> dict[str, Actor]:
    """Create the people and the system of :func:`world` (the directory must be there)."""
    people = {}
    for username, organ_id in (("vanthu", PROVINCE), ("vanthu-xa", HOSTED)):
        user = add_user(session, OPERATOR, username=username, roles=["clerk"], organ_id=organ_id)
        people[username] = actor_for_user(session, user)
    system, _ = add_system(session, OPERATOR, organ_id=PULLING, name="QLVB xã Tịnh Long")
    people["system"] = Actor(kind="system", name=f"{system.id}:{system.name}", organ_id=PULLING,
                             system_id=system.id)
    return people


def signed_notice(session, blobs, clerk, *, sign: bool = True) -> str:
    """Upload, register and (by a 'signed' version) sign the province's notice; return its id."""
    metadata = parse_metadata(NOTICE_METADATA)
    document, _ = upload_document(session, blobs, stream=io.BytesIO(notice_pdf()), filename="tb.pdf",
                                  metadata=metadata, owner_organ_id=PROVINCE, actor=clerk)
    register_document(session, document_id=document.id, actor=clerk, zone=ZONE)
    if sign:
        data = notice_pdf(["đã ký"])
        store_version(session, blobs, document, io.BytesIO(data), kind="signed", filename="tb.signed.pdf",
                      actor=clerk, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        session.commit()
    return document.id


# -- fixtures of the exchange services ------------------------------------------------------------


@pytest.fixture(scope="session")
def agency_key() -> AgencyKey:
    return make_key("UBND tỉnh Quảng Ngãi")


@pytest.fixture
def config() -> ExchangeConfig:
    return ExchangeConfig(local_organ_id=PROVINCE, zone=ZONE)


@pytest.fixture
def world(session):
    """Directory, a province clerk, a clerk of a hosted commune and a pull-only commune system."""
    seed_demo(session, OPERATOR)
    return world_in(session)


# -- two docsvc instances ------------------------------------------------------------------------


@dataclass
class Instance:
    """A docsvc instance of its own (SQLite, blob folder) whose app is served on ``port``."""

    runtime: Runtime
    app: object
    port: int
    server: object | None = None
    thread: threading.Thread | None = None
    token: str | None = None

    def clerk(self):  # type: ignore[no-untyped-def]
        """A test client of the instance's clerk (created on first use)."""
        if self.token is None:
            self.token = make_user(self.runtime, "vanthu", ["clerk"])
        client = self.app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return client

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.thread.join(10)
            self.server.server_close()
            self.server = None

    def count(self, stmt) -> int:  # type: ignore[no-untyped-def]
        with self.runtime.sessions() as session:
            return session.execute(stmt).scalar_one()


def new_instance(folder: Path, organ_id: str) -> Instance:
    settings = Settings(env="test", data_dir=folder, organ_id=organ_id, secret_key=f"{organ_id}-" * 4)
    folder.mkdir(parents=True)
    runtime = build_runtime(settings)
    upgrade(runtime.engine)
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
    app = create_app(runtime=runtime)
    app.testing = True
    return Instance(runtime, app, free_port())


def link(sender: Instance, sender_organ: str, receiver: Instance, receiver_organ: str) -> None:
    """The receiver registers the sender as a linked system; the sender stores the token."""
    with receiver.runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id=sender_organ, name=f"docsvc {sender_organ}")
    with sender.runtime.sessions() as session:
        set_endpoint(session, OPERATOR, organ_id=receiver_organ, url=receiver.url + "/", token=token,
                     sealer=sealer_from_settings(sender.runtime.settings))


# -- through the API -------------------------------------------------------------------------------


def upload_and_register(client) -> dict:  # type: ignore[no-untyped-def]
    """Upload the notice through the API and register it; return the document."""
    boundary, body = encode_multipart(MultiDict({
        "metadata": json.dumps(NOTICE_METADATA),
        "file": FileStorage(io.BytesIO(notice_pdf()), "tb.pdf", content_type="application/pdf")}))
    doc = client.post("/api/v1/documents", data=body,
                      content_type=f"multipart/form-data; boundary={boundary}").json
    assert client.post(f"/api/v1/documents/{doc['id']}/register").status_code == 200
    return doc


def add_signed_version(runtime, document_id: str) -> None:  # type: ignore[no-untyped-def]
    """Add a version of kind 'signed' (the signing API is wired separately)."""
    data = notice_pdf(["signed copy"])
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        store_version(session, runtime.blobs, document, io.BytesIO(data), kind="signed",
                      filename="185-TB-UBND.signed.pdf", actor=OPERATOR,
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        session.commit()
