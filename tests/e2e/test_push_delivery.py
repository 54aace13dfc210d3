"""Two real docsvc instances on loopback, each with its own SQLite database and blob folder: the
province sends to a commune that runs docsvc, the worker pushes, the commune files the document
and its status 01 is pushed back; a receiver that is down gets the document exactly once when it
returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from docsvc.app import build_runtime, create_app
from docsvc.cli import main
from docsvc.config import Settings
from docsvc.models import Delivery, Document, Message, PeerCredential
from docsvc.security import OPERATOR
from docsvc.services.delivery import DeliveryPolicy, deliver_due
from docsvc.services.identity import add_system
from tests.support.worlds import Instance, link, new_instance
from tests.support.worlds import add_signed_version as _sign
from tests.support.worlds import upload_and_register as _upload_and_register

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"
POLICY = DeliveryPolicy(base_delay=dt.timedelta(seconds=1), max_delay=dt.timedelta(seconds=4))


@pytest.fixture
def pair(tmp_path) -> Iterator[tuple[Instance, Instance]]:
    province = new_instance(tmp_path / "province", PROVINCE)
    commune = new_instance(tmp_path / "commune", COMMUNE)
    link(province, PROVINCE, commune, COMMUNE)
    link(commune, COMMUNE, province, PROVINCE)
    try:
        yield province, commune
    finally:
        for instance in (province, commune):
            instance.stop()
            instance.runtime.engine.dispose()


def _send(province: Instance) -> tuple[str, str]:
    """Register, sign and send the province's notice to the commune; return document and message."""
    client = province.clerk()
    doc = _upload_and_register(client)
    _sign(province.runtime, doc["id"])
    response = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [COMMUNE]})
    assert response.status_code == 201, response.json
    [message] = response.json["messages"]
    assert message["delivery"] == "push"
    return doc["id"], message["id"]


def _deliver(instance: Instance, now: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    rt = instance.runtime
    return deliver_due(rt.sessions, rt.blobs, rt.settings, now=now, policy=POLICY)


def _incoming(commune: Instance) -> int:
    return commune.count(select(func.count()).select_from(Document).where(
        Document.direction == "incoming", Document.owner_organ_id == COMMUNE))


def _statuses(province: Instance, document_id: str) -> dict:
    return province.clerk().get(f"/api/v1/documents/{document_id}/statuses").json


def test_round_trip_between_two_instances(pair):
    province, commune = pair
    province.start()
    commune.start()
    document_id, message_id = _send(province)

    assert _deliver(province).delivered == [message_id]
    assert _incoming(commune) == 1
    with commune.runtime.sessions() as session:
        received = session.execute(select(Message).where(Message.kind == "edoc")).scalar_one()
        assert received.origin == "submitted" and received.delivered_document_id is not None
        status = session.execute(select(Message).where(Message.kind == "status")).scalar_one()
        assert status.status_code == "01" and status.delivery.mode == "push"

    # the commune's worker pushes status 01 back; the province sees it per recipient
    assert len(_deliver(commune).delivered) == 1
    [recipient] = _statuses(province, document_id)["recipients"]
    assert recipient["delivery"]["state"] == "delivered"
    assert recipient["latest"]["code"] == "01"

    trace = province.clerk().get(f"/api/v1/documents/{document_id}/trace").json["events"]
    pushes = [e for e in trace if e.get("event") == "push_attempt"]
    assert [(e["details"]["outcome"], e["details"]["http_status"]) for e in pushes] == [("delivered", 201)]


def test_a_receiver_down_for_a_while_gets_the_document_exactly_once(pair):
    province, commune = pair
    document_id, message_id = _send(province)  # the commune is not listening yet

    t0 = dt.datetime.now(dt.UTC)
    for minute in range(3):
        report = _deliver(province, t0 + dt.timedelta(minutes=minute))
        assert report.retrying == [message_id]
    with province.runtime.sessions() as session:
        delivery = session.get(Delivery, message_id)
        assert delivery.state == "queued" and delivery.attempts == 3
        assert "Connection" in (delivery.last_error or "")

    commune.start()
    assert _deliver(province, t0 + dt.timedelta(minutes=5)).delivered == [message_id]
    assert _incoming(commune) == 1

    # the answer got lost (say the worker died after the peer stored it): pushing again is harmless
    with province.runtime.sessions() as session:
        session.execute(update(Delivery).where(Delivery.message_id == message_id).values(
            state="queued", next_attempt_at=t0))
        session.commit()
    assert _deliver(province, t0 + dt.timedelta(minutes=6)).delivered == [message_id]
    assert _incoming(commune) == 1
    assert commune.count(select(func.count()).select_from(Message).where(Message.kind == "edoc")) == 1
    assert _statuses(province, document_id)["recipients"][0]["delivery"]["attempts"] == 5


def test_cli_set_endpoint_and_worker_once(tmp_path, monkeypatch):
    commune = new_instance(tmp_path / "commune", COMMUNE)
    province_dir = tmp_path / "province"
    province_dir.mkdir()
    for name, value in {"ENV": "test", "DATA_DIR": str(province_dir), "SECRET_KEY": "p" * 40}.items():
        monkeypatch.setenv(f"DOCSVC_{name}", value)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["directory", "seed-demo"]).exit_code == 0
    with commune.runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id=PROVINCE, name="docsvc tỉnh")
    result = runner.invoke(main, ["directory", "set-endpoint", COMMUNE, commune.url, "--token-stdin"],
                           input=token + "\n")
    assert result.exit_code == 0, result.output
    province = Instance(build_runtime(Settings.from_env()), None, 0)
    with province.runtime.sessions() as session:
        credential = session.get(PeerCredential, COMMUNE)
        assert token not in credential.sealed_token
    bad = runner.invoke(main, ["directory", "set-endpoint", COMMUNE, "ftp://x", "--token-stdin"],
                        input=token + "\n")
    assert bad.exit_code == 1 and "bad_request" in bad.output

    province.app = create_app(runtime=province.runtime)
    _send(province)
    commune.start()
    try:
        result = runner.invoke(main, ["worker", "--once"])
        assert result.exit_code == 0, result.output
        assert "1 delivered" in result.output
        assert _incoming(commune) == 1
    finally:
        commune.stop()
        province.runtime.engine.dispose()
        commune.runtime.engine.dispose()
