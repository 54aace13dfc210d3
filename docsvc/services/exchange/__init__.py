"""Exchange use cases (QCVN 102 edXML): send a registered document, let linked systems pull and
acknowledge what is addressed to them, receive their packages, report and follow statuses.

A package is built, validated and (with an agency key) signed once per attachment encoding
(raw, or zipped like the official SDK for the organisations whose directory entry says
``zip_attachments``), stored once as a blob, and pointed at by one ``Message`` per recipient.
Recipients whose registry is kept here ("hosted") receive at once: the package becomes an
incoming document and status 01 goes back. Others pull through the inbox (or, with an
endpoint, will be pushed to). One commit per use case.

Modules, each importing only those before it: ``errors``; ``config`` (configuration, agency key,
receipts); ``messages`` (message rows and their stored packages); ``reports`` (status packages
out and in); ``withdrawal`` (removing received content); ``arrival`` (a package reaches a
recipient hosted here); then the use cases ``sending`` (also replacements), ``flows`` (update,
revocation, take-back), ``statuses``, ``mailbox`` (the pull side) and ``receiving`` (submissions).
"""

from docsvc.services.exchange.config import (
    AgencyKey,
    ExchangeConfig,
    config_from_settings,
    load_agency_key,
    load_demo_agency_key,
    verify_receipt,
)
from docsvc.services.exchange.errors import (
    AckConflictError,
    DocumentNotSendableError,
    NotRevocableError,
    NotUpdatableError,
    ReplacementRefusedError,
    SenderMismatchError,
    StatusTransitionError,
    TakeBackRefusedError,
    UnknownDocumentError,
    XmlSignatureRequiredError,
)
from docsvc.services.exchange.flows import (
    UpdateResult,
    request_takeback,
    revoke_document,
    update_document,
)
from docsvc.services.exchange.mailbox import (
    ack_message,
    count_unacknowledged,
    fetch_message,
    inbox,
    message_to_dict,
    note_processing,
    sent_messages,
)
from docsvc.services.exchange.receiving import submit_package
from docsvc.services.exchange.sending import SendResult, send_document
from docsvc.services.exchange.statuses import (
    CLERK_CODES,
    document_statuses,
    document_trace,
    report_status,
)

__all__ = [
    "CLERK_CODES",
    "AckConflictError",
    "AgencyKey",
    "DocumentNotSendableError",
    "ExchangeConfig",
    "NotRevocableError",
    "NotUpdatableError",
    "ReplacementRefusedError",
    "SendResult",
    "SenderMismatchError",
    "StatusTransitionError",
    "TakeBackRefusedError",
    "UnknownDocumentError",
    "UpdateResult",
    "XmlSignatureRequiredError",
    "ack_message",
    "config_from_settings",
    "count_unacknowledged",
    "document_statuses",
    "document_trace",
    "fetch_message",
    "inbox",
    "load_agency_key",
    "load_demo_agency_key",
    "message_to_dict",
    "note_processing",
    "report_status",
    "request_takeback",
    "revoke_document",
    "send_document",
    "sent_messages",
    "submit_package",
    "update_document",
    "verify_receipt",
]
