"""The VXP face on the real app: the SDK-speaking harness over HTTP on loopback (Werkzeug's
threaded server in-process) against ``create_app`` + ``ExchangeVxpBackend`` on a migrated SQLite
database, side by side with the REST API of the province's clerk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from docsvc.app import create_app
from docsvc.cli import main
from docsvc.config import Settings, sealing_keys
from docsvc.exchange import (
    VN_TZ,
    Attachment,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
    ResponseFor,
    StatusPackage,
    TraceHeader,
    build_document_package,
    build_status_package,
    parse_package,
)
from docsvc.models import LinkedSystem, Message
from docsvc.samples import notice_pdf
from docsvc.sealing import sealer_from_settings
from docsvc.security import OPERATOR
from docsvc.services.directory import seed_demo
from docsvc.services.identity import add_system
from docsvc.vxp.auth import decrypt_secret, generate_secret
from tests.e2e.test_vxp_protocol import assert_fail, assert_ok
from tests.support.worlds import add_signed_version as _sign
from tests.support.worlds import upload_and_register as _upload_and_register
from tests.vxp_client import VxpClient, decode_package

PROVINCE, COMMUNE, OTHER = "000.00.00.H48", "000.01.01.H48", "000.01.02.H48"


class Agency:
    """A linked system registered with a VXP id and secret, and a client factory for it."""

    def __init__(self, endpoint: str, system_id: str, secret: str, organ_id: str) -> None:
        self.endpoint, self.system_id, self.secret, self.organ_id = endpoint, system_id, secret, organ_id

    def client(self, **kwargs) -> VxpClient:  # type: ignore[no-untyped-def]
        """A new SDK service object (a fresh parameter map)."""
        return VxpClient(self.endpoint, self.system_id, self.secret, **kwargs)


@pytest.fixture
def endpoint(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/vxp"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def _add_vxp_system(runtime, endpoint: str, organ_id: str, system_id: str, name: str) -> Agency:
    secret = generate_secret()
    with runtime.sessions() as session:
        add_system(session, OPERATOR, organ_id=organ_id, name=name, vxp_system_id=system_id,
                   vxp_secret=secret, sealer=sealer_from_settings(runtime.settings))
    return Agency(endpoint, system_id, secret, organ_id)


@pytest.fixture
def commune(runtime, endpoint) -> Agency:
    """UBND xã Tịnh Ấn's document system, built on the SDK (pull-only: no people here)."""
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
    return _add_vxp_system(runtime, endpoint, COMMUNE, "vxp.tinhan.01", "QLVB xã Tịnh Ấn")


@pytest.fixture
def other(runtime, endpoint, commune) -> Agency:
    return _add_vxp_system(runtime, endpoint, OTHER, "vxp.tinhlong.01", "QLVB xã Tịnh Long")


def commune_notice(to: str, number: str = "12", subject: str = "Báo cáo cải cách hành chính") -> bytes:
    """A report of the commune as an edXML package."""
    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
            recipients=(Organization(to, organ_name="Nơi nhận", organ_add="Quảng Ngãi"),),
            code=Code(number, "BC-UBND"), promulgation_info=PromulgationInfo("Tịnh Ấn", dt.date(2025, 3, 1)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            subject=subject, document_id=f"{COMMUNE},2025/03/01,{number}/BC-UBND"),
        trace_headers=(TraceHeader(COMMUNE, dt.datetime(2025, 3, 1, 9, 0, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", f"{number}-BC.pdf", content_type="application/pdf",
                                data=notice_pdf(["Báo cáo", number])),)))


def status_for(document_id: str, code: str) -> bytes:
    """The commune's status report on a document the province sent it."""
    return build_status_package(StatusPackage(
        sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
        response_for=ResponseFor(PROVINCE, "1/TB-UBND", dt.date(2018, 6, 19), document_id),
        status_code=code, timestamp=dt.datetime.now(VN_TZ), description=f"Trạng thái {code}"))


