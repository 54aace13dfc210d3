"""Sign a PDF as Nghị định 30 requires: PAdES B-B to B-LTA with pyHanko, as an incremental
update that keeps earlier signatures valid, with the appearance of the signer's role.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple, cast

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfPostSignatureDocument
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator import errors as cv_errors

from docsvc.errors import BadRequestError, DocsvcError, InvalidPdfError
from docsvc.pdf import DEFAULT_MAX_PAGES, PdfTooLargeError, check_page_tree
from docsvc.signing import appearance, cms
from docsvc.signing.checks import SIGNER_KEY_USAGE, async_check_signer, rejection_from
from docsvc.signing.errors import (
    AlreadySignedError,
    DamagedPdfError,
    EncryptedPdfError,
    PlacementError,
    RevocationUnavailableError,
    SigningError,
    TimestampUnavailableError,
    UnsupportedAlgorithmError,
)
from docsvc.signing.placement import (
    Box,
    Placement,
    SealBox,
    find_signer_block,
    person_box,
    seal_box,
)
from docsvc.signing.words import Document as WordsDocument
from docsvc.signing.words import ScanLimitError, ScanLimits

log = logging.getLogger(__name__)

Role = Literal["person", "agency", "attachment", "copy"]
Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
ROLES: tuple[str, ...] = ("person", "agency", "attachment", "copy")
LEVELS: tuple[str, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
AGENCY_ROLES = frozenset({"agency", "attachment", "copy"})
DIGESTS = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"})
_FIELD_NAME = re.compile(r"^Sig_(person|agency|attachment|copy)_(\d+)$")


@dataclass(frozen=True)
class ExistingSignature:
    """A signature already in the document."""

    field_name: str
    role: str
    """``person`` or an agency role, from our field name or else guessed from the certificate."""
    signer: str
    """Common name of the signer's certificate."""
    page_index: int | None
    box: Box | None


class _Writer(IncrementalPdfFileWriter):
    """pyHanko's incremental writer copying the original in 1 MiB chunks instead of 4 KiB ones
    (a 20 MB PDF took ~10,000 reads and writes of Python objects before its update)."""

    IO_CHUNK_SIZE = 1 << 20


def _open(raw: bytes, max_pages: int = DEFAULT_MAX_PAGES) -> IncrementalPdfFileWriter:
    try:
        writer = _Writer(BytesIO(raw))
    except (PdfError, ValueError, KeyError, TypeError, IndexError, RecursionError,
            OverflowError) as exc:
        log.info("pdf refused by the signer: %s", exc)  # the library's words stay in the log
        raise DamagedPdfError(details={"stage": "pdf", "cause": type(exc).__name__}) from exc
    if writer.prev.encrypted or "/Encrypt" in writer.prev.trailer:
        raise EncryptedPdfError()
    try:
        writer.root["/Pages"]  # noqa: B018 - touch the page tree to fail early on damage
        if writer.prev.root["/Pages"].get("/Count", 0) < 1:
            raise DamagedPdfError("Tệp PDF không có trang nào.", "The PDF has no pages.")
        # A cyclic or very deep page tree sends pyHanko's recursive walk into a RecursionError.
        check_page_tree(writer.prev.root.raw_get("/Pages"), max_pages=max_pages)
    except PdfTooLargeError as exc:  # sign at a given box, or raise DOCSVC_PLACEMENT_MAX_PAGES
        raise ScanLimitError(details={"max_pages": max_pages, **exc.details}) from exc
    except InvalidPdfError as exc:
        raise DamagedPdfError(details={"stage": "pdf", **exc.details}) from exc
    except (PdfError, KeyError, RecursionError, OverflowError, ValueError, TypeError) as exc:
        log.info("pdf refused by the signer: %s", exc)
        raise DamagedPdfError(details={"stage": "pdf", "cause": type(exc).__name__}) from exc
    return writer


