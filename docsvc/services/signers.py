"""Signer profiles and the keys of one process: register a profile after opening its key
once, and ``SigningTools``, which opens each profile's key on first use and keeps it.

Key material enters by upload (the PKCS#12 and its passphrase are stored sealed, the picture
as checked PNG bytes) or as a PKCS#11 token label the operator granted to the agency. Only the
local operator (CLI) may name files or environment variables; what it names is read once and
stored like an upload. A certificate must belong to the profile's agency unless the operator
overrides that explicitly.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from dataclasses import replace as replaced
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder, load_certs_from_pemder_data
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.config import Settings
from docsvc.errors import (
    BadRequestError,
    ConflictError,
    DocsvcError,
    PermissionDeniedError,
    UnprocessableError,
)
from docsvc.models import Organization, SignerProfile, SignerTokenGrant
from docsvc.models.signing import KEY_SOURCES, PROFILE_ROLES
from docsvc.pki.demo import DemoPki
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.signing import (
    TokenSigner,
    load_pkcs12_bytes,
    load_pkcs12_signer,
    make_timestamper,
    make_validation_context,
    read_secret,
)
from docsvc.signing.errors import SignerUnavailableError

DEMO_ISSUER_ORGANISATION = "docsvc demo"

# -- errors ----------------------------------------------------------------------------------


class UnknownSignerError(UnprocessableError):
    code = "unknown_signer"
    message_vi = "Không có hồ sơ người ký này."
    message_en = "No such signer profile."


class SignerRoleMismatchError(UnprocessableError):
    code = "signer_role_mismatch"
    message_vi = "Hồ sơ người ký không dùng được cho loại chữ ký này."
    message_en = "This signer profile cannot make this kind of signature."


class LevelUnavailableError(UnprocessableError):
    code = "level_unavailable"
    message_vi = "Không ký được ở mức này với cấu hình hiện tại (thiếu TSA hoặc CA gốc tin cậy)."
    message_en = "This level cannot be produced here (no TSA or no trust roots configured)."


class DemoKeyRefusedError(UnprocessableError):
    code = "demo_key_refused"
    message_vi = "Khóa ký thử nghiệm (demo) không được dùng khi vận hành chính thức."
    message_en = "Demo signing keys are refused in production."


class ServerPathRefusedError(UnprocessableError):
    """Raised before any file is touched, so the answer says nothing about which files exist."""

    code = "server_path_refused"
    message_vi = ("Không nhận đường dẫn tệp hay tên biến môi trường trên máy chủ; hãy tải lên "
                  "tệp khóa PKCS#12 và ảnh chữ ký, hoặc dùng thiết bị ký đã được cấp cho cơ quan.")
    message_en = ("Server file paths and environment variable names are not accepted; upload "
                  "the PKCS#12 key and the picture, or name a token granted to the agency.")


class InvalidPictureError(UnprocessableError):
    code = "invalid_picture"
    message_vi = "Ảnh chữ ký/con dấu phải là tệp PNG hợp lệ (tối đa 2 MB, 4000×4000 điểm ảnh)."
    message_en = "The signature/seal picture must be a valid PNG (at most 2 MB, 4000×4000 px)."


class InvalidKeyFileError(UnprocessableError):
    code = "invalid_key_file"
    message_vi = "Tệp khóa phải là PKCS#12 (.p12/.pfx) không quá 64 KB."
    message_en = "The key file must be a PKCS#12 (.p12/.pfx) of at most 64 KB."


class CertificateAgencyMismatchError(UnprocessableError):
    code = "certificate_agency_mismatch"
    message_vi = ("Chứng thư số không thuộc cơ quan của hồ sơ (tên tổ chức hoặc mã định danh "
                  "khác); chỉ người vận hành mới có thể chấp nhận ngoại lệ.")
    message_en = ("The certificate does not belong to the profile's agency (another organisation "
                  "name or identifier); only the operator can accept an exception.")


class TokenNotGrantedError(UnprocessableError):
    code = "token_not_granted"
    message_vi = "Thiết bị ký này chưa được người vận hành cấp cho cơ quan."
    message_en = "The operator has not granted this token to the agency."


class SignerExistsError(ConflictError):
    code = "signer_exists"
    message_vi = "Đã có hồ sơ người ký với mã này."
    message_en = "A signer profile with this id already exists."


# -- profiles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileSpec:
    """A detached copy of a ``SignerProfile`` row: what is needed to open its key and sign."""

    id: str
    role: str
    organ_id: str
    display_name: str
    key_source: str
    position: str | None = None
    username: str | None = None
    p12_path: str | None = None
    passphrase_file: str | None = None
    passphrase_env: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_key_label: str | None = None
    pkcs11_cert_label: str | None = None
    pin_file: str | None = None
    pin_env: str | None = None
    chain_file: str | None = None
    picture_path: str | None = None
    certificate_sha256: str | None = None
    is_demo: bool = False
    p12_sealed: str | None = field(default=None, repr=False)
    passphrase_sealed: str | None = field(default=None, repr=False)
    chain_pem: str | None = None
    picture_png: bytes | None = field(default=None, repr=False)
    certificate_override: bool = False

    @property
    def names_server_paths(self) -> list[str]:
        """Return the fields that name a server file or environment variable."""
        return [name for name in SERVER_PATH_FIELDS if getattr(self, name)]

    @classmethod
    def of(cls, profile: SignerProfile) -> ProfileSpec:
        """Copy the row's values."""
        return cls(**{f.name: getattr(profile, f.name) for f in fields(cls)})


