"""docsvc as a client of the national axis, against docsvc's own VXP face on loopback: two real
instances (SQLite + blob folder each). The province (client) reaches UBND xã Tịnh Ấn, which is
hosted behind the "axis" instance, only through the SDK protocol: a notice goes out as sendEdoc,
its status 01 comes back through getReceivedEdocList; a notice of the commune arrives, becomes an
incoming document, and its 01 goes back the same way. A worker killed with SIGKILL between
filing and acknowledging neither loses nor duplicates the package.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from docsvc.cli import main
from docsvc.config import sealing_keys
from docsvc.exchange import ParseLimits
from docsvc.models import AxisInbound, AxisOutbound, Delivery, Document, Message, Organization, utcnow
from docsvc.samples import notice_pdf
from docsvc.sealing import sealer_from_settings
from docsvc.security import OPERATOR
from docsvc.services import exchange as svc
from docsvc.services.axis.config import set_axis
from docsvc.services.axis.worker import AxisWorkerOptions, axis_pass
from docsvc.services.identity import add_system
from docsvc.vxp.auth import generate_secret
from tests.conftest import NOTICE_METADATA, make_user
from tests.e2e.test_exchange_api import _sign
from tests.support.worlds import Instance
from tests.support.worlds import new_instance as _instance

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"
SYSTEM_ID = "vxp.h48.province"
OPTIONS = AxisWorkerOptions(timeout=10.0)


def later() -> dt.datetime:
    """A clock a minute ahead: the axis's delivery state is asked for again after a while."""
    return utcnow() + dt.timedelta(minutes=1)


def _exchange_config(instance: Instance):  # type: ignore[no-untyped-def]
    return svc.config_from_settings(instance.runtime.settings)


def run_pass(instance: Instance, **kwargs):  # type: ignore[no-untyped-def]
    rt = instance.runtime
    return axis_pass(rt.sessions, rt.blobs, sealing_keys(rt.settings),
                     lambda: _exchange_config(instance), options=OPTIONS, force=True, **kwargs)


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[Instance, Instance, str]]:
    """The province (axis client) and the axis (docsvc's VXP face, hosting the commune)."""
    province = _instance(tmp_path / "province", PROVINCE)
    axis = _instance(tmp_path / "axis", COMMUNE)
    secret = generate_secret()
    with axis.runtime.sessions() as session:
        add_system(session, OPERATOR, organ_id=PROVINCE, name="docsvc tỉnh Quảng Ngãi",
                   vxp_system_id=SYSTEM_ID, vxp_secret=secret,
                   sealer=sealer_from_settings(axis.runtime.settings))
    axis.start()
    with province.runtime.sessions() as session:
        set_axis(session, OPERATOR, endpoint=axis.url + "/vxp", system_id=SYSTEM_ID, secret=secret,
                 keys=sealing_keys(province.runtime.settings))
    try:
        yield province, axis, secret
    finally:
        for instance in (province, axis):
            instance.stop()
            instance.runtime.engine.dispose()


def _register(client, organ_id: str, organ_name: str, to: str) -> dict:  # type: ignore[no-untyped-def]
    metadata = dict(NOTICE_METADATA, organ_id=organ_id, organ_name=organ_name,
                    recipients=[{"organ_id": to, "organ_name": to}])
    boundary, body = encode_multipart(MultiDict({
        "metadata": json.dumps(metadata),
        "file": FileStorage(io.BytesIO(notice_pdf()), "tb.pdf", content_type="application/pdf")}))
    doc = client.post("/api/v1/documents", data=body,
                      content_type=f"multipart/form-data; boundary={boundary}").json
    assert client.post(f"/api/v1/documents/{doc['id']}/register").status_code == 200
    return doc


def _send(instance: Instance, client, organ_id: str, name: str, to: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    doc = _register(client, organ_id, name, to)
    _sign(instance.runtime, doc["id"])
    response = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [to]})
    assert response.status_code == 201, response.json
    [message] = response.json["messages"]
    return doc["id"], message


