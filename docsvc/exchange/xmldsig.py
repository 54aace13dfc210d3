"""Enveloped XML signatures on edXML packages (signxml): sign with the agency key, verify against
a pinned certificate, and refuse every shape but one signature over the whole document.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignXMLException,
)

from docsvc.exchange.errors import XmlSigningError
from docsvc.exchange.model import DS_NS, NS, ParseWarning
from docsvc.exchange.xmlsafe import ParseLimits, parse_tree, safe_parser

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N = frozenset(m.value for m in CanonicalizationMethod)
_ALLOWED_TRANSFORMS = _C14N | {ENVELOPED}
_METHODS = frozenset(
    m
    for m in SignatureMethod
    if m.name.startswith(("RSA_", "ECDSA_", "SHA")) and "MGF1" not in m.name
) | frozenset(m for m in SignatureMethod if "MGF1" in m.name)
_HEADER_PATH = f"./{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader"

Status = Literal["valid", "invalid", "absent"]


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of :func:`verify_package`: data, never an exception for a bad signature.

    ``valid`` means: exactly one XMLDSig signature, in edXMLHeader, whose only reference is
    ``URI=""`` (the whole document minus the signature), verified with the pinned certificate
    (or, when none was pinned, with the certificate the package carries: integrity only). So
    every element that :func:`parse_package` reads from the same bytes is covered.
    """

    status: Status
    reason: str | None = None
    """Stable code when invalid: ``digest_mismatch``, ``signature_mismatch``, ..."""
    detail: str = ""
    signer_subject: str = ""
    signer_certificate: bytes | None = None
    """DER of the certificate whose key verified (or failed to verify) the signature."""
    algorithm: str = ""
    digest_algorithm: str = ""
    warnings: tuple[ParseWarning, ...] = ()

    @property
    def is_valid(self) -> bool:
        return self.status == "valid"

    @property
    def warning_codes(self) -> frozenset[str]:
        return frozenset(w.code for w in self.warnings)


class _Signer(XMLSigner):
    # signxml re-parses its input; give it our parser so large attachments fit (huge_tree)
    @property
    def parser(self) -> etree.XMLParser:
        return safe_parser()


