"""Seed corpus and byte mutation of the fuzz harness (issue 13): valid inputs of each entry
point, hostile ones already known, and a mutator shared by hypothesis and atheris."""

from __future__ import annotations

import datetime as dt
import functools
import random

from docsvc.samples import notice_pdf as sample_pdf
from docsvc.signing.sample import notice_pdf
from tests import hostile_pdfs

TOKENS = (b"obj", b"endobj", b"stream", b"endstream", b"xref", b"trailer", b"startxref",
          b"%%EOF", b"/Pages", b"/Kids [", b"/Count 99999999", b"/ByteRange [0 0 0 0]",
          b"/Contents <>", b" R ", b"<<", b">>", b"(", b")", b"\x00", b"9999999999",
          b"<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>", b"&x;", b"<![CDATA[",
          "ế".encode(), b"../../", b"\r\n", b"-1", b"1e308")


@functools.cache
def pdf_seeds() -> tuple[bytes, ...]:
    """The sample notice, a signed copy, and the hostile page trees."""
    return (notice_pdf(), signed_pdf(), hostile_pdfs.cyclic_page_tree(),
            hostile_pdfs.deep_page_tree(200), hostile_pdfs.many_pages(40))


@functools.cache
def signed_pdf() -> bytes:
    """The notice signed (B-B) by a throw-away self-signed key."""
    from docsvc.signing import sign_pdf

    return sign_pdf(notice_pdf(), signer=throwaway_signer(), role="attachment", level="B-B")


@functools.cache
def throwaway_signer():  # type: ignore[no-untyped-def]
    """An RSA key with a self-signed certificate naming a test agency."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from docsvc.signing import LoadedKeySigner

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fuzz Agency"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fuzz")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return LoadedKeySigner(translate_pyca_cryptography_cert_to_asn1(cert), key,
                           SimpleCertificateStore())


@functools.cache
def edxml_seeds() -> tuple[bytes, ...]:
    """A document package with a PDF attachment and a status package."""
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
    )

    commune, province = "000.01.01.H48", "000.00.00.H48"
    document = build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Organization(commune, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
            recipients=(Organization(province, organ_name="UBND tỉnh Quảng Ngãi",
                                     organ_add="Quảng Ngãi"),),
            code=Code("12", "BC-UBND"),
            promulgation_info=PromulgationInfo("Tịnh Ấn", dt.date(2025, 3, 1)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            subject="Báo cáo cải cách hành chính",
            document_id=f"{commune},2025/03/01,12/BC-UBND"),
        trace_headers=(TraceHeader(commune, dt.datetime(2025, 3, 1, 9, 0, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", "12-BC.pdf", content_type="application/pdf",
                                data=sample_pdf(["Báo cáo"])),)))
    status = build_status_package(StatusPackage(
        sender=Organization(commune, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
        response_for=ResponseFor(province, "01/TB-UBND", dt.date(2018, 6, 19),
                                 f"{province},2018/06/19,01/TB-UBND"),
        status_code="03", timestamp=dt.datetime(2025, 3, 2, tzinfo=VN_TZ), description="Đã nhận"))
    return document, status


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """Return ``data`` with a few random byte-level edits (flip, cut, insert a token,
    duplicate a slice, splice a number)."""
    out = bytearray(data)
    for _ in range(rounds or rng.randint(1, 6)):
        at = rng.randrange(max(1, len(out)))
        kind = rng.randrange(5)
        if kind == 0 and out:
            out[at] = rng.randrange(256)
        elif kind == 1:
            del out[at:at + rng.randint(1, 256)]
        elif kind == 2:
            out[at:at] = rng.choice(TOKENS)
        elif kind == 3:
            end = min(len(out), at + rng.randint(1, 512))
            out[at:at] = out[at:end] * rng.randint(1, 3)
        else:
            out[at:at] = str(rng.choice([0, -1, 2**31, 2**63, 10**12])).encode()
    return bytes(out)