def _pages(reader: PdfFileReader, max_pages: int | None = None) -> list[generic.DictionaryObject]:
    """Return the page objects in order; past ``max_pages`` raise ``ScanLimitError`` (422), so
    that a huge or lying page tree never holds a worker."""
    limit = max_pages if max_pages is not None else ScanLimits.max_pages

    def walk(node: generic.DictionaryObject, depth: int) -> Iterator[generic.DictionaryObject]:
        if depth > 64:
            raise DamagedPdfError(details={"error": "page tree too deep"})
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node["/Kids"]:
                yield from walk(kid.get_object(), depth + 1)
        else:
            yield node

    pages = []
    for page in walk(reader.root["/Pages"], 0):
        pages.append(page)
        if len(pages) > limit:
            raise ScanLimitError(details={"max_pages": limit})
    return pages


def _page_box(page: generic.DictionaryObject) -> Box:
    box = page.get("/CropBox") or _inherited(page, "/MediaBox")
    if not isinstance(box, generic.ArrayObject) or len(box) != 4:
        raise DamagedPdfError(details={"page_box": str(box)[:100]})
    x1, y1, x2, y2 = (float(v) for v in box)
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _inherited(page: generic.DictionaryObject, key: str) -> generic.PdfObject:
    node: generic.PdfObject | None = page
    while isinstance(node, generic.DictionaryObject):
        if key in node:
            return node[key]
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    raise DamagedPdfError(details={"missing": key})


def _role_of(name: str, cert: asn1_x509.Certificate | None) -> str:
    match = _FIELD_NAME.match(name)
    if match:
        return match.group(1)
    if cert is not None:
        subject = cert.subject.native
        if "organization_identifier" in subject or (
            subject.get("common_name") and subject.get("common_name")
            == subject.get("organization_name")
        ):
            return "agency"
    return "person"


def existing_signatures(data: bytes | PdfFileReader, *, max_pages: int | None = None
                        ) -> list[ExistingSignature]:
    """List the filled signature fields of a PDF (document timestamps excluded)."""
    reader = data if isinstance(data, PdfFileReader) else PdfFileReader(BytesIO(data))
    pages = _pages(reader, max_pages)
    page_ids = {cast(generic.Reference, p.container_ref).idnum if p.container_ref else None: i
                for i, p in enumerate(pages)}
    found = []
    for sig in reader.embedded_regular_signatures:
        try:
            cert = sig.signer_cert
        except (ValueError, KeyError):
            cert = None
        widget = sig.sig_field
        if "/Kids" in widget:
            widget = widget["/Kids"][0].get_object()
        box = tuple(float(v) for v in widget["/Rect"]) if "/Rect" in widget else None
        page_ref = widget.get_value_as_reference("/P", optional=True)
        page_index = page_ids.get(page_ref.idnum) if page_ref is not None else None
        if box is not None and (box[2] - box[0] <= 0 or box[3] - box[1] <= 0):
            box = None
        found.append(ExistingSignature(
            field_name=sig.field_name, role=_role_of(sig.field_name, cert),
            signer=cert.subject.native.get("common_name", "") if cert else "",
            page_index=page_index, box=box,  # type: ignore[arg-type]
        ))
    return found


def _refuse_conflicts(role: str, existing: list[ExistingSignature]) -> None:
    sealed = [s for s in existing if s.role in AGENCY_ROLES]
    if sealed:
        raise AlreadySignedError(details={"field": sealed[0].field_name, "role": sealed[0].role,
                                          "requested_role": role})


def _field_name(role: str, reader: PdfFileReader) -> str:
    taken = {name for name, _value, _ref in fields.enumerate_sig_fields(reader)}
    n = 1
    while f"Sig_{role}_{n}" in taken:
        n += 1
    return f"Sig_{role}_{n}"


def _page_index(page: int | None, count: int, default: int) -> int:
    if page is None:
        return default
    index = page - 1 if page > 0 else count + page
    if not 0 <= index < count:
        raise PlacementError(details={"page": page, "pages": count})
    return index


@dataclass(frozen=True)
class _Target:
    field_name: str
    page_index: int
    box: Box | None
    existing_field: bool
    seal: SealBox | None = None
    """For the agency role placed automatically: the seal and whether its text fits."""