def _messages(runtime) -> int:
    with runtime.sessions() as session:
        return session.execute(select(func.count()).select_from(Message)).scalar_one()


# -- the exchange ---------------------------------------------------------------------------------


def test_send_list_get_done_between_two_sdk_systems(commune, other, runtime):
    sender, receiver = commune.client(), other.client()
    package = commune_notice(OTHER)

    sent = assert_ok(sender.send_edoc(package, from_=COMMUNE))
    assert sent["DocId"]
    assert assert_ok(receiver.count_receive_edoc())["count"] == 1
    [item] = assert_ok(receiver.get_received_edoc_list())["data"]
    assert (item["from"], item["to"], item["messageType"]) == (COMMUNE, OTHER, "edoc")
    assert item["docId"] == sent["DocId"]  # one recipient: its copy is the sending

    assert decode_package(receiver.get_edoc(item["docId"])) == package
    download = receiver.download_edoc(item["docId"])
    assert download.status == 200 and download.body == package
    # listed and fetched but not acknowledged: still owed, not listed again during the lease
    assert assert_ok(receiver.count_receive_edoc())["count"] == 1
    assert assert_ok(receiver.get_received_edoc_list())["data"] == []

    assert_ok(receiver.update_status(item["docId"], "done"))
    assert assert_ok(receiver.count_receive_edoc())["count"] == 0
    with runtime.sessions() as session:  # even after the lease, nothing comes back
        session.execute(update(Message).values(lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(1)))
        session.commit()
    assert assert_ok(receiver.get_received_edoc_list())["data"] == []

    [delivery] = assert_ok(sender.get_sent_edoc_list(sent["DocId"]))["data"]
    assert (delivery["senderDocId"], delivery["receiverDocId"], delivery["toCode"]) == (
        sent["DocId"], item["docId"], OTHER)
    assert delivery["receiveStatus"] == "done" and delivery["receivedTime"]
    # the recipient's system sees nothing of it as sent by itself
    assert assert_ok(receiver.get_sent_edoc_list(sent["DocId"]))["data"] == []


def test_a_package_to_the_province_is_filed_and_status_01_comes_back(commune, client):
    agent = commune.client()
    sent = assert_ok(agent.send_edoc(commune_notice(PROVINCE), from_=commune.system_id))

    [doc] = client.get("/api/v1/documents", query_string={"direction": "incoming"}).json["data"]
    assert doc["organ_id"] == COMMUNE and doc["subject"] == "Báo cáo cải cách hành chính"
    [delivery] = assert_ok(agent.get_sent_edoc_list(sent["DocId"]))["data"]
    assert delivery["receiveStatus"] == "done" and delivery["notation"] == "12/BC-UBND"

    assert assert_ok(agent.count_receive_status())["count"] == 1
    assert assert_ok(agent.get_received_edoc_list("edoc"))["data"] == []
    [item] = assert_ok(agent.get_received_edoc_list("status"))["data"]
    assert (item["from"], item["messageType"]) == (PROVINCE, "status")
    status = parse_package(decode_package(agent.get_edoc(item["docId"]))).package
    assert status.status_code == "01"
    assert status.response_for.document_id == f"{COMMUNE},2025/03/01,12/BC-UBND"
    assert_ok(agent.update_status(item["docId"], "done"))
    assert assert_ok(agent.count_receive_status())["count"] == 0


