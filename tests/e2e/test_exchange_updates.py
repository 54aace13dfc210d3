"""Updates (BussinessDocType 2) and replacements (3) sent by the province's clerk over HTTP: a commune
hosted here, and the same commune on its own docsvc (push), end up with the same links; the CLI
sends them too."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from docsvc.app import build_runtime
from docsvc.cli import main
from docsvc.config import Settings
from docsvc.exchange import parse_package
from docsvc.models import Document, Message
from docsvc.samples import notice_pdf
from docsvc.security import OPERATOR
from docsvc.services.directory import seed_demo
from docsvc.services.documents import store_version
from tests.e2e.test_push_delivery import _deliver
from tests.support.data import NOTICE_METADATA, make_user
from tests.support.worlds import Instance, link, new_instance
from tests.support.worlds import add_signed_version as _sign
from tests.support.worlds import upload_and_register as _upload_and_register

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"


def _signed(client, runtime) -> dict:
    doc = _upload_and_register(client)
    _sign(runtime, doc["id"])
    return client.get(f"/api/v1/documents/{doc['id']}").json


def _incoming_by_number(client) -> dict[str, dict]:
    """The incoming documents of the caller's agency by số/ký hiệu (several for an update)."""
    rows = client.get("/api/v1/documents", query_string={"direction": "incoming"}).json["data"]
    out: dict[str, list[dict]] = {}
    for row in rows:
        doc = client.get(f"/api/v1/documents/{row['id']}").json
        out.setdefault(doc["number_notation"], []).append(doc)
    return out


def _links(client) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """What the receiver filed, independent of local ids: per incoming document its số/ký hiệu
    with the kind and edXML DocumentId of each link, and the số/ký hiệu it points to."""
    docs = [d for group in _incoming_by_number(client).values() for d in group]
    by_id = {d["id"]: d["number_notation"] for d in docs}
    return sorted((d["number_notation"],
                   ",".join(sorted(f"{link['kind']}:{link['document_id']}" for link in d["links"])),
                   tuple(sorted(by_id[i] for i in d["replaces"] + d["updates"])),
                   tuple(sorted(by_id[i] for i in d["replaced_by"] + d["updated_by"])))
                  for d in docs)


