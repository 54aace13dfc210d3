"""Authentication of SDK requests (VXP-PROTOCOL.md §2.3) and encryption of the shared secrets.

The SDK signs a compact JSON of its parameters with HMAC-SHA256 keyed by the secret *text*, so
the server must hold the secret itself: it is kept sealed at rest (``docsvc.sealing``, bound to
the system id) and opened only to verify a request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from docsvc.errors import AuthenticationError
from docsvc.sealing import VXP_SECRET, Sealer
from docsvc.vxp.backend import VxpSystem

log = logging.getLogger(__name__)

PREFIX = "XroadVnpt-"
SIGN_HEADER = "XroadVnpt-sign-header"
SIGN_HEADER_KEY = "XroadVnpt-sign-header-key"
HASH_HEADER = "XroadVnpt-hash-header"
_PROTOCOL_HEADERS = frozenset(h.lower() for h in (SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER))
_DUMMY_KEY = secrets.token_bytes(32)
LOG_SKEW_ABOVE = dt.timedelta(hours=24)


class VxpAuthError(AuthenticationError):
    """The request's signature does not verify (every reason gets the same public text)."""

    code = "vxp_auth_failed"
    message_vi = "Xác thực thất bại: mã hệ thống hoặc chữ ký (hash-header) không đúng."
    message_en = "Authentication failed: unknown system id or bad signature (hash-header)."


# -- parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedParams:
    """The parameters of a request, exactly as signed: names without the prefix, in signed order.

    Names that pile up from earlier calls on the client's service object are present too;
    handlers read only the names they expect.
    """

    items: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the value of ``name``: the exact spelling first, else any spelling (case-blind).

        The SDK's map is case-sensitive, so ``docId`` and ``docid`` can both arrive, one of them
        piled up from an earlier call; the exact spelling wins (VXP-PROTOCOL.md §1) and a
        disagreement is logged, since the stale one cannot be told from the request.
        """
        matches = [(key, value) for key, value in self.items if key.lower() == name.lower()]
        if not matches:
            return default
        exact = [value for key, value in matches if key == name]
        chosen = exact[0] if exact else matches[0][1]
        if any(value != chosen for _, value in matches):
            log.warning("VXP parameter %s: spellings %s disagree; using %r", name,
                        ", ".join(key for key, _ in matches), chosen[:80])
        return chosen

    def names(self) -> tuple[str, ...]:
        """Return the signed names in signed order."""
        return tuple(key for key, _ in self.items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)


@dataclass(frozen=True)
class VerifiedRequest:
    """The outcome of a successful verification."""

    system: VxpSystem
    params: SignedParams
    timestamp: dt.datetime | None = None
    """The client's service-object creation time (``ddMMyyyy'T'HHmmss+SSSS``), when parseable."""
    notes: tuple[str, ...] = field(default=())
    """Tolerated oddities worth a log line (skew, unparseable timestamp)."""


# -- verification ----------------------------------------------------------------------------

SystemLookup = Callable[[str], VxpSystem | None]


def verify_request(
    headers: Mapping[str, str],
    lookup: SystemLookup,
    *,
    now: dt.datetime | None = None,
) -> VerifiedRequest:
    """Verify the SDK signature of a request whose ``headers`` hold WSGI (latin-1) strings.

    ``lookup`` returns the system (with its secret) for a system id, or ``None``. Raises
    ``VxpAuthError`` for any failure; the reason goes to the log, not to the client.
    """
    headers = {str(name).lower(): str(value) for name, value in headers.items()}
    raw_header = _header(headers, SIGN_HEADER)
    if raw_header is None:
        _fail("missing XroadVnpt-sign-header", headers)
    raw = _wire_bytes(raw_header)
    try:
        members = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        _fail(f"sign-header is not a UTF-8 JSON object: {exc}", headers)
    if not isinstance(members, list) or not all(isinstance(v, str) for _, v in members):
        _fail("sign-header is not a JSON object of strings", headers)
    if not all(key.startswith(PREFIX) and len(key) > len(PREFIX) for key, _ in members):
        _fail("sign-header has a member without the XroadVnpt- prefix", headers)
    params = SignedParams(tuple((key[len(PREFIX):], value) for key, value in members))

    system_id = params.get("systemid") or ""
    system = lookup(system_id) if system_id else None
    # Compute an HMAC even for an unknown system, so timing does not tell which ids exist.
    key = system.secret.encode("utf-8") if system is not None else _DUMMY_KEY
    expected = hmac.new(key, raw, hashlib.sha256).hexdigest().encode("ascii")
    received = _wire_bytes(_header(headers, HASH_HEADER) or "").strip().lower()
    signature_ok = hmac.compare_digest(expected, received)
    if system is None:
        _fail(f"unknown or inactive system id {system_id!r}", headers)
    if not signature_ok:
        _fail(f"HMAC mismatch for system {system_id!r}", headers)

    key_list = (_header(headers, SIGN_HEADER_KEY) or "").strip()
    if key_list.split(";") != list(params.names()):
        _fail(f"sign-header-key {key_list!r} does not list the signed names in order", headers)
    _check_separate_headers(headers, params)

    timestamp, notes = _read_timestamp(params, now)
    for note in notes:
        log.info("VXP system %s: %s", system.system_id, note)
    return VerifiedRequest(system=system, params=params, timestamp=timestamp, notes=notes)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Return a header from the lower-cased map (names are case-insensitive on the wire)."""
    return headers.get(name.lower())


def _wire_bytes(value: str) -> bytes:
    """Return the header's bytes as received: WSGI servers decode header bytes as latin-1."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # not from a WSGI server (a test client): take the text as UTF-8
        return value.encode("utf-8")