def test_a_province_notice_reaches_the_sdk_system_and_its_statuses_come_back(commune, client, runtime):
    doc = _upload_and_register(client)
    _sign(runtime, doc["id"])
    send = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [COMMUNE]})
    assert send.status_code == 201, send.json

    agent = commune.client()
    [item] = assert_ok(agent.get_received_edoc_list())["data"]
    assert (item["from"], item["to"], item["docId"]) == (PROVINCE, COMMUNE, send.json["messages"][0]["id"])
    data = decode_package(agent.get_edoc(item["docId"]))
    assert hashlib.sha256(data).hexdigest() == send.json["package_sha256"]
    assert_ok(agent.update_status(item["docId"], "done"))
    document_id = parse_package(data).package.header.document_id

    [recipient] = client.get(f"/api/v1/documents/{doc['id']}/statuses").json["recipients"]
    assert recipient["delivery"]["state"] == "delivered" and recipient["delivery"]["ack_result"] == "received"
    for code in ("01", "03"):
        assert_ok(agent.send_edoc(status_for(document_id, code), from_=COMMUNE, messagetype="status"))
    [recipient] = client.get(f"/api/v1/documents/{doc['id']}/statuses").json["recipients"]
    assert [h["code"] for h in recipient["history"]] == ["01", "03"]
    assert recipient["latest"]["code"] == "03"


def test_fail_is_a_rejection_and_a_late_repeat_changes_nothing(commune, other, runtime):
    sent = assert_ok(commune.client().send_edoc(commune_notice(OTHER), from_=COMMUNE))
    receiver = other.client()
    [item] = assert_ok(receiver.get_received_edoc_list())["data"]
    assert_ok(receiver.update_status(item["docId"], "processing"))
    assert assert_ok(receiver.count_receive_edoc())["count"] == 1
    assert_ok(receiver.update_status(item["docId"], "fail", description="Gói tin hỏng"))
    assert_ok(receiver.update_status(item["docId"], "done"))  # the first acknowledgement stands
    [delivery] = assert_ok(commune.client().get_sent_edoc_list(sent["DocId"]))["data"]
    assert (delivery["receiveStatus"], delivery["receiveStatusDesc"]) == ("fail", "Gói tin hỏng")


# -- protocol robustness on the real backend ------------------------------------------------------


def test_duplicate_send_edoc_is_deduplicated(commune, other, runtime):
    agent = commune.client()
    package = commune_notice(OTHER)
    first = assert_ok(agent.send_edoc(package, from_=COMMUNE))
    again = assert_ok(agent.send_edoc(package, from_=COMMUNE))  # the SDK's retry: same headers
    later = assert_ok(commune.client().send_edoc(package, from_=COMMUNE))  # a new service object
    assert first["DocId"] == again["DocId"] == later["DocId"]
    assert _messages(runtime) == 1
    assert len(assert_ok(other.client().get_received_edoc_list())["data"]) == 1


def test_piled_up_parameters_of_one_service_object_are_ignored(commune, other, runtime):
    assert_ok(commune.client().send_edoc(commune_notice(OTHER, "12"), from_=COMMUNE))
    assert_ok(commune.client().send_edoc(commune_notice(OTHER, "13", "Báo cáo khác"), from_=COMMUNE))
    agent = other.client()
    # a refused sendEdoc first: the list then also carries hash-file, from, to, messagetype=status
    assert_fail(agent.send_edoc(commune_notice(OTHER), from_=COMMUNE, to=[COMMUNE]), "403", DocId="")
    inbox = assert_ok(agent.get_received_edoc_list("edoc"))["data"]
    assert len(inbox) == 2 and {"hash-file", "from", "to"} <= set(dict(agent.params.items()))
    for item in inbox:
        assert_ok(agent.get_edoc(item["docId"], spelling="docId"))
        assert_ok(agent.update_status(item["docId"], "done", spelling="docid"))
    assert {"status", "filePath", "docId", "docid"} <= set(dict(agent.params.items()))
    assert assert_ok(agent.count_receive_edoc())["count"] == 0