def _target(role: str, raw: bytes, reader: PdfFileReader, placement: Placement | None,
            existing: list[ExistingSignature], signer_name: str, *,
            limits: ScanLimits | None = None, aspect: float = 1.0) -> _Target:
    limits = limits or ScanLimits()
    pages = _pages(reader, limits.max_pages)
    count = len(pages)
    placement = placement or Placement()
    if placement.field is not None:
        empty = {n for n, value, _ref in fields.enumerate_sig_fields(reader, filled_status=False)}
        if placement.field not in empty:
            raise PlacementError(
                f"Không có ô chữ ký trống tên '{placement.field}'.",
                f"No empty signature field named '{placement.field}'.",
                details={"field": placement.field},
            )
        return _Target(placement.field, 0, None, True)
    name = _field_name(role, reader)
    if placement.box is not None:
        return _Target(name, _page_index(placement.page, count, 0), placement.box, False)
    if role == "person":
        text = placement.search or signer_name
        page = None if placement.page is None else _page_index(placement.page, count, 0)
        with WordsDocument(raw, limits) as doc:
            block = find_signer_block(doc, text, page_index=page)
            return _Target(name, block.page.index, person_box(block, aspect), False)
    if role == "agency":
        persons = [s for s in existing if s.role == "person" and s.box is not None]
        if not persons:
            raise PlacementError(
                "Chưa có chữ ký của người có thẩm quyền để đóng dấu lên; hãy chỉ ra vị trí.",
                "No person signature to place the seal over; give a placement.",
            )
        person = persons[-1]
        assert person.box is not None  # persons have a box (filtered above)
        index = person.page_index if person.page_index is not None else count - 1
        with WordsDocument(raw, limits) as doc:
            words = doc.text_words(index)
            if not words.lines and limits.ocr:  # a scan: the words come from OCR
                words = doc.ocr_words(index)
            seal = seal_box(words, person.box)
        return _Target(name, index, seal.box, False, seal)
    index = _page_index(placement.page, count, 0)
    x1, y1, x2, y2 = _page_box(pages[index])
    box = appearance.stamp_box_top_right(x2 - x1, y2 - y1)
    return _Target(name, index, (box[0] + x1, box[1] + y1, box[2] + x1, box[3] + y1), False)


SEAL_TEXT_MIN_WIDTH = 40.0


def _seal_layout(target: _Target) -> tuple[float, bool]:
    """Return the seal size and whether its text is drawn: the text only where it has room."""
    if target.seal is not None:
        return target.seal.seal[3] - target.seal.seal[1], target.seal.with_text
    if target.box is None:
        return appearance.SEAL_SIZE, True
    x1, y1, x2, y2 = target.box
    size = max(1.0, min(appearance.SEAL_SIZE, y2 - y1, x2 - x1))
    return size, x2 - x1 - size - 2 >= SEAL_TEXT_MIN_WIDTH


def _organisation(cert: asn1_x509.Certificate) -> str:
    subject = cert.subject.native
    return subject.get("organization_name") or subject.get("common_name") or ""


def _reserve(signer: Signer, level: str) -> int:
    """Return a fixed size for the signature container (hex chars), so pyHanko signs once."""
    certs = list(signer.cert_registry)
    if signer.signing_cert is not None:
        certs.append(signer.signing_cert)
    der = sum(len(c.dump()) for c in certs) + 3072  # attributes, signature value, slack
    if level != "B-B":
        der += 8192  # the timestamp token with the TSA's certificates
    hex_chars = 2 * der
    return (hex_chars + 1023) // 1024 * 1024


def _digest(name: str) -> str:
    digest = name.lower().replace("-", "_")
    digest = {"sha_256": "sha256", "sha_384": "sha384", "sha_512": "sha512"}.get(digest, digest)
    if digest not in DIGESTS:
        raise UnsupportedAlgorithmError(details={"digest": name})
    return digest


def _translate(exc: BaseException, subject: str) -> DocsvcError:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DocsvcError):
            return seen
        if isinstance(seen, TimestampRequestError):
            log.warning("timestamp authority failed: %s", seen)
            return TimestampUnavailableError(details={"stage": "tsa"})
        if isinstance(seen, cv_errors.OCSPFetchError | cv_errors.CRLFetchError):
            log.warning("revocation fetch failed: %s", seen)
            return RevocationUnavailableError(details={"stage": "revocation"})
        seen = seen.__cause__ or seen.__context__
    rejection = rejection_from(exc, subject)
    if rejection is not None:
        return rejection
    # the library's own words go to the log, never to the person signing
    log.error("signing failed: %s: %s", type(exc).__name__, exc)
    return SigningError(details={"stage": "signing", "cause": type(exc).__name__})