def _load_cert(cert: x509.Certificate | bytes | str) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    raw = cert.encode() if isinstance(cert, str) else cert
    if b"-----BEGIN" in raw:
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def sign_package(
    data: bytes,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    cert_chain: list[x509.Certificate] | tuple[x509.Certificate, ...],
    *,
    limits: ParseLimits | None = None,
) -> bytes:
    """Return ``data`` with an enveloped XMLDSig in edXMLHeader after TraceHeaderList."""
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise XmlSigningError(details={"reason": "unsupported_key_type"})
    if not cert_chain:
        raise XmlSigningError(details={"reason": "certificate_required"})
    root = parse_tree(data, limits)
    header = root.find(_HEADER_PATH)
    if root.tag != f"{{{NS}}}edXML" or header is None:
        raise XmlSigningError(details={"reason": "not_an_edxml_package"})
    if root.find(f".//{{{DS_NS}}}Signature") is not None:
        raise XmlSigningError(details={"reason": "already_signed"})
    anchor = header.find(f"{{{NS}}}TraceHeaderList")
    if anchor is None:
        anchor = header.find(f"{{{NS}}}MessageHeader")
    placeholder = etree.Element(f"{{{DS_NS}}}Signature", Id="placeholder", nsmap={"ds": DS_NS})
    if anchor is None:
        header.append(placeholder)
    else:
        anchor.addnext(placeholder)
    # C14N 1.0 as in the public samples: .NET SignedXml does not implement C14N 1.1.
    signer = _Signer(
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    try:
        signed = signer.sign(root, key=key, cert=list(cert_chain))
    except (SignXMLException, ValueError, TypeError) as exc:
        raise XmlSigningError(details={"reason": "signxml", "detail": str(exc)}) from None
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def _warning(code: str, en: str, vi: str) -> ParseWarning:
    return ParseWarning(code, en, vi)


def verify_package(
    data: bytes,
    *,
    expected_cert: x509.Certificate | bytes | str | None = None,
    verification_time: datetime | None = None,
    limits: ParseLimits | None = None,
) -> SignatureCheck:
    """Verify the package's XML signature; return valid, invalid (with a reason) or absent.

    ``expected_cert`` pins the sender's certificate (PEM, DER or object); without it only
    integrity is checked, with the certificate carried by the package. Hostile or malformed
    XML raises the same EdxmlError as :func:`parse_package`.
    """
    root = parse_tree(data, limits)
    warnings: list[ParseWarning] = []
    signatures = list(root.iter(f"{{{DS_NS}}}Signature"))
    if not signatures:
        if any(e.tag in (f"{{{NS}}}Signature", "Signature") for e in root.iter()):
            warnings.append(_warning(
                "signature_not_xmldsig",
                "the Signature element is not in the XMLDSig namespace (an SDK placeholder); "
                "treated as absent",
                "phần tử Signature không thuộc XMLDSig (giá trị mẫu của SDK); "
                "coi như không có chữ ký",
            ))  # fmt: skip
        return SignatureCheck("absent", warnings=tuple(warnings))

    def invalid(reason: str, detail: str, **extra: Any) -> SignatureCheck:
        return SignatureCheck("invalid", reason, detail, warnings=tuple(warnings), **extra)

    if len(signatures) > 1:
        return invalid("multiple_signatures", f"{len(signatures)} XMLDSig signatures found")
    signature = signatures[0]
    if root.tag != f"{{{NS}}}edXML" or signature.getparent() is not root.find(_HEADER_PATH):
        return invalid("signature_misplaced", "the signature is not a child of edXMLHeader")
    ds = {"ds": DS_NS}
    references = signature.findall("ds:SignedInfo/ds:Reference", ds)
    if len(references) != 1 or references[0].get("URI") != "":
        uris = [r.get("URI") for r in references]
        return invalid("reference_not_whole_document", f'references {uris}; only URI="" accepted')
    transforms = [
        t.get("Algorithm", "") for t in references[0].findall("ds:Transforms/ds:Transform", ds)
    ]
    if ENVELOPED not in transforms or any(t not in _ALLOWED_TRANSFORMS for t in transforms):
        return invalid("transform_not_allowed", f"transforms {transforms}")
    method_node = signature.find("ds:SignedInfo/ds:SignatureMethod", ds)
    digest_node = references[0].find("ds:DigestMethod", ds)
    algorithm = method_node.get("Algorithm", "") if method_node is not None else ""
    digest = digest_node.get("Algorithm", "") if digest_node is not None else ""
    names = {
        "algorithm": algorithm.rpartition("#")[2],
        "digest_algorithm": digest.rpartition("#")[2],
    }
    if "sha1" in algorithm.lower() or digest.lower().endswith("#sha1"):
        warnings.append(_warning(
            "sha1_signature",
            "signed with SHA-1, below the national standard (Thông tư 15/2025); accepted",
            "chữ ký dùng SHA-1, dưới chuẩn quốc gia (Thông tư 15/2025); vẫn chấp nhận",
        ))  # fmt: skip

    try:
        if expected_cert is not None:
            cert = _load_cert(expected_cert)
        else:
            embedded = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", ds)
            if embedded is None or not (embedded.text or "").strip():
                return invalid("certificate_missing", "no X509Certificate in KeyInfo", **names)
            cert = x509.load_der_x509_certificate(base64.b64decode(embedded.text))
            warnings.append(_warning(
                "certificate_not_pinned",
                "no pinned certificate for the sender: integrity checked, signer not trusted yet",
                "chưa có chứng thư số đăng ký của bên gửi: chỉ kiểm tra toàn vẹn, "
                "chưa xác thực người ký",
            ))  # fmt: skip
    except (ValueError, TypeError) as exc:
        return invalid("certificate_unreadable", str(exc), **names)
    signer: dict[str, Any] = {
        "signer_subject": cert.subject.rfc4514_string(),
        "signer_certificate": cert.public_bytes(Encoding.DER),
        **names,
    }
    config = SignatureConfiguration(
        location=f"{_HEADER_PATH}/",
        expect_references=1,
        signature_methods=_METHODS,
        digest_algorithms=frozenset(d for d in DigestAlgorithm),
        verification_time=verification_time,
    )
    try:
        result = XMLVerifier().verify(
            root, x509_cert=cert, parser=safe_parser(), expect_config=config
        )
    except InvalidDigest as exc:
        return invalid("digest_mismatch", str(exc), **signer)
    except InvalidCertificate as exc:
        return invalid("certificate_not_valid", str(exc), **signer)
    except InvalidSignature as exc:
        return invalid("signature_mismatch", str(exc), **signer)
    except (InvalidInput, SignXMLException, ValueError, TypeError) as exc:
        return invalid("signature_malformed", str(exc), **signer)

    if isinstance(result, list):  # expect_references=1 returns one result; never trust it blindly
        return invalid("signature_malformed", "more than one signed reference", **signer)
    # See what is signed: the verified reference must be the whole document we were given.
    signed = result.signed_xml
    expected = sum(1 for _ in root.iter(etree.Element)) - sum(
        1 for _ in signature.iter(etree.Element)
    )
    if (
        signed is None
        or signed.tag != root.tag
        or sum(1 for _ in signed.iter(etree.Element)) != expected
    ):
        return invalid(
            "signed_content_mismatch", "the signed content is not the whole package", **signer
        )
    return SignatureCheck("valid", warnings=tuple(warnings), **signer)
