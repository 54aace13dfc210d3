"""Validate every signature in a PDF with pyHanko, hardened for hostile input: byte-level
checks first, every library exception turned into a FORMAT_FAILURE report, verdicts in ETSI terms.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from asn1crypto import cms, tsp
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel
from pyhanko.sign.diff_analysis.policy_api import SuspiciousModification
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext

from docsvc.errors import UnprocessableError
from docsvc.pdf import DEFAULT_MAX_PAGES, PdfTimeLimitError, PdfTooLargeError, check_page_tree
from docsvc.verify import etsi, structure
from docsvc.verify import evidence as ev
from docsvc.verify.notes import (
    library_error,
    modification_notes,
    note,
)
from docsvc.verify.report import (
    DocumentReport,
    Indication,
    Note,
    Severity,
    SignatureReport,
    overall_verdict,
)
from docsvc.verify.trust import TrustStore

log = logging.getLogger(__name__)

FORMAT_FAILURE = "FORMAT_FAILURE"
_SIG_SUBFILTERS = {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"}
_TS_SUBFILTERS = {"/ETSI.RFC3161"}
_KNOWN_FILTERS = {"/Adobe.PPKLite", "/Adobe.PPKMS", "/Entrust.PPKEF", "/CICI.SignIt",
                  "/VeriSign.PPKVS"}
# Sub-indications after which a trusted signature timestamp lets us judge the chain
# at the timestamp time instead of now (ETSI EN 319 102-1 §5.5, validation with time).
_TIME_RECOVERABLE = {
    "EXPIRED", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE", "TRY_LATER", "REVOKED_NO_POE", "REVOKED_CA_NO_POE",
}


class SignatureNotFoundError(UnprocessableError):
    """The requested signature does not exist or its byte range cannot be trusted."""

    code = "signature_not_found"
    message_vi = "Không tìm thấy chữ ký hoặc vùng ký của chữ ký không hợp lệ."
    message_en = "No such signature, or its signed byte range is not sound."


@dataclass(frozen=True)
class _Field:
    name: str
    sig_object: Any
    sig_field: Any
    end: float
    """Where its ByteRange ends (infinity when unreadable: sorted last)."""


def validate_pdf(
    data: bytes,
    trust: TrustStore,
    *,
    allow_fetching: bool = False,
    now: datetime | None = None,
    sha256: str | None = None,
    timeout: float | None = None,
    etsi_xml: bool = False,
    max_pages: int = DEFAULT_MAX_PAGES,
    time_limit: float | None = None,
) -> DocumentReport:
    """Validate every signature and document timestamp in ``data``; never raise on bad input.

    ``etsi_xml`` also fills ``DocumentReport.etsi_xml`` with the ETSI TS 119 102-2 XML report
    (``docsvc.verify.etsi``); when it cannot be built the report says so in a note.

    ``sha256`` is the file's hex SHA-256 when the caller already has it (an upload hashed
    while it was received, a blob checked against its key): the file is then not hashed
    again, only the signed byte ranges are. ``timeout`` bounds each OCSP/CRL/certificate
    fetch when ``allow_fetching`` is on (pyHanko's default otherwise).

    Bounds (``DOCSVC_MAX_PDF_PAGES``, ``DOCSVC_PDF_TIME_LIMIT``) are the one exception to
    "never raise": past ``max_pages`` pages ``PdfTooLargeError``, and when ``time_limit``
    seconds have passed before the next signature is taken up ``PdfTimeLimitError`` (both 422).
    One signature's validation is not interrupted; its network fetches are bounded by
    ``timeout``.
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    doc_notes: list[Note] = []
    tail = structure.check_tail(data)
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        fields, all_fields = _signature_fields(reader)
        revisions = reader.xrefs.total_revisions
        check_page_tree(reader.root.raw_get("/Pages"), max_pages=max_pages)
    except PdfTooLargeError:
        raise
    except Exception as exc:  # any parser failure is a report, never a 500
        notes = tuple(n for n in (tail, library_error(exc, "đọc tệp PDF", "reading the PDF")) if n)
        sha = sha256 if sha256 is not None else hashlib.sha256(data).hexdigest()
        return DocumentReport(Indication.INDETERMINATE, (), FORMAT_FAILURE, notes=notes,
                              **_base(sha, data, now))
    document_failure: Indication | None = None
    sub: str | None = None
    if tail is not None:
        doc_notes.append(tail)
        document_failure, sub = Indication.TOTAL_FAILED, FORMAT_FAILURE
    elif reader.last_startxref != structure.last_startxref(data):
        doc_notes.append(note("STARTXREF_MISMATCH", Severity.ERROR,
                              "Bảng tham chiếu cuối cùng được đọc không phải phiên bản cuối "
                              "của tệp.",
                              "The last cross-reference section read is not the file's last "
                              "revision."))
        document_failure, sub = Indication.TOTAL_FAILED, FORMAT_FAILURE
    try:
        knowledge = ev.collect_document_knowledge(reader, trust)
    except Exception as exc:  # a broken DSS must not hide the signatures
        doc_notes.append(library_error(exc, "đọc kho dữ liệu xác thực (DSS)", "reading the DSS"))
        knowledge = ev.Knowledge.from_trust(trust)
    doc_ts_times = _doc_timestamp_times(fields)
    prepared = [_prepare(data, reader, fld, index, revisions) for index, fld in enumerate(fields)]
    embs = [p.emb for p in prepared if p.emb is not None]
    if sha256 is None:  # one pass gives the file hash and the byte-range digests
        sha = _hash_file_and_byte_ranges(data, embs) or ""
    else:  # as cheap as the combined pass (measured), but the tail is not read twice
        _hash_file_and_byte_ranges(data, embs, file_hash=False)
        sha = sha256
    reports: list[SignatureReport] = []
    captured: list[etsi.Captured] | None = [] if etsi_xml else None
    for prep in prepared:
        rep = prep.report
        if time_limit is not None and time.monotonic() - started > time_limit:
            raise PdfTimeLimitError(details={"seconds": time_limit,
                                             "signatures_done": len(reports)})
        if rep is None:
            try:
                rep = _validate_field(reader, prep, trust, knowledge, all_fields,
                                      allow_fetching=allow_fetching, timeout=timeout, now=now,
                                      doc_ts_times=doc_ts_times, captured=captured)
            except Exception as exc:  # per-signature isolation: one bad signature, one bad report
                rep = _library_failure(prep.skeleton, prep.field.name, exc)
        reports.append(rep)
    if not fields:
        doc_notes.append(note("NO_SIGNATURE", Severity.WARNING,
                              "Tệp không có chữ ký số nào.",
                              "The file carries no digital signature."))
    sigs = tuple(reports)
    verdict = overall_verdict(sigs, document_failure)
    report = DocumentReport(verdict, sigs, sub, revisions_total=revisions,
                            notes=tuple(doc_notes), **_base(sha, data, now))
    if captured is not None:
        try:
            report = replace(report, etsi_xml=etsi.validation_report_xml(report, captured))
        except Exception as exc:  # the XML is an extra form: never lose the verdict over it
            report = replace(report, notes=(*report.notes, library_error(
                exc, "lập báo cáo XML ETSI TS 119 102-2", "building the ETSI TS 119 102-2 XML")))
    return report


def _base(sha: str, data: bytes, now: datetime) -> dict[str, Any]:
    return {"sha256": sha, "size": len(data), "validated_at": now}


@dataclass(frozen=True)
class _Prepared:
    """A signature field after the byte-level checks: either its pyHanko view or its report."""

    field: _Field
    skeleton: SignatureReport
    emb: EmbeddedPdfSignature | None = None
    report: SignatureReport | None = None


def _prepare(data: bytes, reader: PdfFileReader, fld: _Field, index: int,
             revisions: int) -> _Prepared:
    """Run the byte-level checks and open the signature with pyHanko (once per field)."""
    kind = _kind(fld)
    skeleton = SignatureReport(index, fld.name, kind, Indication.INDETERMINATE, FORMAT_FAILURE,
                               revisions_total=revisions)
    try:
        pre = _precheck(data, fld, kind)
        if pre is not None:
            indication, notes = pre
            return _Prepared(fld, skeleton, report=replace(skeleton, indication=indication,
                                                           notes=tuple(notes)))
        return _Prepared(fld, skeleton, emb=EmbeddedPdfSignature(reader, fld.sig_field, fld.name))
    except Exception as exc:  # per-signature isolation, as in validation
        return _Prepared(fld, skeleton, report=_library_failure(skeleton, fld.name, exc))


def _library_failure(skeleton: SignatureReport, name: str, exc: Exception) -> SignatureReport:
    log.info("signature %s: %s", name, exc, exc_info=True)
    indication, sub = Indication.INDETERMINATE, FORMAT_FAILURE
    ades = getattr(exc, "ades_subindication", None) if isinstance(
        exc, SignatureValidationError) else None
    if ades is not None and ades is not AdESIndeterminate.GENERIC:
        # pyHanko names the cause in ETSI terms (e.g. NO_SIGNING_CERTIFICATE_FOUND): keep it
        failed = isinstance(ades, AdESFailure)
        indication = Indication.TOTAL_FAILED if failed else Indication.INDETERMINATE
        sub = ades.name
    return replace(skeleton, indication=indication, sub_indication=sub, notes=(
        library_error(exc, "kiểm tra chữ ký", "validating the signature"),))


def _hash_file_and_byte_ranges(data: bytes, embs: list[EmbeddedPdfSignature], *,
                               file_hash: bool = True) -> str | None:
    """Return the file's SHA-256, computing on the same pass the SHA-256 byte-range digest of
    every signature and handing it to pyHanko's digest cache, so the file is read once.

    With ``file_hash=False`` (the caller knows the file's hash) only the byte ranges are
    hashed and None is returned: the bytes after the last signature's ``/Contents`` are not
    read again.

    Only signatures whose /ByteRange passed ``structure.check_byte_range`` reach here
    ([0, b, c, d] with 0 < b < c and c + d within the file); pyHanko hashes exactly
    data[0:b] + data[c:c+d] for such a range.
    """
    running = hashlib.sha256()
    ranges = sorted(((int(e.byte_range[1]), int(e.byte_range[2]), int(e.byte_range[3]), e)
                     for e in embs if e.external_md_algorithm == "sha256"),
                    key=lambda item: item[0])
    with memoryview(data) as view:
        pos = 0
        for len1, start2, len2, emb in ranges:
            running.update(view[pos:len1])
            pos = len1
            own = running.copy()
            own.update(view[start2:start2 + len2])
            emb.external_digests["sha256"] = own.digest()
        if not file_hash:
            return None
        running.update(view[pos:])
    return running.hexdigest()


def signed_revision(data: bytes, signature_index: int) -> bytes:
    """Return the bytes signature ``signature_index`` covers ("view as signed")."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        fields, _ = _signature_fields(reader)
        fld = fields[signature_index]
        byte_range = fld.sig_object.get("/ByteRange")
        contents = fld.sig_object.get("/Contents")
    except Exception as exc:
        raise SignatureNotFoundError(details={"index": signature_index,
                                              "cause": type(exc).__name__}) from exc
    problems = structure.check_byte_range(data, byte_range, _bytes_or_none(contents))
    if problems:
        raise SignatureNotFoundError(details={"index": signature_index,
                                              "problems": [p.code for p in problems]})
    _, _, start2, len2 = (int(x) for x in byte_range)
    return data[: start2 + len2]


def _signature_fields(reader: PdfFileReader) -> tuple[list[_Field], list[tuple[str, Any]]]:
    """Scan the signature fields once: the filled ones in signing order, and every field."""
    out = []
    every = []
    for name, value, field_ref in enumerate_sig_fields(reader, filled_status=None):
        every.append((name, field_ref))
        if not value:  # pyHanko's own notion of "filled"
            continue
        sig_object = value.get_object()
        end = float("inf")
        try:
            br = sig_object.get("/ByteRange")
            end = int(br[2]) + int(br[3])
        except Exception:  # noqa: S110 - malformed ByteRange is reported later
            pass
        out.append(_Field(name, sig_object, field_ref.get_object(), end))
    out.sort(key=lambda f: f.end)
    return out, every


def _kind(fld: _Field) -> str:
    try:
        is_ts = fld.sig_object.get("/Type") == "/DocTimeStamp" or (
            fld.sig_object.get("/SubFilter") == "/ETSI.RFC3161")
    except Exception:
        is_ts = False
    return "document_timestamp" if is_ts else "signature"


def _bytes_or_none(value: object) -> bytes | None:
    if isinstance(value, generic.ByteStringObject | generic.TextStringObject):
        return bytes(value.original_bytes)
    return None


def _doc_timestamp_times(fields: list[_Field]) -> list[tuple[float, datetime]]:
    out = []
    for fld in fields:
        if _kind(fld) != "document_timestamp":
            continue
        try:
            token = cms.ContentInfo.load(_bytes_or_none(fld.sig_object.get("/Contents")))
            out.append((fld.end, _tst_time(token)))
        except Exception:  # noqa: S112 - a broken timestamp gets its own report
            continue
    return out


def _tst_time(token: cms.ContentInfo) -> datetime:
    content = token["content"]["encap_content_info"]["content"].parsed
    if not isinstance(content, tsp.TSTInfo):
        content = tsp.TSTInfo.load(content.dump())
    return content["gen_time"].native


def _signature_tst_time(signer_info: cms.SignerInfo) -> datetime | None:
    attrs = signer_info["unsigned_attrs"]
    if not attrs:  # absent (Void) or empty; .native would decode the whole token
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            return _tst_time(attr["values"][0])
    return None


def _precheck(data: bytes, fld: _Field, kind: str) -> tuple[Indication, list[Note]] | None:
    """Check the signature dictionary before pyHanko sees it (USF, wrapping)."""
    sig = fld.sig_object
    if not isinstance(sig, generic.DictionaryObject):
        return Indication.INDETERMINATE, [note(
            "SIG_DICT_MISSING", Severity.ERROR, "Trường chữ ký không chứa từ điển chữ ký.",
            "The signature field holds no signature dictionary.")]
    problems: list[Note] = []
    filt = sig.get("/Filter")
    if not isinstance(filt, generic.NameObject):
        problems.append(note("FILTER_INVALID", Severity.ERROR,
                             "Thiếu /Filter hoặc /Filter không phải là tên.",
                             "/Filter is missing or not a name."))
    subfilter = sig.get("/SubFilter")
    allowed = _TS_SUBFILTERS if kind == "document_timestamp" else _SIG_SUBFILTERS
    if subfilter not in allowed:
        problems.append(note("SUBFILTER_UNSUPPORTED", Severity.ERROR,
                             f"/SubFilter {subfilter} không được hỗ trợ (chấp nhận: "
                             f"{', '.join(sorted(allowed))}).",
                             f"/SubFilter {subfilter} is not supported (accepted: "
                             f"{', '.join(sorted(allowed))})."))
    contents = _bytes_or_none(sig.get("/Contents"))
    if not contents or not contents.rstrip(b"\0"):
        problems.append(note("CONTENTS_MISSING", Severity.ERROR,
                             "/Contents bị thiếu, rỗng hoặc không phải chuỗi.",
                             "/Contents is missing, empty or not a string."))
    if problems:
        return Indication.INDETERMINATE, problems
    layout = structure.check_byte_range(data, sig.get("/ByteRange"), contents)
    if layout:
        malformed = any(n.code == "BYTERANGE_MALFORMED" for n in layout)
        return (Indication.INDETERMINATE if malformed else Indication.TOTAL_FAILED), layout
    return None


def _validate_field(
    reader: PdfFileReader,
    prep: _Prepared,
    trust: TrustStore,
    knowledge: ev.Knowledge,
    all_fields: list[tuple[str, Any]],
    *,
    allow_fetching: bool,
    timeout: float | None,
    now: datetime,
    doc_ts_times: list[tuple[float, datetime]],
    captured: list[etsi.Captured] | None = None,
) -> SignatureReport:
    emb, fld, skeleton = prep.emb, prep.field, prep.skeleton
    assert emb is not None  # a field pyHanko could not open has its report already
    local = knowledge.with_cms(emb.signed_data)
    if skeleton.kind == "document_timestamp":
        return _validate_doc_timestamp(emb, skeleton, local, allow_fetching, timeout, now)

    tst_time = _signature_tst_time(emb.signer_info)
    later_doc_ts = [t for end, t in doc_ts_times if end > fld.end]
    # Validation with time: judge the signer's chain at the signature timestamp, and the
    # timestamp's chain at the oldest later document timestamp (B-LTA) or now.
    ts_moment = min(later_doc_ts) if later_doc_ts else now
    contexts: list[ValidationContext] = []
    status = _run(emb, local, allow_fetching, timeout, now, tst_time, ts_moment,
                  contexts=contexts)
    ts = status.timestamp_validity
    ts_ok = ts is not None and ts.intact and ts.valid and ts.trusted
    if tst_time is not None and not ts_ok:
        status = _run(emb, local, allow_fetching, timeout, now, None, ts_moment, skip_diff=True,
                      keep=status, contexts=contexts)
    if allow_fetching:  # what pyHanko fetched online is reported (origin "fetched") and kept
        local = local.with_fetched(contexts)
    if captured is not None:
        captured.append(etsi.Captured(fld.name, emb, status))
    return _build_report(emb, skeleton, status, local, knowledge, all_fields,
                         tst_time if ts_ok else None, later_doc_ts, now)


def _run(emb: EmbeddedPdfSignature, local: ev.Knowledge, allow_fetching: bool,
         timeout: float | None, now: datetime, tst_time: datetime | None, ts_moment: datetime,
         *, skip_diff: bool = False, keep: PdfSignatureStatus | None = None,
         contexts: list[ValidationContext] | None = None) -> PdfSignatureStatus:
    signer_vc = local.context(moment=tst_time or now, allow_fetching=allow_fetching,
                              retroactive=tst_time is not None, timeout=timeout)
    ts_vc = signer_vc if tst_time is None and ts_moment == now else local.context(
        moment=ts_moment, allow_fetching=allow_fetching, retroactive=ts_moment != now,
        timeout=timeout)
    if contexts is not None:
        contexts.extend((signer_vc, ts_vc))
    status = validate_pdf_signature(emb, signer_vc, ts_vc, diff_policy=DEFAULT_DIFF_POLICY,
                                    skip_diff=skip_diff)
    if keep is not None:
        # keep the diff analysis of the first run
        status = replace(status, coverage=keep.coverage, diff_result=keep.diff_result,
                         docmdp_ok=keep.docmdp_ok)
    return status


def _validate_doc_timestamp(emb: EmbeddedPdfSignature, skeleton: SignatureReport,
                            local: ev.Knowledge, allow_fetching: bool, timeout: float | None,
                            now: datetime) -> SignatureReport:
    vc = local.context(moment=now, allow_fetching=allow_fetching, retroactive=False,
                       timeout=timeout)
    status = validate_pdf_timestamp(emb, vc)
    indication, sub, notes = _indication_from_status(status, None)
    signer = ev.cert_info(status.signing_cert)
    return replace(
        skeleton, indication=indication, sub_indication=sub,
        signer=signer, chain=ev.chain_infos(status.validation_path if status.trusted else None),
        trust_anchor=ev.anchor_name(status.validation_path if status.trusted else None),
        trust_set=ev.anchor_set(status.validation_path if status.trusted else None, local.trust),
        timestamp_time=status.timestamp, timestamp_authority=signer.subject,
        timestamp_valid=status.valid and status.intact, intact=status.intact,
        crypto_valid=status.valid, coverage=_coverage_name(status.coverage),
        revision=emb.signed_revision, signed_length=_signed_length(emb),
        modification_level=_mod_level(status.diff_result),
        digest_algorithm=status.md_algorithm,
        signature_algorithm=status.pkcs7_signature_mechanism,
        sub_filter=str(emb.sig_object.get("/SubFilter")),
        validation_time=now, notes=tuple(notes) + tuple(modification_notes(status.diff_result)),
        evidence=ev.evidence_for(status, local, emb.signed_data),
    )


def _indication_from_status(status: PdfSignatureStatus | DocumentTimestampStatus,
                            tst_time: datetime | None) -> tuple[Indication, str | None, list[Note]]:
    notes: list[Note] = []
    if not status.intact:
        notes.append(note("HASH_MISMATCH", Severity.ERROR,
                          "Giá trị băm của tài liệu không khớp với giá trị đã ký: nội dung đã "
                          "bị thay đổi.",
                          "The document hash does not match the signed hash: the content was "
                          "changed."))
        return Indication.TOTAL_FAILED, "HASH_FAILURE", notes
    if not status.valid:
        notes.append(note("SIGNATURE_VALUE_INVALID", Severity.ERROR,
                          "Giá trị chữ ký không khớp với khóa công khai của chứng thư.",
                          "The signature value does not match the certificate's public key."))
        return Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE", notes
    coverage = status.coverage
    if coverage is not None and coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        notes.append(note("COVERAGE_UNCLEAR", Severity.ERROR,
                          "Chữ ký không bao trùm trọn một phiên bản của tài liệu.",
                          "The signature does not cover a complete revision of the document."))
        return Indication.TOTAL_FAILED, FORMAT_FAILURE, notes
    indic = status.trust_problem_indic
    if indic is not None:
        notes.append(ev.trust_problem_note(getattr(indic, "name", str(indic))))
        if isinstance(indic, AdESFailure):
            return Indication.TOTAL_FAILED, indic.name, notes
        if isinstance(indic, AdESIndeterminate):
            return Indication.INDETERMINATE, indic.name, notes
        return Indication.INDETERMINATE, str(indic), notes
    if status.validation_path is None:
        return Indication.INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND", notes
    docmdp_ok = getattr(status, "docmdp_ok", None)
    diff = getattr(status, "diff_result", None)
    if isinstance(diff, SuspiciousModification) or docmdp_ok is False or (
        diff is not None and diff.modification_level == ModificationLevel.OTHER
    ):
        notes.append(note("MODIFIED_AFTER_SIGNING", Severity.ERROR,
                          "Tài liệu đã bị sửa đổi sau khi ký theo cách không được phép: chữ ký "
                          "không bảo đảm nội dung hiện tại. Xem bản đã ký để so sánh.",
                          "The document was modified after signing in a way that is not "
                          "allowed: the signature does not vouch for the current content. "
                          "Open the signed revision to compare."))
        return Indication.TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE", notes
    return Indication.TOTAL_PASSED, None, notes


def _build_report(emb: EmbeddedPdfSignature, skeleton: SignatureReport,
                  status: PdfSignatureStatus, local: ev.Knowledge, knowledge: ev.Knowledge,
                  all_fields: list[tuple[str, Any]], tst_time: datetime | None,
                  later_doc_ts: list[datetime], now: datetime) -> SignatureReport:
    indication, sub, notes = _indication_from_status(status, tst_time)
    ts = status.timestamp_validity
    ts_ok = ts is not None and ts.intact and ts.valid and ts.trusted
    if ts is not None and not ts_ok and indication is Indication.TOTAL_PASSED:
        indication, sub = Indication.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE"
        notes.append(note("TIMESTAMP_INVALID", Severity.ERROR,
                          "Dấu thời gian của chữ ký không hợp lệ hoặc không được tin cậy.",
                          "The signature timestamp is invalid or not trusted."))
    signer = ev.cert_info(status.signing_cert)
    level, level_notes = ev.pades_level(emb, knowledge, ts is not None, bool(later_doc_ts))
    notes.extend(level_notes)
    notes.extend(modification_notes(status.diff_result))
    notes.extend(ev.algorithm_notes(status.md_algorithm, status.pkcs7_signature_mechanism,
                                    status.signing_cert))
    revocation = local.revocation_for(status.signing_cert, status.validation_path,
                                      status.signer_reported_dt or tst_time or now)
    if status.revoked:
        rd = status.revocation_details
        revocation = replace(revocation, status="revoked",
                             revocation_time=rd.revocation_date if rd is not None else None)
    elif revocation.status == "revoked" and indication is Indication.TOTAL_PASSED:
        # defence in depth: signature-checked revocation data says revoked, pyHanko did not
        proven_before = tst_time is not None and revocation.revocation_time is not None and (
            tst_time < revocation.revocation_time)
        if not proven_before:
            after = tst_time is not None
            indication = Indication.TOTAL_FAILED if after else Indication.INDETERMINATE
            sub = "REVOKED" if after else "REVOKED_NO_POE"
    notes.extend(ev.revocation_notes(revocation))
    mdp = emb.docmdp_level
    if mdp is not None:
        notes.extend(_visible_later_signatures(all_fields, _changed_fields(status.diff_result)))
    return replace(
        skeleton,
        indication=indication,
        sub_indication=sub,
        signer=signer,
        chain=ev.chain_infos(status.validation_path if status.trusted else None),
        trust_anchor=ev.anchor_name(status.validation_path if status.trusted else None),
        trust_set=ev.anchor_set(status.validation_path if status.trusted else None, local.trust),
        signing_time=status.signer_reported_dt,
        timestamp_time=ts.timestamp if ts is not None else None,
        timestamp_authority=ev.cert_info(ts.signing_cert).subject if ts is not None else None,
        timestamp_valid=ts_ok if ts is not None else None,
        validation_time=tst_time or now,
        intact=status.intact,
        crypto_valid=status.valid,
        coverage=_coverage_name(status.coverage),
        revision=emb.signed_revision,
        signed_length=_signed_length(emb),
        modification_level=_mod_level(status.diff_result),
        changed_fields=_changed_fields(status.diff_result),
        docmdp_level=mdp.value if mdp is not None else None,
        docmdp_ok=status.docmdp_ok,
        level=level,
        sub_filter=str(emb.sig_object.get("/SubFilter")),
        digest_algorithm=status.md_algorithm,
        signature_algorithm=status.pkcs7_signature_mechanism,
        reason=_text(emb.sig_object.get("/Reason")),
        location=_text(emb.sig_object.get("/Location")),
        revocation=revocation,
        notes=tuple(notes),
        evidence=ev.evidence_for(status, local, emb.signed_data),
    )


def _visible_later_signatures(all_fields: list[tuple[str, Any]],
                              changed: tuple[str, ...]) -> list[Note]:
    """Warn about signature widgets added after a certification (Sneaky Signature attack)."""
    visible = []
    for name, field_ref in all_fields:
        if name not in changed:
            continue
        fld = field_ref.get_object()
        widgets = [k.get_object() for k in fld.get("/Kids", ())] or [fld]
        for widget in widgets:
            try:
                x1, y1, x2, y2 = (float(v) for v in widget.get("/Rect", (0, 0, 0, 0)))
            except (TypeError, ValueError):
                continue
            if abs(x2 - x1) * abs(y2 - y1) > 0:
                visible.append(name)
    if not visible:
        return []
    names = ", ".join(sorted(set(visible)))
    return [note("VISIBLE_SIGNATURE_AFTER_CERTIFICATION", Severity.WARNING,
                 f"Sau chữ ký chứng thực có thêm chữ ký hiển thị ({names}); hình hiển thị của "
                 "nó có thể che nội dung tài liệu: hãy xem bản đã ký.",
                 f"A visible signature was added after the certification ({names}); its "
                 "appearance may cover document content: open the signed revision.")]


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


def _signed_length(emb: EmbeddedPdfSignature) -> int | None:
    try:
        return int(emb.byte_range[2]) + int(emb.byte_range[3])
    except Exception:
        return None


def _coverage_name(coverage: SignatureCoverageLevel | None) -> str | None:
    return coverage.name if coverage is not None else None


def _mod_level(diff: DiffResult | SuspiciousModification | None) -> str | None:
    if isinstance(diff, SuspiciousModification):
        return ModificationLevel.OTHER.name
    if diff is None:
        return None
    return diff.modification_level.name


def _changed_fields(diff: DiffResult | SuspiciousModification | None) -> tuple[str, ...]:
    if diff is None or isinstance(diff, SuspiciousModification):
        return ()
    return tuple(sorted(diff.changed_form_fields))