def _commune_clerk(axis: Instance):  # type: ignore[no-untyped-def]
    token = make_user(axis.runtime, "vanthu-xa", ["clerk"], organ_id=COMMUNE)
    client = axis.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _incoming(instance: Instance, owner: str) -> int:
    return instance.count(select(func.count()).select_from(Document).where(
        Document.direction == "incoming", Document.owner_organ_id == owner))


def test_notice_reaches_the_commune_behind_the_axis_and_its_status_comes_back(world):
    province, axis, _ = world
    document_id, message = _send(province, province.clerk(), PROVINCE, "UBND tỉnh Quảng Ngãi", COMMUNE)
    assert message["delivery"] == "axis"

    first = run_pass(province)
    assert first.error is None, first.error
    assert first.sent.sent == [message["id"]]
    assert _incoming(axis, COMMUNE) == 1  # filed behind the axis
    with province.runtime.sessions() as session:
        outbound = session.get(AxisOutbound, message["id"])
        assert outbound.axis_doc_id
        assert session.get(Delivery, message["id"]).state == "delivered"

    run_pass(province, clock=later)  # the axis's delivery state, then its status 01 in the inbox
    statuses = province.clerk().get(f"/api/v1/documents/{document_id}/statuses").json
    [recipient] = statuses["recipients"]
    assert recipient["delivery"]["mode"] == "axis"
    assert recipient["delivery"]["axis"]["doc_id"] == outbound.axis_doc_id
    assert recipient["delivery"]["axis"]["receive_status"] == "done"
    assert recipient["delivery"]["ack_result"] == "received"
    assert recipient["latest"]["code"] == "01"
    trace = province.clerk().get(f"/api/v1/documents/{document_id}/trace").json
    events = [e["event"] for e in trace["events"] if e["type"] == "transport"]
    assert "axis_send" in events and "axis_state" in events

    # nothing is sent or filed twice by further passes
    again = run_pass(province)
    assert again.sent.sent == [] and again.received.filed == []
    assert _incoming(axis, COMMUNE) == 1


def test_incoming_axis_package_becomes_a_document_and_01_goes_back(world):
    province, axis, _ = world
    commune_doc, message = _send(axis, _commune_clerk(axis), COMMUNE, "UBND xã Tịnh Ấn", PROVINCE)
    assert message["delivery"] == "pull"  # the province's system pulls it from the axis

    report = run_pass(province)
    assert report.error is None, report.error
    assert report.received.filed == [message["id"]], report
    assert _incoming(province, PROVINCE) == 1
    with province.runtime.sessions() as session:
        row = session.get(AxisInbound, message["id"])
        assert (row.state, row.ack_status) == ("acked", "done")
        status = session.execute(select(Message).where(Message.kind == "status")).scalar_one()
        assert status.status_code == "01" and status.delivery.mode == "axis"
    with axis.runtime.sessions() as session:  # updateStatus done reached the axis
        assert session.get(Message, message["id"]).ack_result == "received"

    run_pass(province)  # the 01 goes back through sendEdoc
    statuses = _commune_clerk_statuses(axis, commune_doc)
    assert statuses["recipients"][0]["latest"]["code"] == "01"

    # the province's clerk registers it (03: arrival number); `docsvc worker --once` sends the 03
    with province.runtime.sessions() as session:
        incoming_id = session.execute(select(Document.id).where(
            Document.direction == "incoming")).scalar_one()
    response = province.clerk().post(f"/api/v1/documents/{incoming_id}/status",
                                      json={"code": "03", "description": "Đã vào sổ"})
    assert response.status_code == 201, response.json
    assert response.json["document"]["arrival_number"] == 1
    assert response.json["message"]["recipient"] == COMMUNE
    worker = CliRunner().invoke(main, ["worker", "--once"], env=_env(province))
    assert worker.exit_code == 0, worker.output
    assert "axis: 1 sent" in worker.output
    statuses = _commune_clerk_statuses(axis, commune_doc)
    assert statuses["recipients"][0]["latest"]["code"] == "03"


