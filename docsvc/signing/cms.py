"""Build the PAdES CMS container from DER pieces prepared once per signer.

pyHanko assembles the SignedData as asn1crypto objects and serialises them again for every
signature, certificates included: most of the time of a small signature. The structure of a
PAdES signature is fixed (content-type, message-digest and signing-certificate-v2 signed
attributes; an optional signature timestamp), so everything but the digest, the signature value
and the timestamp token is DER computed once per signer and digest algorithm and reused.
The output is byte for byte what pyHanko's ``Signer.async_sign(..., use_pades=True)`` makes.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass

from asn1crypto import algos, cms
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper

# DER of the fixed object identifiers (tag 06, length, value)
_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")
_OID_TIMESTAMP_TOKEN = bytes.fromhex("060b2a864886f70d010910020e")
_ENCAP_DATA = bytes.fromhex("300b06092a864886f70d010701")  # EncapsulatedContentInfo {id-data}
_VERSION_1 = b"\x02\x01\x01"


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


@dataclass(frozen=True)
class _Template:
    digest_algorithm: bytes
    signature_algorithm: bytes
    sid: bytes
    certificates: bytes
    """Contents of the ``[0] certificates`` field: every certificate's DER, sorted (SET OF)."""
    content_type_attr: bytes
    signing_certificate_attr: bytes


_templates: weakref.WeakKeyDictionary[Signer, dict[str, _Template]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def is_supported(signer: Signer, digest_algorithm: str) -> bool:
    """Tell whether the prepared container matches what pyHanko would build for ``signer``."""
    return (signer.signed_attr_prov_spec is None and signer.unsigned_attr_prov_spec is None
            and not signer.attribute_certs and signer.signing_cert is not None
            and not digest_algorithm.startswith("shake"))


def _template(signer: Signer, digest_algorithm: str) -> _Template:
    with _lock:
        per_signer = _templates.setdefault(signer, {})
        found = per_signer.get(digest_algorithm)
    if found is not None:
        return found
    cert = signer.signing_cert
    assert cert is not None
    registry = list(signer.cert_registry or ())
    if not signer.embed_roots:
        registry = [c for c in registry if c.self_signed == "no"]
    certificates = {cms.CertificateChoices(name="certificate", value=c).dump()
                    for c in [*registry, cert]}
    ess_attr = cms.CMSAttribute({"type": "signing_certificate_v2",
                                 "values": (as_signing_certificate_v2(cert),)})
    made = _Template(
        digest_algorithm=algos.DigestAlgorithm({"algorithm": digest_algorithm}).dump(),
        signature_algorithm=signer.get_signature_mechanism_for_digest(digest_algorithm).dump(),
        sid=cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}).dump(),
        certificates=b"".join(sorted(certificates)),
        content_type_attr=simple_cms_attribute("content_type", "data").dump(),
        signing_certificate_attr=ess_attr.dump(),
    )
    with _lock:
        per_signer[digest_algorithm] = made
    return made


async def build_pades_cms(signer: Signer, document_digest: bytes, digest_algorithm: str, *,
                          timestamper: TimeStamper | None = None) -> bytes:
    """Return the DER ContentInfo of a PAdES signature over ``document_digest``.

    Call only when :func:`is_supported` is true; the signature value comes from the signer
    (software key or PKCS#11 token alike) and the timestamp, if any, from ``timestamper``.
    """
    digest_algorithm = digest_algorithm.lower()
    signer._check_digest_algorithm(digest_algorithm)  # the same refusal as pyHanko's
    parts = _template(signer, digest_algorithm)
    message_digest = _tlv(0x30, _OID_MESSAGE_DIGEST
                          + _tlv(0x31, _tlv(0x04, document_digest)))
    attrs = b"".join(sorted((parts.content_type_attr, message_digest,
                             parts.signing_certificate_attr)))
    signature = await signer.async_sign_raw(_tlv(0x31, attrs), digest_algorithm)
    unsigned = b""
    if timestamper is not None:
        imprint = hashlib.new(digest_algorithm, signature).digest()
        token = await timestamper.async_timestamp(imprint, digest_algorithm)
        unsigned = _tlv(0xA1, _tlv(0x30, _OID_TIMESTAMP_TOKEN + _tlv(0x31, token.dump())))
    signer_info = _tlv(0x30, _VERSION_1 + parts.sid + parts.digest_algorithm
                       + _tlv(0xA0, attrs) + parts.signature_algorithm
                       + _tlv(0x04, signature) + unsigned)
    signed_data = _tlv(0x30, _VERSION_1 + _tlv(0x31, parts.digest_algorithm) + _ENCAP_DATA
                       + _tlv(0xA0, parts.certificates) + _tlv(0x31, signer_info))
    return _tlv(0x30, _OID_SIGNED_DATA + _tlv(0xA0, signed_data))
