"""The CMS container built from prepared DER is the one pyHanko would build, and verifies."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
from io import BytesIO

import pytest
from asn1crypto import cms as asn1_cms
from PIL import Image
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from docsvc.signing import Placement, appearance, cms, load_pkcs12_signer, sign_pdf

BOX = (335.0, 395.0, 485.0, 460.0)


def _pyhanko(signer, digest: bytes, md: str) -> bytes:
    made = asyncio.run(signer.async_sign(digest, md, use_pades=True,
                                         signed_attr_settings=PdfCMSSignedAttributes()))
    return made.dump()


@pytest.mark.parametrize("md", ["sha256", "sha384", "sha512"])
def test_rsa_container_is_byte_for_byte_pyhankos(person_signer, md):
    digest = hashlib.new(md, os.urandom(64)).digest()
    assert cms.is_supported(person_signer, md)
    ours = asyncio.run(cms.build_pades_cms(person_signer, digest, md))
    assert ours == _pyhanko(person_signer, digest, md)


def test_ecdsa_container_matches_pyhanko_but_for_the_random_signature(pki):
    cred = pki["person-ecdsa"]
    signer = load_pkcs12_signer(cred.p12_path, passphrase_file=cred.passphrase_path)
    digest = hashlib.sha256(b"x").digest()
    ours = asn1_cms.ContentInfo.load(asyncio.run(cms.build_pades_cms(signer, digest, "sha256")))
    theirs = asn1_cms.ContentInfo.load(_pyhanko(signer, digest, "sha256"))
    ours_info = ours["content"]["signer_infos"][0]
    theirs_info = theirs["content"]["signer_infos"][0]
    assert ours_info["signed_attrs"].dump() == theirs_info["signed_attrs"].dump()
    assert ours["content"]["certificates"].dump() == theirs["content"]["certificates"].dump()
    assert ours_info["signature_algorithm"].dump() == theirs_info["signature_algorithm"].dump()


def test_a_custom_attribute_provider_falls_back_to_pyhanko(person_signer):
    class Custom(type(person_signer)):
        pass

    other = Custom.__new__(Custom)
    other.__dict__.update(person_signer.__dict__)
    other.signed_attr_prov_spec = object()
    assert not cms.is_supported(other, "sha256")
    assert not cms.is_supported(person_signer, "shake256")


def test_signed_pdf_is_valid_for_pyhanko_and_pdfsig(pki, person_signer, sample_pdf,
                                                         tmp_path):
    signed = sign_pdf(sample_pdf, signer=person_signer, role="person",
                      placement=Placement(page=1, box=BOX))
    embedded = PdfFileReader(BytesIO(signed)).embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(pki.root_cert_path))])
    status = validate_pdf_signature(embedded[0], context)
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    if shutil.which("pdfsig") is None:
        pytest.skip("poppler pdfsig is not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    shown = subprocess.run(["pdfsig", "-nocert", str(path)], capture_output=True, text=True,
                           check=True).stdout
    assert "Signature is Valid." in shown


def test_signature_picture_is_compressed_once_not_per_signature(person_signer, sample_pdf,
                                                                monkeypatch):
    from pyhanko.pdf_utils import filters

    sign_pdf(sample_pdf, signer=person_signer, role="person", placement=Placement(box=BOX))
    sizes = []
    original = filters.compress
    monkeypatch.setattr(filters, "compress", lambda data: sizes.append(len(data))
                        or original(data))
    signed = sign_pdf(sample_pdf, signer=person_signer, role="person",
                      placement=Placement(box=BOX))
    assert sizes and max(sizes) < 10_000  # only the small appearance stream, not the picture
    def images(xobject):
        if xobject.get("/Subtype") == "/Image":
            yield xobject
        for child in xobject.get("/Resources", {}).get("/XObject", {}).values():
            yield from images(child.get_object())

    widget = PdfFileReader(BytesIO(signed)).embedded_signatures[0].sig_field
    (image,) = images(widget["/AP"]["/N"].get_object())
    with Image.open(appearance.DEMO_SIGNATURE_PICTURE) as picture:
        size = picture.size
    assert (image["/Width"], image["/Height"]) == size
    assert len(image.data) == size[0] * size[1] * 3  # RGB, decodes whole
    assert len(image["/SMask"].get_object().data) == size[0] * size[1]