def _commune_clerk_statuses(axis: Instance, document_id: str) -> dict:
    with axis.runtime.sessions() as session:
        return svc.document_statuses(session, document_id=document_id, actor=OPERATOR)


def test_refused_package_is_acknowledged_fail_with_the_reason(world):
    province, axis, _ = world
    _, message = _send(axis, _commune_clerk(axis), COMMUNE, "UBND xã Tịnh Ấn", PROVINCE)
    tiny = dataclasses.replace(_exchange_config(province), limits=ParseLimits(max_bytes=2000))
    rt = province.runtime
    report = axis_pass(rt.sessions, rt.blobs, sealing_keys(rt.settings), lambda: tiny,
                       options=OPTIONS, force=True)
    assert report.received.refused == [message["id"]]
    assert _incoming(province, PROVINCE) == 0
    with province.runtime.sessions() as session:
        row = session.get(AxisInbound, message["id"])
        assert (row.state, row.ack_status) == ("acked", "fail")
        assert row.reason.startswith("xml_too_large") or "2000" in row.reason
    with axis.runtime.sessions() as session:  # the sender sees the refusal and why
        refused = session.get(Message, message["id"])
        assert refused.ack_result == "rejected"
        assert refused.ack_reason.startswith(row.reason.split(":")[0])  # the code, in ASCII
        assert refused.ack_reason.isascii() and "Goi tin" in refused.ack_reason


def test_sigkill_between_filing_and_acknowledging_neither_loses_nor_duplicates(world, tmp_path):
    province, axis, _ = world
    _, message = _send(axis, _commune_clerk(axis), COMMUNE, "UBND xã Tịnh Ấn", PROVINCE)
    settings = province.runtime.settings
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from docsvc.app import build_runtime
        from docsvc.config import sealing_keys
        from docsvc.config import Settings
        from docsvc.services import exchange as svc
        from docsvc.services.axis.worker import AxisWorkerOptions, axis_pass
        settings = Settings(env="test", data_dir=Path({str(settings.data_dir)!r}),
                            organ_id={PROVINCE!r}, secret_key={settings.secret_key!r})
        rt = build_runtime(settings)
        def die(doc_id):
            os.kill(os.getpid(), signal.SIGKILL)
        axis_pass(rt.sessions, rt.blobs, sealing_keys(settings),
                  lambda: svc.config_from_settings(settings), options=AxisWorkerOptions(timeout=10),
                  force=True, before_ack=die)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2], timeout=120,
                          capture_output=True, env=dict(os.environ))
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    assert _incoming(province, PROVINCE) == 1  # filed and committed before the kill
    with axis.runtime.sessions() as session:
        assert session.get(Message, message["id"]).ack_result is None  # never acknowledged

    report = run_pass(province)  # the restarted worker
    assert report.error is None, report.error
    assert _incoming(province, PROVINCE) == 1  # not filed twice
    with axis.runtime.sessions() as session:
        assert session.get(Message, message["id"]).ack_result == "received"
    with province.runtime.sessions() as session:
        assert session.get(AxisInbound, message["id"]).state == "acked"
        assert session.execute(select(func.count()).select_from(Message).where(
            Message.kind == "status", Message.status_code == "01")).scalar_one() == 1


def test_directory_sync_adds_axis_units_and_keeps_local_entries(world):
    province, axis, _ = world
    with axis.runtime.sessions() as session:
        session.add(Organization(organ_id="000.00.00.G22", name="Văn phòng Chính phủ"))
        local = session.get(Organization, COMMUNE)
        local.name = "Tên do trục đặt"
        session.commit()
    result = CliRunner().invoke(main, ["axis", "sync-directory"], env=_env(province))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["created"] == 1 and report["kept_local"] >= 1
    with province.runtime.sessions() as session:
        assert session.get(Organization, "000.00.00.G22").origin == "axis"
        assert session.get(Organization, COMMUNE).name != "Tên do trục đặt"
        assert session.get(Organization, COMMUNE).origin is None
    listed = {o["organ_id"]: o for o in province.clerk().get("/api/v1/directory").json["data"]}
    assert listed["000.00.00.G22"]["origin"] == "axis" and listed[COMMUNE]["origin"] == "local"
    # a notice to the Government Office now routes through the axis
    _, message = _send(province, province.clerk(), PROVINCE, "UBND tỉnh Quảng Ngãi", "000.00.00.G22")
    assert message["delivery"] == "axis"