SERVER_PATH_FIELDS = ("p12_path", "passphrase_file", "passphrase_env", "pin_file", "pin_env",
                      "chain_file", "picture_path")
"""What only the operator may name: files and environment variables of the server."""
MAX_P12_BYTES = 64 * 1024
MAX_PICTURE_BYTES = 2 * 1024 * 1024
MAX_PICTURE_PIXELS = 4000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def key_storage(profile: SignerProfile | ProfileSpec) -> str:
    """Return where a profile's key lives: ``stored`` (sealed upload), ``token`` or ``file``."""
    if profile.key_source == "pkcs11":
        return "token"
    return "stored" if profile.p12_sealed else "file"


def profile_to_dict(profile: SignerProfile) -> dict[str, Any]:
    """Return the JSON form of a profile (no key material, no server path)."""
    return {
        "id": profile.id, "role": profile.role, "organ_id": profile.organ_id,
        "display_name": profile.display_name, "position": profile.position,
        "username": profile.username, "key_source": profile.key_source,
        "key_storage": key_storage(profile),
        "pkcs11_token_label": profile.pkcs11_token_label,
        "pkcs11_key_label": profile.pkcs11_key_label,
        "has_picture": bool(profile.picture_png or profile.picture_path),
        "certificate_override": bool(profile.certificate_override),
        "certificate_subject": profile.certificate_subject,
        "certificate_sha256": profile.certificate_sha256,
        "certificate_not_after": profile.certificate_not_after.isoformat()
        if profile.certificate_not_after else None,
        "is_demo": profile.is_demo, "active": profile.active,
    }


def check_profile_spec(spec: ProfileSpec) -> list[dict[str, str]]:
    """Return every problem of a profile's configuration (empty when usable)."""
    problems = []

    def bad(name: str, message: str) -> None:
        problems.append({"field": name, "message": message})

    if not spec.id or len(spec.id) > 64 or not all(c.isalnum() or c in "-_." for c in spec.id):
        bad("id", "1-64 letters, digits, '-', '_' or '.'")
    if spec.role not in PROFILE_ROLES:
        bad("role", "person or agency")
    if not spec.organ_id or len(spec.organ_id) > 13:
        bad("organ_id", "an OrganId")
    if not spec.display_name:
        bad("display_name", "required")
    if spec.key_source not in KEY_SOURCES:
        bad("key_source", "pkcs12 or pkcs11")
    if spec.key_source == "pkcs12" and not spec.p12_sealed:
        if not spec.p12_path:
            bad("p12", "upload the PKCS#12 key file")
        elif bool(spec.passphrase_file) == bool(spec.passphrase_env):
            bad("passphrase", "give exactly one of passphrase_file or passphrase_env")
    if spec.key_source == "pkcs11":
        if not spec.pkcs11_key_label:
            bad("pkcs11_key_label", "required for a token key")
        if bool(spec.pin_file) == bool(spec.pin_env):
            bad("pin", "give exactly one of pin_file or pin_env")
    if spec.username and spec.role != "person":
        bad("username", "only a person profile is bound to a user")
    if not spec.picture_path and not spec.picture_png and not spec.is_demo:
        bad("picture", "a transparent PNG: the blue signature (person) or red seal (agency)")
    return problems


