"""The ETSI TS 119 102-2 validation report (XML) of a verification, built with pyHanko's own
generator (its ``etsi`` extra), so the XML carries pyHanko's signature identifiers, signed
attributes and validation objects, while the indications are docsvc's verdict.

pyHanko 0.38 reports one signature per call and derives the indication from its own AdES
process; docsvc's verdict adds what that process does not check (bytes after %%EOF, shadow
attacks, the PDF modification analysis), so each signature's status is replaced by ours.
Document timestamps are not reported here (pyHanko has no report form for them yet).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pyhanko.generated.etsi import ts_11910202
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation.ades import (
    AdESBasicValidationResult,
    AdESWithTimeValidationResult,
    ValidationObjectSet,
)
from pyhanko.sign.validation.report import tools as pyhanko_report
from pyhanko_certvalidator.ltv.poe import ValidationObject, ValidationObjectType

from docsvc.verify.report import DocumentReport, Indication, SignatureReport

MEDIA_TYPE = "application/xml"
_MAIN = {
    Indication.TOTAL_PASSED: "urn:etsi:019102:mainindication:total-passed",
    Indication.TOTAL_FAILED: "urn:etsi:019102:mainindication:total-failed",
    Indication.INDETERMINATE: "urn:etsi:019102:mainindication:indeterminate",
}


@dataclasses.dataclass(frozen=True)
class Captured:
    """What validating one signature left behind for the XML report."""

    field_name: str
    embedded: Any
    """pyHanko's ``EmbeddedPdfSignature``."""
    status: Any
    """pyHanko's ``PdfSignatureStatus`` of the run whose verdict docsvc kept."""


def _sub_indication_urn(name: str) -> str:
    return f"urn:etsi:019102:subindication:{name}"


def _validation_objects(status: Any) -> list[ValidationObject]:
    """The signer's certificate and the path it was judged on."""
    certs = []
    if status.signing_cert is not None:
        certs.append(status.signing_cert)
    path = getattr(status, "validation_path", None)
    if path is not None:
        certs.extend(c for c in path if c is not None and hasattr(c, "dump"))
    return [ValidationObject(object_type=ValidationObjectType.CERTIFICATE, value=c) for c in certs]


def _signature_report(captured: Captured, ours: SignatureReport
                      ) -> tuple[Any, list[ValidationObject]]:
    objects = _validation_objects(captured.status)
    common = {"ades_subindic": AdESPassed.OK, "api_status": captured.status, "failure_msg": None,
              "validation_objects": ValidationObjectSet(objects)}
    best: datetime | None = ours.timestamp_time if ours.timestamp_valid else None
    result = (AdESWithTimeValidationResult(**common, best_signature_time=best,
                                           signature_not_before_time=None)
              if best is not None else AdESBasicValidationResult(**common))
    single = pyhanko_report._generate_report(captured.embedded, result)
    status = ts_11910202.ValidationStatusType(
        main_indication=_MAIN[ours.indication],
        sub_indication=(_sub_indication_urn(ours.sub_indication),) if ours.sub_indication else (),
    )
    return dataclasses.replace(single, signature_validation_status=status), objects


def validation_report_xml(report: DocumentReport, captured: Iterable[Captured]) -> str:
    """Return the ETSI TS 119 102-2 ``ValidationReport`` of ``report`` as XML text."""
    from xsdata.formats.dataclass.serializers import XmlSerializer
    from xsdata.formats.dataclass.serializers.config import SerializerConfig

    by_name = {s.field_name: s for s in report.signatures if s.kind == "signature"}
    singles, objects = [], []
    for item in captured:
        ours = by_name.get(item.field_name)
        if ours is None:
            continue
        single, used = _signature_report(item, ours)
        singles.append(single)
        objects.extend(used)
    unique = {pyhanko_report.derive_validation_object_identifier(o): o for o in objects}
    xml_report = ts_11910202.ValidationReport(
        signature_validation_report=tuple(singles),
        signature_validation_objects=ts_11910202.ValidationObjectListType(
            tuple(pyhanko_report._package_validation_object(o) for o in unique.values()))
        if unique else None,
    )
    serializer = XmlSerializer(config=SerializerConfig(indent="  "))
    return serializer.render(xml_report, ns_map=pyhanko_report.NAMESPACES)