def _pairs_no_duplicates(pairs: list[tuple[str, object]]) -> list[tuple[str, object]]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate member names")
    return pairs


def _check_separate_headers(headers: Mapping[str, str], params: SignedParams) -> None:
    """Reject a separate ``XroadVnpt-<name>`` header that disagrees with its signed value.

    Header names are case-insensitive on the wire, so names that differ only in case
    (``docId``/``docid``) share one header; the servers join those, and they are not compared.
    """
    by_lower: dict[str, list[str]] = {}
    for name, value in params:
        by_lower.setdefault(name.lower(), []).append(value)
    for lower, values in by_lower.items():
        if len(values) != 1 or f"{PREFIX}{lower}" in _PROTOCOL_HEADERS:
            continue
        header = _header(headers, f"{PREFIX}{lower}")
        if header is None:
            continue
        if _wire_bytes(header).strip(b" \t") != values[0].encode("utf-8").strip(b" \t"):
            _fail(f"header {PREFIX}{lower} differs from its signed value", headers)


def _fail(reason: str, headers: Mapping[str, str]) -> NoReturn:
    high = sorted(
        PREFIX + name[len(PREFIX):] for name, value in headers.items()
        if name.lower().startswith(PREFIX.lower()) and any(b > 0x7F for b in _wire_bytes(str(value)))
    )
    log.warning("VXP authentication failed: %s", reason)
    if high:
        raise VxpAuthError(
            VxpAuthError.message_vi + " Tiêu đề " + ", ".join(high) + " chứa byte > 0x7F: giá trị"
            " tiếng Việt có dấu có thể đã bị hỏng trên đường truyền (SDK cắt ký tự khi URL có cổng"
            " tường minh); hãy gửi giá trị ASCII hoặc bỏ cổng khỏi URL.",
            VxpAuthError.message_en + " Header(s) " + ", ".join(high) + " hold bytes above 0x7F:"
            " non-ASCII values may have been mangled in transit (the SDK truncates characters when"
            " the endpoint URL has an explicit port); send ASCII values or drop the port.",
            details={"non_ascii_headers": high},
        )
    raise VxpAuthError()


def parse_sdk_timestamp(text: str) -> dt.datetime:
    """Parse ``ddMMyyyy'T'HHmmss+SSSS`` (the ``+SSSS`` is milliseconds, not a zone): naive."""
    day, _, rest = text.partition("T")
    clock, plus, millis = rest.partition("+")
    if len(day) != 8 or len(clock) != 6 or not plus or not millis.isdigit():
        raise ValueError(f"not an SDK timestamp: {text!r}")
    base = dt.datetime.strptime(day + clock, "%d%m%Y%H%M%S")  # noqa: DTZ007 - client local time
    return base + dt.timedelta(milliseconds=int(millis))


def _read_timestamp(
    params: SignedParams, now: dt.datetime | None
) -> tuple[dt.datetime | None, tuple[str, ...]]:
    """Return the timestamp and log-worthy notes; never refuse (clients resend it for days)."""
    text = params.get("timestamp")
    if not text:
        return None, ("no timestamp",)
    try:
        stamp = parse_sdk_timestamp(text)
    except ValueError:
        return None, (f"unparseable timestamp {text[:40]!r}",)
    now = now or dt.datetime.now()  # noqa: DTZ005 - compared with the client's local time
    skew = now - stamp
    if abs(skew) > LOG_SKEW_ABOVE:
        return stamp, (f"timestamp {text} is {skew} away from now (service object age)",)
    return stamp, ()


# -- secrets at rest ---------------------------------------------------------------------------
# The secrets are sealed by docsvc.sealing (one sealer for every stored secret, with rotation);
# these two keep the VXP names for callers that hold key material rather than a Sealer.


def generate_secret() -> str:
    """Return a new shared secret: 43 URL-safe characters (256 bits), typed into the SDK config."""
    return secrets.token_urlsafe(32)


def encrypt_secret(secret: str, key_material: str | Sequence[str], *, system_id: str) -> str:
    """Return ``secret`` sealed for storage with the first key, bound to ``system_id``."""
    keys = [key_material] if isinstance(key_material, str) else list(key_material)
    return Sealer(keys).seal(secret, purpose=VXP_SECRET, subject=system_id)


def decrypt_secret(token: str, key_material: str | Sequence[str], *, system_id: str) -> str:
    """Return the secret sealed in ``token``; try each key (current first, then retired ones).

    Raises ``ConfigError`` when no key opens it (wrong key, another system's row, tampering).
    """
    keys = [key_material] if isinstance(key_material, str) else list(key_material)
    return Sealer(keys).open(token, purpose=VXP_SECRET, subject=system_id)