def check_picture(data: bytes) -> bytes:
    """Return ``data`` if it is a PNG that Pillow decodes within the size bounds, else raise
    ``InvalidPictureError``."""
    if len(data) > MAX_PICTURE_BYTES or not data.startswith(_PNG_MAGIC):
        raise InvalidPictureError(details={"bytes": len(data)})
    from io import BytesIO

    from PIL import Image

    try:
        with Image.open(BytesIO(data)) as image:
            if image.format != "PNG" or max(image.size) > MAX_PICTURE_PIXELS:
                raise InvalidPictureError(details={"size": list(image.size)})
            image.load()
    except InvalidPictureError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds on hostile files
        raise InvalidPictureError(details={"error": type(exc).__name__}) from exc
    return data


def _aad(profile_id: str) -> str:
    return f"signer-profile:{profile_id}"


def seal_key(tools: SigningTools, profile_id: str, p12: bytes, passphrase: bytes
             ) -> tuple[str, str]:
    """Return the PKCS#12 and its passphrase sealed for storage, bound to the profile id."""
    from docsvc.sealing import SIGNER_KEY, sealer_from_settings

    sealer = sealer_from_settings(tools.settings)
    return (sealer.seal(base64.b64encode(p12).decode(), purpose=SIGNER_KEY, subject=_aad(profile_id)),
            sealer.seal(base64.b64encode(passphrase).decode(), purpose=SIGNER_KEY,
                        subject=_aad(profile_id) + ":passphrase"))


def _open_sealed(tools: SigningTools, spec: ProfileSpec) -> tuple[bytes, bytes]:
    from docsvc.sealing import SIGNER_KEY, sealer_from_settings

    sealer = sealer_from_settings(tools.settings)
    return (base64.b64decode(sealer.open(spec.p12_sealed or "", purpose=SIGNER_KEY,
                                         subject=_aad(spec.id))),
            base64.b64decode(sealer.open(spec.passphrase_sealed or "", purpose=SIGNER_KEY,
                                         subject=_aad(spec.id) + ":passphrase")))


def _same_name(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())
    return norm(a) == norm(b)


def certificate_agency_problem(cert: asn1_x509.Certificate, organ_id: str,
                               agency_name: str | None) -> dict[str, str] | None:
    """Return why ``cert`` does not belong to the agency ``organ_id`` (named ``agency_name`` in
    the directory), or None when it does.

    The organisation identifier (X.520 2.5.4.97), when present, must be the OrganId; otherwise
    the organisation name (O) must be the agency's name in the directory.
    """
    subject = cert.subject.native
    identifier = subject.get("organization_identifier")
    if identifier:
        if identifier == organ_id or str(identifier).endswith(":" + organ_id):
            return None
        return {"certificate_organ_id": str(identifier), "organ_id": organ_id}
    organisation = subject.get("organization_name")
    if isinstance(organisation, list):
        organisation = organisation[0] if organisation else None
    if organisation and agency_name and _same_name(str(organisation), agency_name):
        return None
    return {"certificate_organisation": str(organisation or ""), "organ_id": organ_id,
            "agency_name": agency_name or ""}


# -- the keys of one process -------------------------------------------------------------------