def _scenario(client, runtime, to: str) -> tuple[dict, dict, list[dict]]:
    """Send a notice, replace it with a new one, then correct and update the new one."""
    old = _signed(client, runtime)
    first = client.post(f"/api/v1/documents/{old['id']}/send", json={"to": [to]})
    assert first.status_code == 201, first.json
    new = _signed(client, runtime)
    replaced = client.post(f"/api/v1/documents/{new['id']}/send", json={
        "to": [to], "replaces": [old["id"]], "reason": "Thay thế do sai thể thức"})
    assert replaced.status_code == 201, replaced.json
    with runtime.sessions() as session:  # a corrected file, signed again
        data = notice_pdf(["bản đã sửa"])
        store_version(session, runtime.blobs, session.get(Document, new["id"]), io.BytesIO(data),
                      kind="signed", filename="tb.v2.pdf", actor=OPERATOR,
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        session.commit()
    updated = client.post(f"/api/v1/documents/{new['id']}/update",
                          json={"reason": "Sửa tệp đính kèm"})
    assert updated.status_code == 201, updated.json
    return old, new, [first.json, replaced.json, updated.json]


def test_a_hosted_commune_gets_the_replacement_and_the_update_linked(client, runtime, app):
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
    commune = app.test_client()  # the commune's clerk: its registry is kept here
    commune.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_user(runtime, 'vt-xa', ['clerk'], COMMUNE)}"

    old = _signed(client, runtime)
    assert client.post(f"/api/v1/documents/{old['id']}/send", json={"to": [COMMUNE]}).status_code == 201
    new = _signed(client, runtime)
    url = f"/api/v1/documents/{new['id']}/send"
    no_reason = client.post(url, json={"to": [COMMUNE], "replaces": [old["id"]]})
    assert no_reason.status_code == 400
    unsent = _signed(client, runtime)
    refused = client.post(url, json={"to": [COMMUNE], "replaces": [old["id"], unsent["id"]],
                                     "reason": "x"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "replacement_refused"
    assert refused.json["error"]["details"]["problems"] == [
        {"document_id": unsent["id"], "problem": "not_sent"}]
    response = client.post(url, json={"to": [COMMUNE], "replaces": [old["id"]],
                                      "reason": "Thay thế do sai thể thức"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["bussiness_doc_type"] == 3 and body["created"] == [COMMUNE]
    [message] = body["messages"]
    assert message["delivery"] == "local" and message["bussiness_doc_type"] == 3
    [replaced] = body["replaces"]
    assert replaced["id"] == old["id"] and replaced["organ_ids"] == [COMMUNE]
    # the province's side: the link both ways
    assert client.get(url.removesuffix("/send")).json["replaces"] == [old["id"]]
    assert client.get(f"/api/v1/documents/{old['id']}").json["replaced_by"] == [new["id"]]

    # the commune's side: the new incoming document replaces its copy of the old one
    incoming = _incoming_by_number(commune)
    [old_copy], [new_copy] = incoming[old["number_notation"]], incoming[new["number_notation"]]
    assert new_copy["replaces"] == [old_copy["id"]] and old_copy["replaced_by"] == [new_copy["id"]]
    assert new_copy["links"] == [{"kind": "replacement", "document_id": replaced["document_id"],
                                  "target": old_copy["id"], "reason": "Thay thế do sai thể thức"}]

    # an update of the new one: same DocumentId, linked to the first copy; a repeat sends nothing
    update_url = f"/api/v1/documents/{new['id']}/update"
    assert client.post(update_url, json={}).status_code == 400
    updated = client.post(update_url, json={"reason": "Sửa trích yếu"})
    assert updated.status_code == 201, updated.json
    assert updated.json["created"] == [COMMUNE] and updated.json["unchanged"] == []
    [update_message] = updated.json["messages"]
    assert update_message["bussiness_doc_type"] == 2
    assert update_message["document_id"] == message["document_id"]
    again = client.post(update_url, json={"reason": "Sửa trích yếu"})
    assert again.status_code == 200 and again.json["created"] == []
    assert again.json["unchanged"] == [COMMUNE] and again.json["messages"][0]["id"] == update_message["id"]
    copies = _incoming_by_number(commune)[new["number_notation"]]
    assert len(copies) == 2
    update_copy = next(c for c in copies if c["id"] != new_copy["id"])
    assert update_copy["updates"] == [new_copy["id"]]
    # statuses: one recipient with its update, 01 for each package
    [recipient] = client.get(f"/api/v1/documents/{new['id']}/statuses").json["recipients"]
    assert recipient["organ_id"] == COMMUNE and recipient["bussiness_doc_type"] == 3
    assert [u["message_id"] for u in recipient["updates"]] == [update_message["id"]]
    assert [h["code"] for h in recipient["history"]] == ["01", "01"]
    # refusals: an unsent document cannot be updated; the commune's clerk cannot touch ours
    not_sent = client.post(f"/api/v1/documents/{unsent['id']}/update", json={"reason": "x"})
    assert not_sent.status_code == 409
    assert not_sent.json["error"]["code"] == "document_not_updatable"
    assert not_sent.json["error"]["details"]["reasons"] == ["not_sent"]
    assert commune.post(update_url, json={"reason": "x"}).status_code == 404


def test_openapi_lists_update_and_the_replacement_fields(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/documents/{document_id}/update" in paths
    send = paths["/documents/{document_id}/send"]["post"]["requestBody"]["content"]
    assert {"replaces", "reason"} <= set(send["application/json"]["schema"]["properties"])


# -- the same commune on a docsvc of its own ----------------------------------------------------


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


def test_a_remote_commune_files_the_same_links_as_a_hosted_one(pair, tmp_path, runtime, app,
                                                               client):
    # remote: the commune runs docsvc; packages are pushed to it
    province, remote = pair
    province.start()
    remote.start()
    _, _, answers = _scenario(province.clerk(), province.runtime, COMMUNE)
    assert [a["messages"][0]["delivery"] for a in answers] == ["push"] * 3
    assert len(_deliver(province).delivered) == 3
    remote_clerk = remote.app.test_client()
    remote_clerk.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {make_user(remote.runtime, 'vt-xa', ['clerk'], COMMUNE)}")
    pushed = _links(remote_clerk)

    # hosted: the same commune with its clerk on the province's instance
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
    hosted_clerk = app.test_client()
    hosted_clerk.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {make_user(runtime, 'vt-xa', ['clerk'], COMMUNE)}")
    _, _, answers = _scenario(client, runtime, COMMUNE)
    assert [a["messages"][0]["delivery"] for a in answers] == ["local"] * 3
    hosted = _links(hosted_clerk)

    assert hosted == pushed
    assert [(number, kinds.split(":")[0]) for number, kinds, _, _ in hosted if kinds] == [
        ("02/TB-UBND", "replacement"), ("02/TB-UBND", "update")]


def test_cli_sends_a_replacement_and_an_update(tmp_path, monkeypatch):
    for name, value in {"ENV": "test", "DATA_DIR": str(tmp_path / "var"),
                        "SECRET_KEY": "p" * 40}.items():
        monkeypatch.setenv(f"DOCSVC_{name}", value)
    monkeypatch.delenv("DOCSVC_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCSVC_BLOB_BACKEND", raising=False)
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result

    run("init")
    run("directory", "seed-demo")
    pdf = tmp_path / "tb.pdf"
    pdf.write_bytes(notice_pdf())
    ids = []
    for _ in range(2):
        doc = json.loads(run("documents", "add", str(pdf), "--metadata",
                             json.dumps(NOTICE_METADATA, ensure_ascii=False)).stdout)
        run("documents", "register", doc["id"])
        ids.append(doc["id"])
    rt = build_runtime(Settings.from_env())
    try:
        with rt.sessions() as session:
            for doc_id in ids:
                data = notice_pdf(["đã ký"])
                store_version(session, rt.blobs, session.get(Document, doc_id), io.BytesIO(data),
                              kind="signed", filename="tb.signed.pdf", actor=OPERATOR,
                              sha256=hashlib.sha256(data).hexdigest(), size=len(data))
            session.commit()
    finally:
        rt.engine.dispose()
    old, new = ids
    run("exchange", "send", old, "--to", COMMUNE)
    missing = runner.invoke(main, ["exchange", "send", new, "--to", COMMUNE, "--replaces", old])
    assert missing.exit_code != 0 and "reason" in missing.output
    sent = run("exchange", "send", new, "--to", COMMUNE, "--replaces", old,
               "--reason", "Thay thế")
    assert "as the replacement of 1 document(s)" in sent.stderr
    [message] = json.loads(sent.stdout)
    rt = build_runtime(Settings.from_env())
    try:
        with rt.sessions() as session, rt.blobs.open(
                session.get(Message, message["id"]).blob_key) as stream:
            bussiness = parse_package(stream.read()).package.bussiness
    finally:
        rt.engine.dispose()
    assert bussiness.doc_type == 3 and bussiness.reason == "Thay thế"
    assert [r.organ_ids for r in bussiness.replacements] == [(COMMUNE,)]
    updated = run("exchange", "update", old, "--reason", "Sửa")
    assert "update sent to 1 recipient(s), 0 unchanged" in updated.stderr
    again = run("exchange", "update", old, "--reason", "Sửa", "--to", COMMUNE)
    assert "update sent to 0 recipient(s), 1 unchanged" in again.stderr