def _env(instance: Instance) -> dict[str, str]:
    s = instance.runtime.settings
    return {"DOCSVC_ENV": "test", "DOCSVC_DATA_DIR": str(s.data_dir), "DOCSVC_ORGAN_ID": s.organ_id,
            "DOCSVC_SECRET_KEY": s.secret_key}


def test_cli_axis_test_and_status_say_what_is_wrong(world):
    province, axis, secret = world
    ok = CliRunner().invoke(main, ["axis", "test"], env=_env(province))
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    status = CliRunner().invoke(main, ["axis", "status"], env=_env(province))
    assert status.exit_code == 0
    assert json.loads(status.output)["secret"] == "(sealed)"
    bad = CliRunner().invoke(main, ["axis", "set", "--endpoint", axis.url + "/vxp", "--system-id", SYSTEM_ID,
                                    "--secret-stdin"], input="wrong-secret\n", env=_env(province))
    assert bad.exit_code == 0, bad.output
    assert "wrong-secret" not in bad.output
    refused = CliRunner().invoke(main, ["axis", "test"], env=_env(province))
    assert refused.exit_code == 1
    assert "axis_auth_refused" in refused.output
    secret_file = Path(province.runtime.settings.data_dir) / "axis-secret"
    secret_file.write_text(secret + "\n")
    fixed = CliRunner().invoke(main, ["axis", "set", "--endpoint", axis.url + "/vxp", "--system-id",
                                      SYSTEM_ID, "--secret-file", str(secret_file)], env=_env(province))
    assert fixed.exit_code == 0 and secret not in fixed.output
    assert CliRunner().invoke(main, ["axis", "test"], env=_env(province)).exit_code == 0
    with province.runtime.sessions() as session:  # sealed at rest
        from docsvc.models import AxisSettings

        assert secret not in session.get(AxisSettings, 1).sealed_secret
    axis.stop()
    down = CliRunner().invoke(main, ["axis", "test"], env=_env(province))
    assert down.exit_code == 1 and "axis_unreachable" in down.output


def test_axis_down_leaves_a_reason_backs_off_and_loses_nothing(world):
    province, axis, _ = world
    _, message = _send(province, province.clerk(), PROVINCE, "UBND tỉnh Quảng Ngãi", COMMUNE)
    run_pass(province)  # the directory sync of the first pass
    axis.stop()
    _, later_message = _send(province, province.clerk(), PROVINCE, "UBND tỉnh Quảng Ngãi", COMMUNE)
    report = run_pass(province)
    assert report.error and report.error.startswith("axis_unreachable")
    status = json.loads(CliRunner().invoke(main, ["axis", "status"], env=_env(province)).output)
    assert status["last_error"].startswith("axis_unreachable") and status["poll_failures"] == 1
    assert status["next_poll_at"] is not None
    assert status["outbound"]["errors"][0]["message_id"] == later_message["id"]
    with province.runtime.sessions() as session:
        delivery = session.get(Delivery, later_message["id"])
        assert delivery.state == "queued" and delivery.last_error.startswith("axis_unreachable")
    # the axis is back: the queued message goes out once, the earlier one is not resent
    axis.start()
    report = run_pass(province, clock=later)
    assert report.error is None and report.sent.sent == [later_message["id"]]
    assert _incoming(axis, COMMUNE) == 2
    del message



