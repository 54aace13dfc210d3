"""Attachments raw or zipped like the official SDK, chosen per recipient in the directory: one
package per encoding in a send, the directory flag in JSON and CSV imports and exports."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import zipfile

import pytest
from lxml import etree
from sqlalchemy import select

from docsvc.errors import InvalidMetadataError
from docsvc.exchange import NS, parse_package, validate_package, verify_package
from docsvc.models import AuditEntry, Document, Organization
from docsvc.security import OPERATOR
from docsvc.services import directory as dirsvc
from docsvc.services import exchange as svc
from docsvc.storage import read_verified
from tests.support.worlds import HOSTED, PROVINCE, PULLING, signed_notice

E = f"{{{NS}}}"


def _bytes(blobs, key: str) -> bytes:
    with read_verified(blobs, key) as stream:
        return stream.read()


def _zip_for(session, *organ_ids: str) -> None:
    for organ_id in organ_ids:
        session.get(Organization, organ_id).zip_attachments = True
    session.commit()


def _content_types(data: bytes) -> tuple[list[str], list[str]]:
    """Return the ContentType of the manifest's references and of the encoded attachments."""
    root = etree.fromstring(data)
    listed = root.findall(f"{E}edXMLEnvelope/{E}edXMLBody/{E}edXMLManifest/{E}Reference/{E}ContentType")
    encoded = root.findall(f"{E}AttachmentEncoded/{E}Attachment/{E}ContentType")
    return [e.text for e in listed], [e.text for e in encoded]


def test_one_send_builds_a_raw_and_a_zipped_package(session, blobs, config, world):
    _zip_for(session, PULLING)
    doc_id = signed_notice(session, blobs, world["vanthu"])
    version = session.get(Document, doc_id).latest_version
    pdf = _bytes(blobs, version.blob_key)
    result = svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING, HOSTED],
                               actor=world["vanthu"])
    assert result.created == (PULLING, HOSTED)
    by_recipient = {m.recipient_organ_id: m for m in result.messages}
    zipped, raw = by_recipient[PULLING], by_recipient[HOSTED]
    assert zipped.blob_key != raw.blob_key and zipped.sha256 != raw.sha256
    assert set(result.package_sha256s) == {zipped.sha256, raw.sha256}
    assert result.package_sha256 == raw.sha256  # the raw package comes first

    zipped_data, raw_data = _bytes(blobs, zipped.blob_key), _bytes(blobs, raw.blob_key)
    for data in (zipped_data, raw_data):
        validate_package(data, config.schemas, limits=config.limits)

    # the zipped package: application/zip on the wire, the signed PDF once unzipped
    assert _content_types(zipped_data) == (["application/zip"], ["application/zip"])
    [attachment] = parse_package(zipped_data).package.attachments
    assert attachment.zipped and attachment.read_bytes() == pdf
    assert attachment.sha256 == version.sha256 and attachment.content_type == "application/pdf"
    root = etree.fromstring(zipped_data)
    wire = root.find(f"{E}AttachmentEncoded/{E}Attachment/{E}ContentTransferEncoded")
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(wire.text)))
    assert archive.namelist() == ["tb.signed.pdf"] and archive.read("tb.signed.pdf") == pdf

    # the raw package: the PDF itself, with its type
    assert _content_types(raw_data) == (["application/pdf"], ["application/pdf"])
    [attachment] = parse_package(raw_data).package.attachments
    assert not attachment.zipped and attachment.read_bytes() == pdf

    # each package is addressed to the recipients that get it
    assert [o.organ_id for o in parse_package(zipped_data).package.header.recipients] == [PULLING]
    assert [o.organ_id for o in parse_package(raw_data).package.header.recipients] == [HOSTED]

    # one audit entry, naming both packages
    [entry] = session.execute(select(AuditEntry).where(
        AuditEntry.object_id == doc_id, AuditEntry.action == "document.send")).scalars()
    assert entry.content_sha256 == raw.sha256 and entry.details["to"] == [PULLING, HOSTED]
    assert entry.details["packages"] == [
        {"to": [HOSTED], "zip_attachments": False, "sha256": raw.sha256, "size": len(raw_data)},
        {"to": [PULLING], "zip_attachments": True, "sha256": zipped.sha256,
         "size": len(zipped_data)},
    ]