async def _run(pdf_signer: PdfSigner, writer: IncrementalPdfFileWriter, *, when: dt.datetime,
               reserved: int | None, params: dict[str, str], output: BinaryIO,
               existing_field: bool, check_context: ValidationContext | None) -> None:
    meta = pdf_signer.signature_meta
    signer = pdf_signer.signer
    await async_check_signer(signer, validation_context=check_context, at=when,
                             key_usage=meta.signer_key_usage)
    session = pdf_signer.init_signing_session(writer, existing_fields_only=existing_field)
    session.system_time = when  # the time shown in the stamp is the signing-time attribute
    validation_info = await session.perform_presign_validation(writer)
    if reserved is None:
        reserved = await session.estimate_signature_container_size(validation_info)
    tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=reserved,
                                       appearance_text_params=params)
    digest, res_output = tbs.digest_tbs_document(output=output)
    if tbs.use_pades and cms.is_supported(signer, tbs.md_algorithm):
        # the same container as pyHanko's, from DER prepared once per signer (see cms.py)
        container = await cms.build_pades_cms(signer, digest.document_digest,
                                              tbs.md_algorithm, timestamper=tbs.timestamper)
        post = PdfPostSignatureDocument(tbs.cms_writer.send(container),
                                        post_sign_instr=tbs.post_sign_instructions,
                                        validation_context=tbs.validation_context)
    else:
        post = await tbs.perform_signature(
            document_digest=digest.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=when,
                adobe_revinfo_attr=None if validation_info is None
                else validation_info.adobe_revinfo_attr,
            ),
        )
    await post.post_signature_processing(res_output)


class SignedBytes(NamedTuple):
    """What :func:`sign_pdf_detailed` made: the signed PDF (None when written to ``output``)
    and the name of the signature field it filled."""

    data: bytes | None
    field_name: str


def sign_pdf(data: bytes | BinaryIO, **options: Any) -> bytes | None:
    """Sign ``data``; return the signed PDF, or write it to ``output`` (options and errors:
    :func:`sign_pdf_detailed`)."""
    return sign_pdf_detailed(data, **options).data


def sign_pdf_detailed(data: bytes | BinaryIO, **options: Any) -> SignedBytes:
    """Sign ``data`` (options and errors: :func:`_sign_pdf_detailed`). pyHanko reads objects
    lazily, so a damaged object can surface at any step: every reader failure is a
    ``DamagedPdfError`` (422), never a crash."""
    try:
        return _sign_pdf_detailed(data, **options)
    except DocsvcError:
        raise
    except (PdfError, KeyError, IndexError, TypeError, ValueError, AttributeError,
            AssertionError, ArithmeticError, RecursionError, EOFError, zlib.error) as exc:
        raise DamagedPdfError(details={"error": f"{type(exc).__name__}: {exc}"[:200]}) from exc


