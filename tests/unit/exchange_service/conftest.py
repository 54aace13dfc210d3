"""Fixtures of the exchange services: the demo directory, people of the province and of a hosted
commune, a registered and signed notice, an agency key (self-signed, test only)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from docsvc.metadata import parse_metadata
from docsvc.samples import notice_pdf
from docsvc.security import OPERATOR, Actor
from docsvc.services.directory import seed_demo
from docsvc.services.documents import register_document, store_version, upload_document
from docsvc.services.exchange import AgencyKey, ExchangeConfig
from docsvc.services.identity import actor_for_user, add_system, add_user
from tests.conftest import NOTICE_METADATA

PROVINCE, HOSTED, PULLING = "000.00.00.H48", "000.01.01.H48", "000.01.02.H48"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def make_key(common_name: str) -> AgencyKey:
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return AgencyKey(key, (cert,))


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
