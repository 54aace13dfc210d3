"""Client side of the national document exchange axis (Trục liên thông văn bản quốc gia): docsvc
calls an axis the way the Government Office's Java SDK does (VXP-PROTOCOL.md). A capability:
it imports nothing above ``docsvc.errors``."""

from docsvc.axis.client import (
    AxisAuthError,
    AxisClient,
    AxisError,
    AxisGarbageError,
    AxisRefusedError,
    AxisTimeoutError,
    AxisTlsError,
    AxisTooLargeError,
    AxisUnreachableError,
    Endpoint,
)
from docsvc.axis.wire import build_request, hash_file, send_edoc_request, unpadded_hex

__all__ = [
    "AxisAuthError",
    "AxisClient",
    "AxisError",
    "AxisGarbageError",
    "AxisRefusedError",
    "AxisTimeoutError",
    "AxisTlsError",
    "AxisTooLargeError",
    "AxisUnreachableError",
    "Endpoint",
    "build_request",
    "hash_file",
    "send_edoc_request",
    "unpadded_hex",
]
