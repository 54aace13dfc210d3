"""The ETSI TS 119 102-2 XML report: one SignatureValidationReport per signature, built by
pyHanko's generator, carrying docsvc's indications (including those pyHanko's own AdES
process would not give, such as a hash failure)."""

from __future__ import annotations

import base64
import hashlib

from lxml import etree

from docsvc.verify import Indication, validate_pdf

NS = {"vr": "http://uri.etsi.org/19102/v1.2.1#", "ds": "http://www.w3.org/2000/09/xmldsig#"}
MAIN = "urn:etsi:019102:mainindication:"


def _parse(xml: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(xml.encode("utf-8"), parser)


def test_without_asking_there_is_no_xml(trust, signed_pdf):
    assert validate_pdf(signed_pdf, trust).etsi_xml is None


def test_person_then_agency_give_two_passed_signature_reports(pki, trust, sample_pdf):
    first = pki.sign(sample_pdf, pki.person, field_name="NguoiKy")
    both = pki.sign(first, pki.agency, field_name="CoQuan", level="B-T")
    report = validate_pdf(both, trust, etsi_xml=True)
    assert report.verdict is Indication.TOTAL_PASSED
    root = _parse(report.etsi_xml)
    assert etree.QName(root).localname == "ValidationReport"
    singles = root.findall("vr:SignatureValidationReport", NS)
    assert len(singles) == 2
    assert [s.findtext("vr:SignatureValidationStatus/vr:MainIndication", namespaces=NS)
            for s in singles] == [MAIN + "total-passed"] * 2
    # the signer's certificate is a validation object the report points to
    objects = {o.get("id"): o for o in root.findall(
        "vr:SignatureValidationObjects/vr:ValidationObject", NS)}
    person_ref = singles[0].find("vr:SignerInformation/vr:SignerCertificate", NS).get(
        "VOReference")
    der = base64.b64decode(objects[person_ref].findtext(
        "vr:ValidationObjectRepresentation/vr:base64", namespaces=NS))
    assert hashlib.sha256(der).hexdigest() == report.signatures[0].signer.sha256
    # the timestamped agency signature has a best signature time
    assert singles[0].find("vr:ValidationTimeInfo/vr:BestSignatureTime", NS) is None
    assert singles[1].find("vr:ValidationTimeInfo/vr:BestSignatureTime", NS) is not None


def test_a_tampered_byte_is_total_failed_hash_failure_in_the_xml(trust, signed_pdf):
    at = signed_pdf.index(b"Van ban thu nghiem")
    tampered = signed_pdf[:at] + b"X" + signed_pdf[at + 1:]
    report = validate_pdf(tampered, trust, etsi_xml=True)
    [single] = _parse(report.etsi_xml).findall("vr:SignatureValidationReport", NS)
    status = single.find("vr:SignatureValidationStatus", NS)
    assert status.findtext("vr:MainIndication", namespaces=NS) == MAIN + "total-failed"
    assert status.findtext("vr:SubIndication", namespaces=NS) == (
        "urn:etsi:019102:subindication:HASH_FAILURE")


def test_an_unreadable_file_still_gets_its_verdict(trust):
    report = validate_pdf(b"%PDF-1.7\nnot really a pdf", trust, etsi_xml=True)
    assert report.verdict is Indication.INDETERMINATE and report.etsi_xml is None  # JSON says it