def _sign_pdf_detailed(data: bytes | BinaryIO, *, signer: Signer, role: Role,
             level: Level | None = None, timestamper: TimeStamper | None = None,
             validation_context: ValidationContext | None = None,
             placement: Placement | None = None, picture: Path | bytes | None = None,
             agency_name: str | None = None, reference: str | None = None,
             stamp_text: str | None = None, signing_time: dt.datetime | None = None,
             digest: str = "sha256", reason: str | None = None, location: str | None = None,
             output: BinaryIO | None = None, limits: ScanLimits | None = None) -> SignedBytes:
    """Sign ``data`` for ``role`` at ``level``; return the signed PDF (or write it to
    ``output``) and the field it filled, so that nobody parses the result again to learn it.

    ``level`` defaults to B-LT with a timestamper, else B-B. B-LT and B-LTA need a
    ``validation_context`` (its trust roots and revocation fetching). ``reference`` is the
    number/notation (attachment) or copy form (copy) shown in the text stamp; ``stamp_text``
    overrides the template (parameters ``agency``, ``signed_at``, ``reference``).

    Raises ``CertificateRejectedError``, ``AlreadySignedError``, ``EncryptedPdfError``,
    ``DamagedPdfError``, ``PlacementError``, ``TimestampUnavailableError``,
    ``RevocationUnavailableError``, ``UnsupportedAlgorithmError`` or ``SigningError``.
    """
    if role not in ROLES:
        raise BadRequestError(details={"role": role, "allowed": list(ROLES)})
    level = level or ("B-LT" if timestamper is not None else "B-B")
    if level not in LEVELS:
        raise BadRequestError(details={"level": level, "allowed": list(LEVELS)})
    if level != "B-B" and timestamper is None:
        raise BadRequestError(f"Mức {level} cần máy chủ cấp dấu thời gian.",
                              f"Level {level} needs a timestamp authority.")
    long_term = level in ("B-LT", "B-LTA")
    if long_term and validation_context is None:
        raise BadRequestError(f"Mức {level} cần ngữ cảnh kiểm tra chứng thư (CA gốc tin cậy).",
                              f"Level {level} needs a validation context (trust roots).")
    md = _digest(digest)
    mechanism = signer.signature_mechanism
    if mechanism is not None and "sha1" in mechanism["algorithm"].native:
        raise UnsupportedAlgorithmError(details={"mechanism": mechanism["algorithm"].native})
    raw = data if isinstance(data, bytes | bytearray) else data.read()
    raw = bytes(raw)
    writer = _open(raw)
    limits = limits or ScanLimits()
    existing = existing_signatures(writer.prev, max_pages=limits.max_pages)
    _refuse_conflicts(role, existing)
    cert = signer.signing_cert
    assert cert is not None
    subject = cert.subject.native.get("common_name", "")
    person_picture = picture or appearance.DEMO_SIGNATURE_PICTURE
    target = _target(role, raw, writer.prev, placement, existing, subject, limits=limits,
                     aspect=appearance.picture_aspect(person_picture) if role == "person" else 1)
    when = signing_time or dt.datetime.now(dt.UTC).replace(microsecond=0)
    params = {"agency": agency_name or _organisation(cert), "signed_at": appearance.iso_vn(when),
              "reference": reference or ""}
    style: BaseStampStyle
    if role == "person":
        style = appearance.person_style(picture or appearance.DEMO_SIGNATURE_PICTURE)
    elif role == "agency":
        size, with_text = _seal_layout(target)
        seal_picture = picture or appearance.DEMO_SEAL_PICTURE
        style = (appearance.agency_style(seal_picture, seal_size=size) if with_text
                 else appearance.seal_only_style(seal_picture))
    else:
        template = stamp_text or ("%(reference)s\n%(agency)s\n%(signed_at)s" if reference
                                  else "%(agency)s\n%(signed_at)s")
        style = appearance.text_stamp_style(template)
    meta = PdfSignatureMetadata(
        field_name=target.field_name, md_algorithm=md,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=long_term, use_pades_lta=level == "B-LTA",
        validation_context=validation_context if long_term else None,
        signer_key_usage=set(SIGNER_KEY_USAGE), reason=reason, location=location,
    )
    spec = None
    if not target.existing_field:
        box = target.box
        spec = fields.SigFieldSpec(
            target.field_name, on_page=target.page_index,
            box=tuple(round(v, 2) for v in box) if box else None,  # type: ignore[arg-type]
        )
    pdf_signer = PdfSigner(meta, signer, timestamper=timestamper if level != "B-B" else None,
                           stamp_style=style, new_field_spec=spec)
    reserved: int | None = _reserve(signer, level)
    while True:
        out = output if output is not None else BytesIO()
        start = out.tell() if output is not None else 0
        try:
            asyncio.run(_run(pdf_signer, _open(raw) if reserved is None else writer, when=when,
                             reserved=reserved, params=params, output=out,
                             existing_field=target.existing_field,
                             check_context=None if long_term else validation_context))
        except PyHankoSigningError as exc:
            if reserved is not None and "larger than expected" in str(exc):
                reserved = None  # our estimate was too small: let pyHanko measure
                if output is not None:
                    output.seek(start)
                    output.truncate()
                continue
            raise _translate(exc, subject) from exc
        except DocsvcError:
            raise
        except (TimestampRequestError, cv_errors.ValidationError, cv_errors.PathError,
                OSError, ValueError) as exc:
            raise _translate(exc, subject) from exc
        break
    written = out.getvalue() if output is None and isinstance(out, BytesIO) else None
    return SignedBytes(written, target.field_name)
