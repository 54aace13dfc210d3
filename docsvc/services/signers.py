"""Signer profiles and the keys of one process: register a profile after opening its key
once, and ``SigningTools``, which opens each profile's key on first use and keeps it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from dataclasses import replace as replaced
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder
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
from docsvc.models import SignerProfile
from docsvc.models.signing import KEY_SOURCES, PROFILE_ROLES
from docsvc.pki.demo import DemoPki
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.signing import TokenSigner, load_pkcs12_signer, make_timestamper, make_validation_context
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

    @classmethod
    def of(cls, profile: SignerProfile) -> ProfileSpec:
        """Copy the row's values."""
        return cls(**{f.name: getattr(profile, f.name) for f in fields(cls)})


def profile_to_dict(profile: SignerProfile) -> dict[str, Any]:
    """Return the JSON form of a profile (secret locations are named, secrets never exist here)."""
    return {
        "id": profile.id, "role": profile.role, "organ_id": profile.organ_id,
        "display_name": profile.display_name, "position": profile.position,
        "username": profile.username, "key_source": profile.key_source,
        "p12_path": profile.p12_path, "passphrase_file": profile.passphrase_file,
        "passphrase_env": profile.passphrase_env,
        "pkcs11_token_label": profile.pkcs11_token_label,
        "pkcs11_key_label": profile.pkcs11_key_label, "pin_file": profile.pin_file,
        "pin_env": profile.pin_env, "picture_path": profile.picture_path,
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
    if spec.key_source == "pkcs12":
        if not spec.p12_path:
            bad("p12_path", "required for a PKCS#12 key")
        if bool(spec.passphrase_file) == bool(spec.passphrase_env):
            bad("passphrase", "give exactly one of passphrase_file or passphrase_env")
    if spec.key_source == "pkcs11":
        if not spec.pkcs11_key_label:
            bad("pkcs11_key_label", "required for a token key")
        if bool(spec.pin_file) == bool(spec.pin_env):
            bad("pin", "give exactly one of pin_file or pin_env")
    if spec.username and spec.role != "person":
        bad("username", "only a person profile is bound to a user")
    if not spec.picture_path and not spec.is_demo:
        bad("picture_path", "a transparent PNG: the blue signature (person) or red seal (agency)")
    if spec.picture_path and not Path(spec.picture_path).is_file():
        bad("picture_path", f"{spec.picture_path} is not a file")
    return problems


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
                                pin_env=spec.pin_env, chain_files=chain)
            signer: Signer = token.signer
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


def _same_key(a: ProfileSpec, b: ProfileSpec) -> bool:
    return replaced(a, certificate_sha256=None) == replaced(b, certificate_sha256=None)


def certificate_sha256(cert: asn1_x509.Certificate) -> str:
    """Return the SHA-256 fingerprint of a certificate."""
    return hashlib.sha256(cert.dump()).hexdigest()


def is_demo_certificate(cert: asn1_x509.Certificate) -> bool:
    """Tell whether ``cert`` was issued by the demo PKI (``docsvc pki demo``)."""
    return cert.issuer.native.get("organization_name") == DEMO_ISSUER_ORGANISATION


def add_signer_profile(session: Session, tools: SigningTools, actor: Actor, spec: ProfileSpec,
                       *, replace: bool = False) -> SignerProfile:
    """Register a signer profile after opening its key once (wrong passphrase, missing file,
    unusable certificate are refused now, not at the first signature).

    Raises ``BadRequestError`` (listing every problem), ``SignerExistsError``,
    ``WrongPinError``, ``SignerUnavailableError``, ``DemoKeyRefusedError``.
    """
    problems = check_profile_spec(spec)
    if problems:
        raise BadRequestError(details={"fields": problems})
    existing = session.get(SignerProfile, spec.id)
    if existing is not None and not replace:
        raise SignerExistsError(details={"id": spec.id})
    session.rollback()  # opening a token or a file may take a while: hold no lock meanwhile
    signer = tools.signer(replaced(spec, certificate_sha256=None))
    cert = signer.signing_cert
    assert cert is not None
    if spec.role == "agency":
        organ = cert.subject.native.get("organization_identifier")
        if organ and organ != spec.organ_id:
            raise SignerRoleMismatchError(
                "Chứng thư số của cơ quan mang mã định danh khác.",
                "The agency certificate carries another OrganId.",
                details={"certificate_organ_id": organ, "organ_id": spec.organ_id})
    profile = session.get(SignerProfile, spec.id) or SignerProfile(id=spec.id, created_by=actor.label)
    for name, value in spec.__dict__.items():
        if name != "id":
            setattr(profile, name, value)
    profile.certificate_sha256 = certificate_sha256(cert)
    profile.certificate_subject = cert.subject.human_friendly[:300]
    profile.certificate_not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    profile.active = True
    session.add(profile)
    audit.record(session, actor, "signer.add", object_type="signer", object_id=spec.id,
                 organ_id=spec.organ_id,
                 details={"role": spec.role, "key_source": spec.key_source,
                          "certificate_sha256": profile.certificate_sha256,
                          "replaced": existing is not None})
    session.commit()
    return profile


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
                    picture_path=str(DEMO_SIGNATURE_PICTURE), is_demo=True),
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