def test_wrong_secret_unknown_or_inactive_system_get_the_sdk_error_shape(commune, other, runtime):
    intruder = VxpClient(commune.endpoint, commune.system_id, "not-the-secret-at-all")
    stranger = VxpClient(commune.endpoint, "vxp.unknown.99", "whatever-secret-000")
    sent = intruder.send_edoc(commune_notice(OTHER), from_=COMMUNE)
    assert sent.status == 401
    assert_fail(sent, "401", DocId="")
    assert_fail(intruder.get_received_edoc_list(), "401", data=[])
    assert_fail(intruder.count_receive_edoc(), "401", count=0)
    download = intruder.download_edoc("x")
    assert download.status == 401 and download.body == b""
    assert stranger.get_agencies_list().json["ErrorDesc"] == intruder.get_agencies_list().json["ErrorDesc"]
    assert _messages(runtime) == 0

    with runtime.sessions() as session:
        session.execute(update(LinkedSystem).where(LinkedSystem.vxp_system_id == commune.system_id)
                        .values(active=False))
        session.commit()
    assert_fail(commune.client().get_received_edoc_list(), "401", data=[])


def test_refusals_keep_the_envelope_and_store_nothing(commune, other, runtime):
    agent = commune.client()
    # a package of another organisation, and a 'from' that is not the system's
    notice_of_other = commune_notice(COMMUNE).replace(COMMUNE.encode(), OTHER.encode())
    assert_fail(agent.send_edoc(notice_of_other, from_=COMMUNE), "403", DocId="")
    assert_fail(agent.send_edoc(commune_notice(OTHER), from_=OTHER), "403", DocId="")
    assert_fail(agent.send_edoc(commune_notice("000.09.09.H48"), from_=COMMUNE), "400", DocId="")
    assert_fail(agent.send_edoc(b"<html>nope</html>", from_=COMMUNE), "400", DocId="")
    assert _messages(runtime) == 0
    # a message of someone else is not found, on every path
    assert_ok(agent.send_edoc(commune_notice(OTHER), from_=COMMUNE))
    [item] = assert_ok(other.client().get_received_edoc_list())["data"]
    assert_fail(agent.get_edoc(item["docId"]), "404", data="")
    assert_fail(agent.update_status(item["docId"], "done"), "404")
    assert agent.download_edoc(item["docId"]).body == b""


def test_directory_comes_from_docsvc_and_registration_is_refused(commune):
    agent = commune.client()
    agencies = {a["code"]: a for a in assert_ok(agent.get_agencies_list())["data"]}
    assert agencies[PROVINCE]["name"] == "UBND tỉnh Quảng Ngãi"
    assert agencies["000.00.53.H48"]["pid"] == PROVINCE
    assert {a["code"] for a in assert_ok(agent.get_agencies_list_qd20("1"))["data"]} == set(agencies)
    assert_fail(agent.register_agency('{"code":"000.00.54.H48","name":"UBND xã Tịnh Bắc"}'), "403")
    assert_fail(agent.delete_agency("000.00.53.H48"), "403")


# -- secrets, configuration, CLI ------------------------------------------------------------------


def test_the_secret_is_stored_sealed(commune, runtime):
    with runtime.sessions() as session:
        row = session.execute(select(LinkedSystem).where(
            LinkedSystem.vxp_system_id == commune.system_id)).scalar_one()
    assert commune.secret not in row.vxp_secret_sealed
    keys = sealing_keys(runtime.settings)
    assert decrypt_secret(row.vxp_secret_sealed, keys, system_id=commune.system_id) == commune.secret


def test_an_empty_prefix_disables_the_vxp_face(runtime):
    from dataclasses import replace

    from docsvc.app import build_runtime

    rt = build_runtime(replace(runtime.settings, vxp_prefix=""), blobs=runtime.blobs)
    try:
        rules = {r.rule for r in create_app(runtime=rt).url_map.iter_rules()}
    finally:
        rt.engine.dispose()
    assert not any("<op>" in r for r in rules)
    assert Settings.from_env({"DOCSVC_VXP_PREFIX": ""}).vxp_prefix == ""
    assert Settings.from_env({}).vxp_prefix == "/vxp"


