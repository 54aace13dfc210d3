"""Property-based tests (hypothesis) of the parsers and rules that meet outside input
(issue 13): the metadata checker, JSON and multipart bodies through the app, the edXML parser,
and the exchange status state machine. Budgets: ``HYPOTHESIS_PROFILE=long`` for many more
examples (see docs/THREAT-MODEL.md)."""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from docsvc.errors import DocsvcError, InvalidMetadataError
from docsvc.metadata import Metadata, parse_metadata

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ORGAN_IDS = st.sampled_from(["000.00.00.H48", "000.01.01.H48", "not-an-id", "", "H48"])
TEXT = st.text(max_size=40)
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)
FIELDS = st.sampled_from(sorted(Metadata.__dataclass_fields__) + ["colour", "type_abbr"])
METADATA = st.dictionaries(FIELDS, JSON | ORGAN_IDS | st.sampled_from(
    ["outgoing", "incoming", "Thông báo", "TB", "2025-03-01", "KT.", "mat"]), max_size=12)


@given(METADATA)
def test_the_metadata_checker_returns_checked_nfc_values_or_names_the_bad_fields(raw):
    try:
        metadata = parse_metadata(raw)
    except InvalidMetadataError as exc:
        fields = exc.details["fields"]
        assert fields and all(isinstance(f["field"], str) and f["code"] for f in fields)
        return
    assert metadata.direction in ("outgoing", "incoming")
    for value in (metadata.subject, metadata.organ_name, *(r["organ_name"]
                                                           for r in metadata.recipients)):
        assert value == unicodedata.normalize("NFC", value) and value == value.strip()


@given(JSON)
def test_anything_that_is_not_an_object_is_a_metadata_error(raw):
    if isinstance(raw, dict):
        return
    with pytest.raises(InvalidMetadataError):
        parse_metadata(raw)


# -- bodies through the app: any JSON or multipart body is a 2xx/4xx, never a 5xx -------------

ENDPOINTS = [("POST", "/api/v1/documents/{doc}/signatures"), ("PATCH", "/api/v1/documents/{doc}"),
             ("POST", "/api/v1/documents/{doc}/send"), ("POST", "/api/v1/signers"),
             ("POST", "/api/v1/documents/{doc}/revoke"), ("POST", "/api/v1/users")]


@pytest.fixture
def doc_id(client, notice_metadata):
    from tests.e2e.test_api_registry import post_document

    return post_document(client, notice_metadata).json["id"]


@given(endpoint=st.sampled_from(ENDPOINTS), body=JSON)
def test_any_json_body_is_answered_without_a_5xx(client, doc_id, endpoint, body):
    method, path = endpoint
    response = client.open(path.format(doc=doc_id), method=method, data=json.dumps(body),
                           content_type="application/json")
    assert response.status_code < 500, response.data[:300]
    if response.status_code >= 400:
        assert response.json["error"]["code"]


@given(metadata=st.one_of(JSON.map(json.dumps), st.binary(max_size=200).map(
    lambda b: b.decode("latin-1"))), pdf=st.binary(max_size=300),
    filename=st.text(max_size=30))
def test_any_multipart_upload_is_answered_without_a_5xx(client, metadata, pdf, filename):
    from tests.conftest import post_multipart

    before = len(client.get("/api/v1/documents").json["data"])
    response = post_multipart(client, "/api/v1/documents", {
        "metadata": metadata, "file": (pdf, filename or "x.pdf", "application/pdf")})
    assert response.status_code < 500, response.data[:300]
    after = len(client.get("/api/v1/documents").json["data"])
    assert after == before + (1 if response.status_code == 201 else 0)  # nothing on refusal


# -- the edXML parser: mutated packages parse or are refused with one of our errors -----------


def _seed_package() -> bytes:
    from docsvc.exchange import (
        VN_TZ,
        Attachment,
        Code,
        DocumentHeader,
        DocumentPackage,
        DocumentType,
        Organization,
        PromulgationInfo,
        TraceHeader,
        build_document_package,
    )

    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Organization("000.01.01.H48", organ_name="UBND xã Tịnh Ấn", organ_add="x"),
            recipients=(Organization("000.00.00.H48", organ_name="UBND tỉnh", organ_add="y"),),
            code=Code("12", "BC-UBND"),
            promulgation_info=PromulgationInfo("Tịnh Ấn", dt.date(2025, 3, 1)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            subject="Báo cáo", document_id="000.01.01.H48,2025/03/01,12/BC-UBND"),
        trace_headers=(TraceHeader("000.01.01.H48", dt.datetime(2025, 3, 1, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", "a.pdf", content_type="application/pdf", data=b"%PDF-1.4"),)))


SEED = _seed_package()


@st.composite
def mutated(draw, seed: bytes = SEED) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "duplicate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"<", b"&", b"]]>", b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
                                                b"\x00", "ấ".encode(), b"<x>" * 20]))
        else:
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[at:at] = data[at:end]
    return bytes(data)


@given(mutated())
def test_the_edxml_parser_parses_or_refuses_with_our_error(data):
    from docsvc.exchange import parse_package

    try:
        parse_package(data)
    except DocsvcError as exc:
        assert 400 <= exc.status < 500 and exc.code


# -- the exchange status state machine ---------------------------------------------------------


_TEMPLATE: dict[str, str] = {}


