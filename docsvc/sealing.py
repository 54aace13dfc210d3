"""Sealing of the secrets docsvc must keep whole to use them: peer tokens (push delivery) and VXP
shared secrets (the SDK's HMAC needs the secret itself). One sealer, with key rotation.

A sealed value is ``f1:`` + a Fernet token (AES-128-CBC + HMAC-SHA256) of ``purpose``, the row
it belongs to (``subject``) and the secret, so a value copied to another row or used for another
purpose does not open. Keys are configuration (``sealing_keys(settings)``): the first seals,
every one opens (``MultiFernet``), so a key is rotated by putting a new one first, running
``docsvc secrets reseal`` and then dropping the old one. Values sealed by the two AES-256-GCM
sealers this module replaced (``v1:`` peer tokens, ``vxp1:`` VXP secrets) still open, and
``reseal`` turns them into ``f1:`` values.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from docsvc.config import Settings, sealing_keys
from docsvc.errors import ConfigError

PEER_TOKEN = "peer-token"  # noqa: S105 - a purpose label, not a secret
"""Purpose: the token a peer docsvc issued for us (subject: its OrganId)."""
VXP_SECRET = "vxp-secret"  # noqa: S105 - a purpose label, not a secret
"""Purpose: the shared secret of a VXP system (subject: its VXP system id)."""
SIGNER_KEY = "signer-key"
"""Purpose: a signer profile's uploaded PKCS#12 and its passphrase (subject: the profile id)."""
MIN_KEY_LENGTH = 32
PREFIX = "f1:"
_FERNET_INFO = b"docsvc/sealing/fernet/v1"


@dataclass(frozen=True)
class _LegacyFormat:
    """An AES-256-GCM format of the first sealers: HKDF info and associated data per subject."""

    purpose: str
    info: bytes
    aad_prefix: bytes


_LEGACY = {
    "v1:": _LegacyFormat(PEER_TOKEN, b"docsvc peer token v1", b""),
    "vxp1:": _LegacyFormat(VXP_SECRET, b"docsvc/vxp/system-secret/v1", b"docsvc-vxp-secret\x00"),
}


class SealError(ConfigError):
    """A stored secret does not open: wrong or retired key, another row's value, or tampering."""

    code = "sealed_secret_unreadable"


def _hkdf(material: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material.encode())


def _framed(purpose: str, subject: str) -> bytes:
    return purpose.encode() + b"\x00" + subject.encode() + b"\x00"


class Sealer:
    """Seals and opens secrets with ``keys`` (configuration, 32+ characters each, current first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        keys = tuple(dict.fromkeys(keys))
        if not keys:
            raise ConfigError("Không có khóa để mã hóa bí mật lưu trữ.", "No key to seal stored secrets.")
        if any(len(key) < MIN_KEY_LENGTH for key in keys):
            raise ConfigError(f"Khóa mã hóa bí mật quá ngắn (cần ≥ {MIN_KEY_LENGTH} ký tự).",
                              f"A sealing key is too short ({MIN_KEY_LENGTH}+ characters).")
        self._keys = keys
        self._fernets = [Fernet(base64.urlsafe_b64encode(_hkdf(k, _FERNET_INFO))) for k in keys]
        self._multi = MultiFernet(self._fernets)

    def seal(self, secret: str, *, purpose: str, subject: str) -> str:
        """Return ``secret`` sealed with the current key, bound to ``purpose`` and ``subject``."""
        return PREFIX + self._multi.encrypt(_framed(purpose, subject) + secret.encode()).decode("ascii")

    def open(self, sealed: str, *, purpose: str, subject: str) -> str:
        """Return the secret in ``sealed`` (any configured key, or a first-format value).

        Raises SealError when no key opens it or it belongs to another purpose or row.
        """
        details = {"purpose": purpose, "subject": subject}
        if sealed.startswith(PREFIX):
            try:
                plain = self._multi.decrypt(sealed[len(PREFIX):].encode("ascii"))
            except (InvalidToken, UnicodeEncodeError) as exc:
                raise _unreadable(details) from exc
            frame = _framed(purpose, subject)
            if not plain.startswith(frame):
                raise _unreadable(details)
            return plain[len(frame):].decode()
        prefix = next((p for p in _LEGACY if sealed.startswith(p)), None)
        if prefix is None or _LEGACY[prefix].purpose != purpose:
            raise _unreadable(details)
        return self._open_legacy(_LEGACY[prefix], sealed[len(prefix):], subject, details)

    def _open_legacy(self, fmt: _LegacyFormat, body: str, subject: str, details: dict[str, str]) -> str:
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise _unreadable(details) from exc
        for key in self._keys:
            try:
                plain = AESGCM(_hkdf(key, fmt.info)).decrypt(raw[:12], raw[12:],
                                                             fmt.aad_prefix + subject.encode())
            except (InvalidTag, ValueError):
                continue
            return plain.decode()
        raise _unreadable(details)

    def is_current(self, sealed: str) -> bool:
        """Tell whether ``sealed`` is already sealed with the current key (no reseal needed)."""
        if not sealed.startswith(PREFIX):
            return False
        try:
            self._fernets[0].decrypt(sealed[len(PREFIX):].encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def reseal(self, sealed: str, *, purpose: str, subject: str) -> str:
        """Return ``sealed`` opened and sealed again with the current key (unchanged if current)."""
        if self.is_current(sealed):
            return sealed
        return self.seal(self.open(sealed, purpose=purpose, subject=subject), purpose=purpose,
                         subject=subject)


def _unreadable(details: dict[str, str]) -> SealError:
    return SealError("Không mở được bí mật đã lưu: khóa cấu hình sai hoặc đã đổi, hoặc dữ liệu bị sửa.",
                     "A stored secret cannot be opened: wrong or changed configured key, "
                     "or tampered data.", details=details)


def sealer_from_settings(settings: Settings) -> Sealer:
    """Return the sealer of an instance (keys: ``docsvc.config.sealing_keys``)."""
    return Sealer(sealing_keys(settings))