def test_cli_adds_a_vxp_system_with_a_secret_from_stdin(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCSVC_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DOCSVC_VXP_KEY", "k" * 40)
    monkeypatch.delenv("DOCSVC_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["init"], catch_exceptions=False).exit_code == 0
    added = runner.invoke(main, ["systems", "add", COMMUNE, "--name", "QLVB xã", "--vxp-system-id",
                                 "vxp.tinhan.01", "--vxp-secret-stdin"],
                          input="commune-shared-secret-01\n", catch_exceptions=False)
    assert added.exit_code == 0, added.output
    assert added.stdout.strip().startswith("dsv_") and len(added.stdout.strip().splitlines()) == 1
    assert "commune-shared-secret-01" not in added.stderr
    generated = runner.invoke(main, ["systems", "add", OTHER, "--name", "QLVB xã 2",
                                     "--vxp-system-id", "vxp.tinhlong.01"], catch_exceptions=False)
    assert generated.exit_code == 0 and len(generated.stdout.strip().splitlines()) == 1
    assert "secret (shown once" in generated.stderr
    taken = runner.invoke(main, ["systems", "add", OTHER, "--name", "x", "--vxp-system-id",
                                 "vxp.tinhlong.01"])
    assert taken.exit_code == 1 and "conflict" in taken.stderr and "vxp.tinhlong.01" in taken.stderr

    settings = Settings.from_env({"DOCSVC_DATA_DIR": str(tmp_path / "var"), "DOCSVC_VXP_KEY": "k" * 40})
    from docsvc.app import build_runtime

    rt = build_runtime(settings)
    try:
        with rt.sessions() as session:
            row = session.execute(select(LinkedSystem).where(
                LinkedSystem.vxp_system_id == "vxp.tinhan.01")).scalar_one()
            assert decrypt_secret(row.vxp_secret_sealed, "k" * 40,
                                  system_id="vxp.tinhan.01") == "commune-shared-secret-01"
    finally:
        rt.engine.dispose()


def test_a_pinned_client_certificate_is_required_on_the_vxp_face_too(commune, runtime):
    with runtime.sessions() as session:
        session.execute(update(LinkedSystem).where(LinkedSystem.vxp_system_id == commune.system_id)
                        .values(client_cert_sha256="ab" * 32))
        session.commit()
    # the loopback server passes no client certificate: the pinned system is refused
    assert_fail(commune.client().get_received_edoc_list(), "401", data=[])


def test_documented_setup_receives_without_the_demo_directory(tmp_path, monkeypatch):
    """`docsvc init` + `docsvc systems add`, as the README says: no `directory seed-demo`, yet a
    commune's package to this agency is filed (before: 422 recipient_unknown)."""
    from docsvc.app import build_runtime

    env = {"DOCSVC_DATA_DIR": str(tmp_path / "var"), "DOCSVC_VXP_KEY": "k" * 40,
           "DOCSVC_ORGAN_NAME": "UBND tỉnh Quảng Ngãi (thử)"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DOCSVC_DATABASE_URL", raising=False)
    runner = CliRunner()
    init = runner.invoke(main, ["init"], catch_exceptions=False)
    assert init.exit_code == 0 and PROVINCE in init.stderr
    added = runner.invoke(main, ["systems", "add", COMMUNE, "--name", "QLVB xã", "--vxp-system-id",
                                 "vxp.tinhan.01", "--vxp-secret-stdin"],
                          input="commune-shared-secret-01\n", catch_exceptions=False)
    assert added.exit_code == 0, added.output
    assert runner.invoke(main, ["init"], catch_exceptions=False).exit_code == 0  # idempotent

    rt = build_runtime(Settings.from_env(env))
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = VxpClient(f"http://127.0.0.1:{server.port}/vxp", "vxp.tinhan.01",
                           "commune-shared-secret-01")
        sent = assert_ok(client.send_edoc(commune_notice(PROVINCE), from_=COMMUNE))
        assert sent["DocId"]
        with rt.sessions() as session:
            from docsvc.models import Organization as OrganizationRow

            own = session.get(OrganizationRow, PROVINCE)
            assert own is not None and own.name == "UBND tỉnh Quảng Ngãi (thử)"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        rt.engine.dispose()