def _migrated_sqlite_copy() -> str:
    """Return the URL of a fresh copy of a SQLite database migrated once per process."""
    import atexit
    import shutil
    import tempfile
    import uuid
    from pathlib import Path

    from docsvc.db import make_engine, upgrade

    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="docsvc-prop-"))
        atexit.register(shutil.rmtree, folder, True)  # the template and every copy go at exit
        path = folder / "template.sqlite3"
        engine = make_engine(f"sqlite:///{path}", timeout_seconds=30)
        upgrade(engine)
        engine.dispose()
        _TEMPLATE["path"] = str(path)
    copy = Path(_TEMPLATE["path"]).with_name(f"{uuid.uuid4().hex}.sqlite3")
    shutil.copyfile(_TEMPLATE["path"], copy)
    return f"sqlite:///{copy}"


class StatusMachine(RuleBasedStateMachine):
    """A document sent by the province's clerk to a commune hosted here; the commune's clerk
    reports statuses, the sender revokes or asks it back, the commune answers 15/16.

    Invariants: every refusal is one of our 4xx errors and records no status; the receiver's
    main-flow rank never goes back; once the content is removed it stays removed and no
    handling status follows; at most one take-back request is pending at a time.
    """

    def __init__(self) -> None:
        super().__init__()
        from sqlalchemy import create_engine

        from docsvc.db import make_session_factory
        from docsvc.models import Document
        from docsvc.security import OPERATOR
        from docsvc.services import exchange as svc
        from docsvc.services.directory import seed_demo
        from docsvc.storage import MemoryBlobStore
        from tests.support.worlds import HOSTED, signed_notice, world_in

        self.engine = create_engine(_migrated_sqlite_copy())  # migrations make the FTS5 table too
        self.session = make_session_factory(self.engine)()
        seed_demo(self.session, OPERATOR)
        self.world = world_in(self.session)
        self.blobs = MemoryBlobStore()
        from docsvc.services.exchange.config import ExchangeConfig
        from tests.support.worlds import PROVINCE, ZONE

        self.config = ExchangeConfig(local_organ_id=PROVINCE, zone=ZONE)
        self.sent = signed_notice(self.session, self.blobs, self.world["vanthu"])
        svc.send_document(self.session, self.blobs, self.config, document_id=self.sent,
                          to=[HOSTED], actor=self.world["vanthu"])
        from sqlalchemy import select

        self.incoming = self.session.execute(select(Document.id).where(
            Document.owner_organ_id == HOSTED)).scalar_one()
        self.rank, self.removed = 1, False

    def _events(self) -> list[str]:
        from sqlalchemy import select

        from docsvc.models import StatusEvent

        return list(self.session.execute(select(StatusEvent.code).where(
            StatusEvent.local_document_id == self.incoming, StatusEvent.direction == "out")
            .order_by(StatusEvent.id)).scalars())

    def _try(self, action) -> bool:  # type: ignore[no-untyped-def]
        before = self._events()
        try:
            action()
        except DocsvcError as exc:
            self.session.rollback()
            assert 400 <= exc.status < 500, exc
            assert self._events() == before  # a refusal records no status
            return False
        return True

    @rule(code=st.sampled_from(["02", "03", "04", "05", "06", "15", "16"]),
          reason=st.sampled_from(["", "Lý do"]))
    def report(self, code: str, reason: str) -> None:
        from docsvc.services import exchange as svc
        from docsvc.services.exchange.statuses import MAIN_FLOW

        done = self._try(lambda: svc.report_status(
            self.session, self.blobs, self.config, document_id=self.incoming, code=code,
            description=reason, actor=self.world["vanthu-xa"]))
        if done and code in MAIN_FLOW:
            assert not self.removed, "a handling status after the content was removed"
            assert MAIN_FLOW[code] >= self.rank
            self.rank = MAIN_FLOW[code]
        if done and code == "15":
            self.removed = True

    @rule(reason=st.sampled_from(["", "Cần sửa"]))
    def ask_back(self, reason: str) -> None:
        from docsvc.services.exchange import flows

        self._try(lambda: flows.request_takeback(self.session, self.blobs, self.config,
                                                 document_id=self.sent, reason=reason,
                                                 actor=self.world["vanthu"]))

    @precondition(lambda self: not self.removed)
    @rule(reason=st.sampled_from(["", "Ban hành nhầm"]))
    def revoke(self, reason: str) -> None:
        from docsvc.services.exchange import flows

        if self._try(lambda: flows.revoke_document(self.session, self.blobs, self.config,
                                                   document_id=self.sent, reason=reason,
                                                   actor=self.world["vanthu"])):
            self.removed = True

    @invariant()
    def removed_content_stays_removed(self) -> None:
        from docsvc.models import Document

        self.session.expire_all()
        document = self.session.get(Document, self.incoming)
        assert (document.revoked_at is not None) == self.removed

    @invariant()
    def at_most_one_take_back_is_pending(self) -> None:
        from docsvc.models import Document
        from docsvc.services.exchange import flows

        document = self.session.get(Document, self.incoming)
        events = flows.takeback_events(self.session, document, document.owner_organ_id)
        pending = 0
        for event in events:
            pending = pending + 1 if event.code == "13" else 0
        assert pending <= 1

    def teardown(self) -> None:
        self.session.close()
        self.engine.dispose()


StatusMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("STATUS_MACHINE_EXAMPLES", "25")), stateful_step_count=8,
    deadline=None, suppress_health_check=[HealthCheck.too_slow])
test_status_state_machine = StatusMachine.TestCase