def test_recipients_with_the_same_encoding_share_one_package(session, blobs, config, world):
    _zip_for(session, PULLING, HOSTED)
    doc_id = signed_notice(session, blobs, world["vanthu"])
    result = svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING, HOSTED],
                               actor=world["vanthu"])
    assert len({m.blob_key for m in result.messages}) == 1 and len(result.package_sha256s) == 1
    data = _bytes(blobs, result.messages[0].blob_key)
    assert _content_types(data) == (["application/zip"], ["application/zip"])
    assert {o.organ_id for o in parse_package(data).package.header.recipients} == {PULLING, HOSTED}
    again = svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING, HOSTED],
                              actor=world["vanthu"])
    assert again.created == () and again.package_sha256s == ()


def test_a_hosted_recipient_that_takes_zips_files_the_original_pdf(session, blobs, config, world):
    _zip_for(session, HOSTED)
    doc_id = signed_notice(session, blobs, world["vanthu"])
    sent = session.get(Document, doc_id).latest_version
    result = svc.send_document(session, blobs, config, document_id=doc_id, to=[HOSTED, PULLING],
                               actor=world["vanthu"])
    [message] = [m for m in result.messages if m.recipient_organ_id == HOSTED]
    assert message.delivery.mode == "local"
    assert _content_types(_bytes(blobs, message.blob_key))[1] == ["application/zip"]
    [incoming] = session.execute(select(Document).where(Document.owner_organ_id == HOSTED)).scalars()
    [version] = incoming.versions
    assert version.sha256 == sent.sha256 and version.media_type == "application/pdf"
    assert hashlib.sha256(_bytes(blobs, version.blob_key)).hexdigest() == sent.sha256


def test_both_packages_carry_a_valid_xml_signature(session, blobs, config, world, agency_key):
    signing = dataclasses.replace(config, agency_key=agency_key)
    _zip_for(session, PULLING)
    doc_id = signed_notice(session, blobs, world["vanthu"])
    result = svc.send_document(session, blobs, signing, document_id=doc_id, to=[PULLING, HOSTED],
                               actor=world["vanthu"])
    assert len({m.blob_key for m in result.messages}) == 2
    for message in result.messages:
        data = _bytes(blobs, message.blob_key)
        assert verify_package(data, expected_cert=agency_key.chain[0]).is_valid
        validate_package(data, config.schemas, limits=config.limits)


# -- the directory flag -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_flag_round_trips_through_export_and_import(session, fmt):
    dirsvc.seed_demo(session, OPERATOR)
    _zip_for(session, PULLING)
    text = dirsvc.export_directory(session, fmt)
    entries = {e["organ_id"]: e for e in dirsvc.parse_directory(text.encode(), fmt)}
    expected = (True, False) if fmt == "json" else ("true", "false")
    assert (entries[PULLING]["zip_attachments"], entries[HOSTED]["zip_attachments"]) == expected
    # flip both, import back
    entries[PULLING]["zip_attachments"] = expected[1]
    entries[HOSTED]["zip_attachments"] = expected[0]
    report = dirsvc.import_directory(session, OPERATOR, list(entries.values()))
    assert set(report.updated) == {PULLING, HOSTED}
    assert not session.get(Organization, PULLING).zip_attachments
    assert session.get(Organization, HOSTED).zip_attachments
    again = dirsvc.parse_directory(dirsvc.export_directory(session, fmt).encode(), fmt)
    assert {e["organ_id"]: e["zip_attachments"] for e in again}[HOSTED] == expected[0]
    assert dirsvc.import_directory(session, OPERATOR, again).updated == ()


def test_the_api_form_of_an_entry_has_the_flag(session):
    dirsvc.seed_demo(session, OPERATOR)
    _zip_for(session, PULLING)
    assert dirsvc.organization_to_dict(session.get(Organization, PULLING))["zip_attachments"] is True
    assert dirsvc.organization_to_dict(session.get(Organization, PROVINCE))["zip_attachments"] is False