@dataclass
class SigningTools:
    """The signing adapters of one process: cached keys, trust roots, the TSA client.

    Built by the faces (one per app or CLI command), never at import time. ``timestamper_factory``
    and ``validation_context_factory`` may be replaced in tests.
    """

    settings: Settings
    _signers: dict[str, tuple[ProfileSpec, Signer, TokenSigner | None]] = field(
        default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _trust: tuple[list[asn1_x509.Certificate], list[asn1_x509.Certificate]] | None = None
    loads: int = 0
    """How many keys were opened (the cache's effect is visible in tests)."""

    def signer(self, spec: ProfileSpec) -> Signer:
        """Return the profile's signer, opening its key on first use only."""
        with self._lock:
            cached = self._signers.get(spec.id)
            if cached is not None and _same_key(cached[0], spec):
                if cached[0] != spec:  # the profile was just registered: check its fingerprint
                    self._refuse_unusable(spec, cached[1])
                    self._signers[spec.id] = (spec, cached[1], cached[2])
                return cached[1]
            if cached is not None and cached[2] is not None:
                cached[2].close()  # one login per token: close before opening again
            self._signers.pop(spec.id, None)
            signer, token = self._open(spec)
            self._signers[spec.id] = (spec, signer, token)
            self.loads += 1
            return signer

    def _open(self, spec: ProfileSpec) -> tuple[Signer, TokenSigner | None]:
        chain = [spec.chain_file] if spec.chain_file else []
        token = None
        if spec.key_source == "pkcs11":
            module = self.settings.pkcs11_module
            if not module:
                raise SignerUnavailableError(
                    "Chưa cấu hình thư viện PKCS#11 (DOCSVC_PKCS11_MODULE).",
                    "No PKCS#11 library configured (DOCSVC_PKCS11_MODULE).")
            token = TokenSigner(module, key_label=spec.pkcs11_key_label or "",
                                cert_label=spec.pkcs11_cert_label,
                                token_label=spec.pkcs11_token_label, pin_file=spec.pin_file,
                                pin_env=spec.pin_env, chain_files=chain,
                                chain=_chain_of(spec))
            signer: Signer = token.signer
        elif spec.p12_sealed:
            p12, passphrase = _open_sealed(self, spec)
            signer = load_pkcs12_bytes(p12, passphrase, chain=_chain_of(spec))
        else:
            signer = load_pkcs12_signer(spec.p12_path or "", passphrase_file=spec.passphrase_file,
                                        passphrase_env=spec.passphrase_env, chain_files=chain)
        try:
            self._refuse_unusable(spec, signer)
        except DocsvcError:
            if token is not None:
                token.close()
            raise
        return signer, token

    def _refuse_unusable(self, spec: ProfileSpec, signer: Signer) -> None:
        cert = signer.signing_cert
        if cert is None:
            raise SignerUnavailableError(details={"signer": spec.id})
        if self.settings.env == "production" and (spec.is_demo or is_demo_certificate(cert)):
            raise DemoKeyRefusedError(details={"signer": spec.id})
        fingerprint = certificate_sha256(cert)
        if spec.certificate_sha256 and spec.certificate_sha256 != fingerprint:
            raise SignerUnavailableError(
                "Khóa ký đã bị thay khác với khi đăng ký hồ sơ; hãy đăng ký lại hồ sơ người ký.",
                "The key differs from the one registered with the profile; register it again.",
                details={"signer": spec.id, "expected": spec.certificate_sha256,
                         "found": fingerprint})

    def close(self) -> None:
        """Close open token sessions and forget the keys."""
        with self._lock:
            for _spec, _signer, token in self._signers.values():
                if token is not None:
                    token.close()
            self._signers.clear()

    def trust(self) -> tuple[list[asn1_x509.Certificate], list[asn1_x509.Certificate]]:
        """Return (trust roots, other certificates) from DOCSVC_TRUST_DIRS (+ the demo root
        outside production)."""
        if self._trust is None:
            files: list[Path] = []
            for folder in self.settings.trust_dirs:
                files += sorted(p for p in Path(folder).iterdir()
                                if p.suffix.lower() in (".pem", ".crt", ".cer", ".der"))
            demo_root = self.settings.pki_dir / "root-ca.pem"
            if self.settings.env != "production" and demo_root.is_file():
                files += [demo_root, self.settings.pki_dir / "chain.pem"]
            roots: list[asn1_x509.Certificate] = []
            others: list[asn1_x509.Certificate] = []
            for cert in load_certs_from_pemder([str(p) for p in files if p.is_file()]):
                (roots if cert.self_signed == "maybe" or cert.self_signed == "yes"
                 else others).append(cert)
            self._trust = (roots, others)
        return self._trust

    timestamper_factory: Callable[[str], TimeStamper] | None = None
    validation_context_factory: Callable[[], ValidationContext] | None = None

    def timestamper(self) -> TimeStamper | None:
        """Return a client of the configured TSA, or None."""
        url = self.settings.tsa_url
        if not url:
            return None
        if self.timestamper_factory is not None:
            return self.timestamper_factory(url)
        return make_timestamper(url, timeout=self.settings.network_timeout_seconds)

    def validation_context(self) -> ValidationContext | None:
        """Return a fresh context (it caches what it fetches) or None without trust roots."""
        if self.validation_context_factory is not None:
            return self.validation_context_factory()
        roots, others = self.trust()
        if not roots:
            return None
        return make_validation_context(roots, other_certs=others, allow_fetching=True,
                                       timeout=self.settings.network_timeout_seconds)

    def default_level(self) -> str:
        """Return B-LT with a TSA and trust roots, B-T with a TSA only, else B-B."""
        if not self.settings.tsa_url:
            return "B-B"
        return "B-LT" if self.trust()[0] else "B-T"


def _chain_of(spec: ProfileSpec) -> list[asn1_x509.Certificate]:
    if not spec.chain_pem:
        return []
    return list(load_certs_from_pemder_data(spec.chain_pem.encode()))


def _same_key(a: ProfileSpec, b: ProfileSpec) -> bool:
    return replaced(a, certificate_sha256=None) == replaced(b, certificate_sha256=None)


def certificate_sha256(cert: asn1_x509.Certificate) -> str:
    """Return the SHA-256 fingerprint of a certificate."""
    return hashlib.sha256(cert.dump()).hexdigest()


def is_demo_certificate(cert: asn1_x509.Certificate) -> bool:
    """Tell whether ``cert`` was issued by the demo PKI (``docsvc pki demo``)."""
    return cert.issuer.native.get("organization_name") == DEMO_ISSUER_ORGANISATION


def add_signer_profile(session: Session, tools: SigningTools, actor: Actor, spec: ProfileSpec,
                       *, replace: bool = False, p12: bytes | None = None,
                       passphrase: bytes | None = None, picture: bytes | None = None,
                       chain_pem: str | None = None) -> SignerProfile:
    """Register a signer profile after opening its key once (wrong passphrase, unusable or
    foreign certificate are refused now, not at the first signature).

    ``p12``/``passphrase``/``picture``/``chain_pem`` are uploaded material, stored sealed
    (the key) or checked (the picture). Only the operator may name server files or variables
    in ``spec``; they are read now and stored like an upload (PINs of tokens excepted). Others
    may name a token only when the operator granted its label to the agency.

    Raises ``ServerPathRefusedError`` (before touching any file), ``TokenNotGrantedError``,
    ``BadRequestError`` (listing every problem), ``SignerExistsError``, ``InvalidKeyFileError``,
    ``InvalidPictureError``, ``WrongPinError``, ``SignerUnavailableError``,
    ``CertificateAgencyMismatchError``, ``DemoKeyRefusedError``.
    """
    if actor.kind != "operator":
        if spec.names_server_paths:
            raise ServerPathRefusedError(details={"fields": spec.names_server_paths})
        if spec.certificate_override or spec.is_demo:
            raise PermissionDeniedError(details={"field": "certificate_override"})
        if spec.key_source == "pkcs11":
            grant = session.get(SignerTokenGrant, spec.pkcs11_token_label or "")
            if grant is None or grant.organ_id != spec.organ_id:
                raise TokenNotGrantedError(details={"pkcs11_token_label":
                                                    spec.pkcs11_token_label or ""})
            spec = replaced(spec, pin_file=grant.pin_file, pin_env=grant.pin_env)
    else:
        spec, p12, passphrase, picture, chain_pem = _read_operator_files(
            spec, p12, passphrase, picture, chain_pem)
    if p12 is not None:
        if not p12 or len(p12) > MAX_P12_BYTES:
            raise InvalidKeyFileError(details={"bytes": len(p12)})
        sealed_key, sealed_passphrase = seal_key(tools, spec.id, p12, passphrase or b"")
        spec = replaced(spec, key_source="pkcs12", p12_sealed=sealed_key,
                        passphrase_sealed=sealed_passphrase)
    if picture is not None:
        spec = replaced(spec, picture_png=check_picture(picture))
    if chain_pem is not None:
        try:
            if not list(load_certs_from_pemder_data(chain_pem.encode())):
                raise ValueError("empty")
        except Exception as exc:  # noqa: BLE001 - asn1crypto/oscrypto raise many kinds
            raise BadRequestError(details={"fields": [{"field": "chain",
                                                       "message": "PEM certificates"}]}) from exc
        spec = replaced(spec, chain_pem=chain_pem)
    problems = check_profile_spec(spec)
    if problems:
        raise BadRequestError(details={"fields": problems})
    existing = session.get(SignerProfile, spec.id)
    if existing is not None and not replace:
        raise SignerExistsError(details={"id": spec.id})
    organisation = session.get(Organization, spec.organ_id)
    agency_name = organisation.name if organisation is not None else None
    session.rollback()  # opening a token may take a while: hold no lock meanwhile
    signer = tools.signer(replaced(spec, certificate_sha256=None))
    cert = signer.signing_cert
    assert cert is not None
    mismatch = certificate_agency_problem(cert, spec.organ_id, agency_name)
    if mismatch is not None and not (actor.kind == "operator" and spec.certificate_override):
        raise CertificateAgencyMismatchError(details=mismatch)
    profile = session.get(SignerProfile, spec.id) or SignerProfile(id=spec.id, created_by=actor.label)
    for name in (f.name for f in fields(ProfileSpec)):
        if name != "id":
            setattr(profile, name, getattr(spec, name))
    profile.certificate_override = mismatch is not None
    profile.certificate_sha256 = certificate_sha256(cert)
    profile.certificate_subject = cert.subject.human_friendly[:300]
    profile.certificate_not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    profile.active = True
    session.add(profile)
    audit.record(session, actor, "signer.add", object_type="signer", object_id=spec.id,
                 organ_id=spec.organ_id,
                 details={"role": spec.role, "key_source": spec.key_source,
                          "key_storage": key_storage(spec),
                          "certificate_sha256": profile.certificate_sha256,
                          "certificate_override": mismatch is not None,
                          "replaced": existing is not None})
    session.commit()
    return profile


def _read_operator_files(spec: ProfileSpec, p12: bytes | None, passphrase: bytes | None,
                         picture: bytes | None, chain_pem: str | None
                         ) -> tuple[ProfileSpec, bytes | None, bytes | None, bytes | None,
                                    str | None]:
    """Read what the operator named (key, passphrase, picture, chain) so that it is stored
    like an upload and every instance reaches it; a token's PIN source stays named."""

    def read(path: str, what_vi: str, what_en: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise SignerUnavailableError(f"Không đọc được {what_vi} {path}.",
                                         f"Cannot read {what_en} {path}.") from exc

    if spec.p12_path and p12 is None:
        p12 = read(spec.p12_path, "tệp khóa", "key file")
        passphrase = read_secret(file=spec.passphrase_file, env=spec.passphrase_env)
    if spec.picture_path and picture is None:
        picture = read(spec.picture_path, "ảnh", "picture")
    if spec.chain_file and chain_pem is None:
        chain_pem = read(spec.chain_file, "tệp chứng thư", "certificate file").decode(
            "ascii", "replace")
    spec = replaced(spec, p12_path=None, passphrase_file=None, passphrase_env=None,
                    picture_path=None, chain_file=None)
    return spec, p12, passphrase, picture, chain_pem


def import_profile_files(session: Session, tools: SigningTools, actor: Actor, profile_id: str, *,
                         certificate_override: bool = False) -> SignerProfile:
    """Store an existing path-based profile's key, picture and chain in the database (the
    operator's migration of profiles registered before uploads), checking its agency again."""
    profile = session.get(SignerProfile, profile_id)
    if profile is None:
        raise UnknownSignerError(details={"signer": profile_id})
    spec = replaced(ProfileSpec.of(profile), certificate_sha256=None,
                    certificate_override=certificate_override or profile.certificate_override)
    return add_signer_profile(session, tools, actor, spec, replace=True)


def grant_token(session: Session, actor: Actor, *, token_label: str, organ_id: str,
                pin_file: str | None, pin_env: str | None) -> SignerTokenGrant:
    """Allow the administrators of ``organ_id`` to name the token ``token_label`` (operator)."""
    if actor.kind != "operator":
        raise PermissionDeniedError()
    if not token_label or bool(pin_file) == bool(pin_env):
        raise BadRequestError(details={"fields": [{"field": "pin",
                                                   "message": "exactly one of pin_file, pin_env"}]})
    grant = session.get(SignerTokenGrant, token_label) or SignerTokenGrant(
        token_label=token_label, created_by=actor.label)
    grant.organ_id, grant.pin_file, grant.pin_env = organ_id, pin_file, pin_env
    session.add(grant)
    audit.record(session, actor, "signer.token_grant", object_type="token",
                 object_id=token_label, organ_id=organ_id, details={})
    session.commit()
    return grant


def list_signer_profiles(session: Session, *, organ_ids: Iterable[str] | None = None
                         ) -> Sequence[SignerProfile]:
    """Return the profiles of the given organisations (all when None), by id."""
    stmt = select(SignerProfile).order_by(SignerProfile.id)
    if organ_ids is not None:
        stmt = stmt.where(SignerProfile.organ_id.in_(sorted(organ_ids)))
    return session.execute(stmt).scalars().all()


def get_profile_spec(session: Session, profile_id: str) -> ProfileSpec:
    """Return an active profile's values or raise ``UnknownSignerError``."""
    profile = session.get(SignerProfile, profile_id)
    if profile is None or not profile.active:
        raise UnknownSignerError(details={"signer": profile_id})
    return ProfileSpec.of(profile)


def demo_profile_specs(pki: DemoPki, *, person_user: str | None = None) -> list[ProfileSpec]:
    """Return the profiles ``demo-person`` and ``demo-agency`` over a demo PKI's RSA keys."""
    from docsvc.pki import demo
    from docsvc.signing.appearance import DEMO_SEAL_PICTURE, DEMO_SIGNATURE_PICTURE

    person, agency = pki["person-rsa"], pki["agency-rsa"]
    return [
        ProfileSpec(id="demo-person", role="person", organ_id=demo.AGENCY_ORGAN_ID,
                    display_name=demo.PERSON_NAME, position=demo.PERSON_TITLE,
                    username=person_user, key_source="pkcs12", p12_path=str(person.p12_path),
                    passphrase_file=str(person.passphrase_path),
                    picture_path=str(DEMO_SIGNATURE_PICTURE), is_demo=True,
                    # the demo person's certificate names the agency only by its O, which
                    # need not be in the directory yet
                    certificate_override=True),
        ProfileSpec(id="demo-agency", role="agency", organ_id=demo.AGENCY_ORGAN_ID,
                    display_name=demo.AGENCY_NAME, key_source="pkcs12",
                    p12_path=str(agency.p12_path), passphrase_file=str(agency.passphrase_path),
                    picture_path=str(DEMO_SEAL_PICTURE), is_demo=True),
    ]


def ensure_allowed_to_manage(actor: Actor, organ_id: str, subordinates: Iterable[str] = ()) -> None:
    """Refuse unless the actor administers ``organ_id`` (or is the local operator)."""
    if actor.kind == "operator":
        return
    if not actor.has_role("admin") or (organ_id != actor.organ_id and organ_id not in set(subordinates)):
        raise PermissionDeniedError()