def test_docsvc_worker_moves_both_directions_with_no_manual_step(world):
    """The long-running worker (its axis thread beside the push loop), stopped with SIGTERM."""
    province, axis, _ = world
    document_id, _ = _send(province, province.clerk(), PROVINCE, "UBND tỉnh Quảng Ngãi", COMMUNE)
    _, incoming = _send(axis, _commune_clerk(axis), COMMUNE, "UBND xã Tịnh Ấn", PROVINCE)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DOCSVC_")}, **_env(province)}
    worker = subprocess.Popen([sys.executable, "-m", "docsvc", "worker", "--interval", "0.3"],
                              cwd=Path(__file__).parents[2], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = province.clerk().get(f"/api/v1/documents/{document_id}/statuses").json
            latest = statuses["recipients"][0]["latest"]
            if latest and latest["code"] == "01" and _incoming(province, PROVINCE) == 1:
                break
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err.decode()[-2000:]
    assert _incoming(axis, COMMUNE) == 1 and _incoming(province, PROVINCE) == 1
    assert latest["code"] == "01"
    with axis.runtime.sessions() as session:
        assert session.get(Message, incoming["id"]).ack_result == "received"


def _axis_submits(axis: Instance, package: bytes) -> list[str]:
    """The commune's own system submits a package on the axis instance; return its message ids."""
    from docsvc.security import Actor

    actor = Actor(kind="system", name="qlvb xã", organ_id=COMMUNE)
    with axis.runtime.sessions() as session:
        result = svc.submit_package(session, axis.runtime.blobs, _exchange_config(axis),
                                    stream=io.BytesIO(package), idempotency_key=None, actor=actor)
    return [m for m, to in zip(result.receipt["message_ids"], result.receipt["to"], strict=True)
            if to == PROVINCE]


def test_same_document_twice_and_foreign_recipients_are_not_filed_or_sent_again(world):
    from tests.e2e.test_vxp_exchange import commune_notice

    province, axis, _ = world
    department = "000.00.53.H48"  # Sở Nội vụ: in the province's directory, reached through the axis
    first = commune_notice(PROVINCE)
    again = commune_notice(PROVINCE, subject="Báo cáo cải cách hành chính (gửi lại)")  # same DocumentId
    both = _axis_submits(axis, first) + _axis_submits(axis, again)
    report = run_pass(province)
    assert len(report.received.filed) == len(report.received.duplicates) == 1  # either order
    assert set(report.received.filed + report.received.duplicates) == set(both)
    assert _incoming(province, PROVINCE) == 1
    with axis.runtime.sessions() as session:  # both acknowledged done
        assert [session.get(Message, m).ack_result for m in both] == ["received", "received"]

    [to_province] = _axis_submits(axis, _two_recipients(department))
    report = run_pass(province)
    assert report.received.filed == [to_province]
    with province.runtime.sessions() as session:
        filed = session.execute(select(Message).where(Message.kind == "edoc",
                                                      Message.origin == "submitted")).scalars().all()
        assert {m.recipient_organ_id for m in filed} == {PROVINCE}  # not re-sent to the department
        assert session.execute(select(func.count()).select_from(Delivery).where(
            Delivery.mode == "axis", Delivery.message_id.in_([m.id for m in filed]))).scalar_one() == 0


def _two_recipients(department: str) -> bytes:
    import datetime as dt_

    from docsvc.exchange import (
        VN_TZ,
        Attachment,
        Code,
        DocumentHeader,
        DocumentPackage,
        DocumentType,
        PromulgationInfo,
        TraceHeader,
        build_document_package,
    )
    from docsvc.exchange import Organization as Org

    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Org(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
            recipients=(Org(PROVINCE, organ_name="UBND tỉnh", organ_add="Quảng Ngãi"),
                        Org(department, organ_name="Sở Nội vụ", organ_add="Quảng Ngãi")),
            code=Code("14", "BC-UBND"), promulgation_info=PromulgationInfo("Tịnh Ấn", dt_.date(2025, 3, 1)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            subject="Báo cáo chung", document_id=f"{COMMUNE},2025/03/01,14/BC-UBND"),
        trace_headers=(TraceHeader(COMMUNE, dt_.datetime(2025, 3, 1, 9, 0, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", "14-BC.pdf", content_type="application/pdf",
                                data=notice_pdf(["Báo cáo", "14"])),)))