@pytest.mark.parametrize(("cell", "expected"), [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), (" Yes ", True),
    ("false", False), ("0", False), ("no", False), ("", False),
])
def test_csv_values_of_the_flag(session, cell, expected):
    text = f"organ_id,name,zip_attachments\n000.04.01.H48,UBND xã C,{cell}\n"
    dirsvc.import_directory(session, OPERATOR, dirsvc.parse_directory(text.encode(), "csv"))
    assert session.get(Organization, "000.04.01.H48").zip_attachments is expected


@pytest.mark.parametrize("cell", ["maybe", "2", "có", "y"])
def test_a_bad_csv_value_imports_nothing(session, cell):
    text = (f"organ_id,name,zip_attachments\n000.04.01.H48,UBND xã C,true\n"
            f"000.04.02.H48,UBND xã D,{cell}\n")
    with pytest.raises(InvalidMetadataError) as info:
        dirsvc.import_directory(session, OPERATOR, dirsvc.parse_directory(text.encode(), "csv"))
    [problem] = info.value.details["fields"]
    assert problem["field"] == "organizations[1].zip_attachments" and cell in problem["problem"]
    assert session.get(Organization, "000.04.01.H48") is None


@pytest.mark.parametrize("value", ["maybe", 2, [], {}])
def test_a_bad_json_value_is_refused(session, value):
    with pytest.raises(InvalidMetadataError) as info:
        dirsvc.import_directory(session, OPERATOR, [
            {"organ_id": "000.04.01.H48", "name": "UBND xã C", "zip_attachments": value}])
    assert [p["field"] for p in info.value.details["fields"]] == ["organizations[0].zip_attachments"]


def test_files_without_the_column_still_import_and_keep_the_flag(session):
    old = "organ_id,name,parent_id,address\n000.04.01.H48,UBND xã C,000.00.00.H48,C\n"
    report = dirsvc.import_directory(session, OPERATOR, dirsvc.parse_directory(old.encode(), "csv"))
    assert report.created == ("000.04.01.H48",)
    assert session.get(Organization, "000.04.01.H48").zip_attachments is False
    _zip_for(session, "000.04.01.H48")
    again = dirsvc.import_directory(session, OPERATOR, dirsvc.parse_directory(old.encode(), "csv"))
    assert again.unchanged == ("000.04.01.H48",)
    assert session.get(Organization, "000.04.01.H48").zip_attachments is True
    dirsvc.import_directory(session, OPERATOR,
                            [{"organ_id": "000.04.01.H48", "name": "UBND xã C",
                              "parent_id": "000.00.00.H48", "address": "C"}])
    assert session.get(Organization, "000.04.01.H48").zip_attachments is True


def test_each_peer_instance_gets_a_package_naming_only_its_own_recipients(
        session, blobs, config, world):
    peers = {"000.02.01.H48": "https://xa-a.example", "000.02.02.H48": "https://xa-b.example",
             "000.02.03.H48": "https://xa-b.example"}  # the last two share one instance
    for organ_id, url in peers.items():
        session.add(Organization(organ_id=organ_id, name=f"UBND xã {organ_id}",
                                 parent_id=PROVINCE, endpoint_url=url))
    session.commit()
    doc_id = signed_notice(session, blobs, world["vanthu"])
    result = svc.send_document(session, blobs, config, document_id=doc_id,
                               to=[PULLING, HOSTED, *peers], actor=world["vanthu"])
    listed = {}
    for message in result.messages:
        package = parse_package(_bytes(blobs, message.blob_key)).package
        listed[message.recipient_organ_id] = {o.organ_id for o in package.header.recipients}
    # served here (pull, hosted): one shared package; each push peer only its own recipients
    assert listed[PULLING] == listed[HOSTED] == {PULLING, HOSTED}
    assert listed["000.02.01.H48"] == {"000.02.01.H48"}
    assert listed["000.02.02.H48"] == listed["000.02.03.H48"] == {"000.02.02.H48",
                                                                  "000.02.03.H48"}
    assert len(result.package_sha256s) == 3
    assert {m.delivery.mode for m in result.messages if m.recipient_organ_id in peers} == {"push"}
