"""Settings: the one reader of ``DOCSVC_*`` environment variables, checked at start-up.

``Settings.from_env()`` collects every problem at once and raises one ``ConfigError`` that
lists them all, so an operator fixes a deployment in one pass.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from docsvc.errors import ConfigError

ENVIRONMENTS = ("development", "test", "production")
BLOB_BACKENDS = ("local", "s3", "memory")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+/?")
DEMO_ORGAN_ID, DEMO_ORGAN_NAME = "000.00.00.H48", "UBND tỉnh Quảng Ngãi"


def _bad_int(problems: list[str], name: str) -> int:
    problems.append(f"DOCSVC_{name}: a whole number (0 or more)")
    return 0


@dataclass(frozen=True)
class Settings:
    """Everything docsvc reads from its environment."""

    env: str = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    """SQLAlchemy URL; empty means SQLite at ``data_dir/docsvc.sqlite3``."""
    blob_backend: str = "local"
    blob_dir: Path | None = None
    """Folder of the local blob store; default ``data_dir/blobs``."""
    s3_endpoint: str = ""
    """``host:port`` of the S3 server (no scheme); ``s3_secure`` chooses https."""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = field(default="", repr=False)
    s3_region: str = ""
    s3_secure: bool = True
    max_upload_bytes: int = 512 * 1024 * 1024
    timezone: str = "Asia/Ho_Chi_Minh"
    """Zone of the agency: decides the calendar year of numbers and the dates of registration."""
    organ_id: str = "000.00.00.H48"
    """OrganId of the agency this instance serves (the default owner of incoming documents)."""
    organ_name: str = ""
    """Name of that agency; ``docsvc init`` puts it in the directory. Empty: the demo province's
    name when ``organ_id`` is the demo default, else the OrganId itself (init warns)."""
    organ_id_allow: frozenset[str] = frozenset()
    """Non-standard OrganIds accepted anyway (``vxp.saas.03``, ``H37.DN.001`` seen in the wild)."""
    trust_dirs: tuple[Path, ...] = ()
    """Folders of trust anchors (PEM/DER), extra intermediates and CRLs (``:``-separated)."""
    tsa_url: str = ""
    """RFC 3161 timestamp authority; with it signatures default to B-LT, without to B-B."""
    revocation_fetching: bool = False
    """Fetch OCSP/CRL online while signing and verifying (with timeouts); off = embedded only."""
    network_timeout_seconds: float = 10.0
    pkcs11_module: str = ""
    """PKCS#11 library for token-held keys (e.g. /usr/lib/softhsm/libsofthsm2.so)."""
    client_cert_header: str = ""
    """Header in which a TLS-terminating proxy passes the client certificate (URL-escaped PEM)."""
    exchange_lease_seconds: int = 300
    """How long a pulled, unacknowledged message stays hidden from the inbox."""
    secret_key: str = field(default="", repr=False)
    """Signs web sessions; in development a random key is kept in ``data_dir/secret_key``."""
    vxp_prefix: str = "/vxp"
    """Path under which the national axis SDK (VXP) operations are served; empty disables them."""
    vxp_key: str = field(default="", repr=False)
    """Encrypts the VXP shared secrets at rest; empty: ``secret_key`` (or the development key)."""
    agency_key_file: Path | None = None
    """PKCS#12 file of the agency's own key: signs outgoing edXML packages and receipts."""
    agency_key_passphrase: str = field(default="", repr=False)
    """Its passphrase (``DOCSVC_AGENCY_KEY_PASSPHRASE`` or a file in ``…_PASSPHRASE_FILE``)."""
    allow_unsigned_packages: bool = False
    """Production only: start without an agency key, sending unsigned packages and receipts."""
    """Former key of the VXP secrets: a sealing key after ``sealing_keys`` (see ``sealing_keys()``)."""
    sealing_keys: tuple[str, ...] = field(default=(), repr=False)
    """Keys that seal stored secrets (peer tokens, VXP secrets), newest first: the first seals,
    all open; see the function ``sealing_keys``."""
    db_timeout_seconds: float = 10.0
    log_level: str = "INFO"
    max_pdf_pages: int = 5000
    """Whole-document operations (upload, verification, extraction, check) refuse more pages."""
    pdf_time_limit_seconds: float = 120.0
    """Wall-clock budget of one whole-document operation (verification, check of a PDF)."""
    trusted_proxies: int = 0
    """How many reverse proxies stand in front (``X-Forwarded-For``/``-Proto``/``-Host`` of
    that many hops are believed: client address for throttling, https for cookies)."""
    secure_cookies: bool | None = None
    """Mark the session cookie ``Secure``; None: in production only."""
    ratelimit_storage_url: str = ""
    """Where Flask-Limiter counts (``redis://host:6379/0`` shared by every instance); empty:
    in the process's memory."""
    login_rate_limit: str = "10 per minute"
    """Password attempts per client address on the login page."""
    auth_failure_rate_limit: str = "30 per minute"
    """Failed bearer authentications per client address before the API answers 429."""
    csrf_time_limit_seconds: int = 3600
    """How long a form's CSRF token stays valid."""
    audit_anchor_seconds: int = 3600
    """How often ``docsvc worker`` anchors the audit chain head (RFC 3161 with the TSA)."""
    jobs: str = "sqlite"
    """Background job queue (huey): ``sqlite`` (a file in the data folder, no server),
    ``redis://host:6379/0`` (several machines) or ``immediate`` (run in the caller; tests)."""
    ocr: str = "auto"
    """``auto``: OCR scans when ocrmypdf and tesseract's Vietnamese data are installed; ``off``."""
    ocr_languages: str = "vie"
    ocr_max_pages: int = 300
    """Pages OCR'd at most per version; the rest of a longer scan stays without text."""
    ocr_timeout_seconds: float = 1800.0
    """Wall-clock limit of one OCR run; past it the job fails with ``ocr_timeout``."""
    placement_max_pages: int = 5000
    """Documents with more pages are signed only at a given box (422 ``placement_limit``)."""
    placement_scan_pages: int = 50
    """Automatic placement reads at most this many pages, from the last one backwards."""
    placement_seconds: float = 20.0
    """Time budget of one automatic placement (OCR of scans included)."""
    placement_ocr: bool = True
    """Read scans with tesseract when the text layer lacks the signer's name."""

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite inside the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'docsvc.sqlite3').resolve()}"

    @property
    def effective_blob_dir(self) -> Path:
        """Return the local blob folder."""
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def effective_organ_name(self) -> str:
        """Return this agency's name (the demo province's when the demo OrganId is kept)."""
        if self.organ_name:
            return self.organ_name
        # an instance configured before DOCSVC_ORGAN_NAME existed keeps starting: its directory
        # entry is named by its OrganId until the operator names it (`docsvc init` says so)
        return DEMO_ORGAN_NAME if self.organ_id == DEMO_ORGAN_ID else self.organ_id
    def effective_secure_cookies(self) -> bool:
        """Return whether the session cookie carries ``Secure``."""
        return self.env == "production" if self.secure_cookies is None else self.secure_cookies

    @property
    def pki_dir(self) -> Path:
        """Return the folder of the demo PKI (``docsvc pki demo``)."""
        return self.data_dir / "pki"

    @property
    def zone(self) -> ZoneInfo:
        """Return the agency's time zone."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check ``DOCSVC_*`` variables; raise ``ConfigError`` listing every problem."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(name: str, default: str = "") -> str:
            return env.get(f"DOCSVC_{name}", default).strip()

        def get_bool(name: str, default: bool) -> bool:
            raw = get(name, "").lower()
            if raw in _TRUE:
                return True
            if raw in _FALSE and raw:
                return False
            if raw == "":
                return default
            problems.append(f"DOCSVC_{name}: expected true/false, got {raw!r}")
            return default

        def get_number(name: str, default: float, kind: type) -> float:
            raw = get(name, "")
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"DOCSVC_{name}: expected a number, got {raw!r}")
                return default
            if value <= 0:
                problems.append(f"DOCSVC_{name}: must be positive, got {raw!r}")
                return default
            return value

        def get_secret(name: str) -> str:
            """Read DOCSVC_<name>, or the file named by DOCSVC_<name>_FILE (first line)."""
            value, path = get(name), get(f"{name}_FILE")
            if path:
                try:
                    value = Path(path).read_text(encoding="utf-8").splitlines()[0].strip()
                except (OSError, IndexError, UnicodeDecodeError) as exc:
                    problems.append(f"DOCSVC_{name}_FILE: cannot read {path}: {type(exc).__name__}")
            return value

        blob_dir = get("BLOB_DIR")
        agency_key_file = get("AGENCY_KEY_FILE")
        settings = cls(
            env=get("ENV", "development").lower(),
            data_dir=Path(get("DATA_DIR", "var") or "var"),
            database_url=get("DATABASE_URL"),
            blob_backend=get("BLOB_BACKEND", "local").lower(),
            blob_dir=Path(blob_dir) if blob_dir else None,
            s3_endpoint=get("S3_ENDPOINT"),
            s3_bucket=get("S3_BUCKET"),
            s3_access_key=get("S3_ACCESS_KEY"),
            s3_secret_key=get("S3_SECRET_KEY"),
            s3_region=get("S3_REGION"),
            s3_secure=get_bool("S3_SECURE", True),
            max_upload_bytes=int(get_number("MAX_UPLOAD_BYTES", cls.max_upload_bytes, int)),
            timezone=get("TIMEZONE", cls.timezone),
            organ_id=get("ORGAN_ID", cls.organ_id),
            organ_name=unicodedata.normalize("NFC", get("ORGAN_NAME")),
            agency_key_file=Path(agency_key_file) if agency_key_file else None,
            agency_key_passphrase=get_secret("AGENCY_KEY_PASSPHRASE"),
            allow_unsigned_packages=get_bool("ALLOW_UNSIGNED_PACKAGES", False),
            organ_id_allow=frozenset(x.strip() for x in get("ORGAN_ID_ALLOW").split(",") if x.strip()),
            db_timeout_seconds=get_number("DB_TIMEOUT_SECONDS", cls.db_timeout_seconds, float),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            secret_key=get("SECRET_KEY"),
            trust_dirs=tuple(Path(p) for p in get("TRUST_DIRS").split(":") if p.strip()),
            tsa_url=get("TSA_URL"),
            revocation_fetching=get_bool("REVOCATION_FETCHING", False),
            network_timeout_seconds=get_number("NETWORK_TIMEOUT_SECONDS", 10.0, float),
            pkcs11_module=get("PKCS11_MODULE"),
            client_cert_header=get("CLIENT_CERT_HEADER"),
            exchange_lease_seconds=int(get_number("EXCHANGE_LEASE_SECONDS", 300, int)),
            vxp_prefix=env.get("DOCSVC_VXP_PREFIX", cls.vxp_prefix).strip(),
            vxp_key=get("VXP_KEY"),
            max_pdf_pages=int(get_number("MAX_PDF_PAGES", cls.max_pdf_pages, int)),
            pdf_time_limit_seconds=get_number("PDF_TIME_LIMIT", cls.pdf_time_limit_seconds,
                                              float),
            sealing_keys=tuple(k.strip() for k in get("SEALING_KEYS").split(",") if k.strip()),
            trusted_proxies=int(get("TRUSTED_PROXIES", "0") or 0)
            if get("TRUSTED_PROXIES", "0").isdigit() else _bad_int(problems, "TRUSTED_PROXIES"),
            secure_cookies=get_bool("SECURE_COOKIES", False) if get("SECURE_COOKIES") else None,
            ratelimit_storage_url=get("RATELIMIT_STORAGE_URL"),
            login_rate_limit=get("LOGIN_RATE_LIMIT", cls.login_rate_limit),
            auth_failure_rate_limit=get("AUTH_FAILURE_RATE_LIMIT", cls.auth_failure_rate_limit),
            csrf_time_limit_seconds=int(get_number("CSRF_TIME_LIMIT",
                                                   cls.csrf_time_limit_seconds, int)),
            audit_anchor_seconds=int(get_number("AUDIT_ANCHOR_SECONDS",
                                                cls.audit_anchor_seconds, int)),
            jobs=get("JOBS", cls.jobs),
            ocr=get("OCR", cls.ocr).lower(),
            ocr_languages=get("OCR_LANGUAGES", cls.ocr_languages),
            ocr_max_pages=int(get_number("OCR_MAX_PAGES", cls.ocr_max_pages, int)),
            ocr_timeout_seconds=get_number("OCR_TIMEOUT_SECONDS", cls.ocr_timeout_seconds, float),
            placement_max_pages=int(get_number("PLACEMENT_MAX_PAGES", 5000, int)),
            placement_scan_pages=int(get_number("PLACEMENT_SCAN_PAGES", 50, int)),
            placement_seconds=get_number("PLACEMENT_SECONDS", 20.0, float),
            placement_ocr=get_bool("PLACEMENT_OCR", True),
        )
        problems.extend(settings.problems())
        if problems:
            raise ConfigError(
                "Cấu hình không hợp lệ: " + "; ".join(problems),
                "Invalid configuration: " + "; ".join(problems),
                details={"problems": problems},
            )
        return settings

    def problems(self) -> list[str]:
        """Return every inconsistency of these settings (empty when they are usable)."""
        problems: list[str] = []
        if self.env not in ENVIRONMENTS:
            problems.append(f"DOCSVC_ENV: one of {', '.join(ENVIRONMENTS)}, got {self.env!r}")
        if not (self.jobs in ("sqlite", "immediate") or self.jobs.startswith(("redis://", "rediss://"))):
            problems.append(f"DOCSVC_JOBS: sqlite, immediate or a redis:// URL, got {self.jobs!r}")
        if self.ocr not in ("auto", "off"):
            problems.append(f"DOCSVC_OCR: auto or off, got {self.ocr!r}")
        if not re.fullmatch(r"[a-z_]{3,8}(\+[a-z_]{3,8})*", self.ocr_languages):
            problems.append(f"DOCSVC_OCR_LANGUAGES: tesseract codes joined by +, got {self.ocr_languages!r}")
        if self.blob_backend not in BLOB_BACKENDS:
            problems.append(
                f"DOCSVC_BLOB_BACKEND: one of {', '.join(BLOB_BACKENDS)}, got {self.blob_backend!r}"
            )
        if self.blob_backend == "s3":
            for name in ("endpoint", "bucket", "access_key", "secret_key"):
                if not getattr(self, f"s3_{name}"):
                    problems.append(f"DOCSVC_S3_{name.upper()}: required when DOCSVC_BLOB_BACKEND=s3")
            if "://" in self.s3_endpoint:
                problems.append("DOCSVC_S3_ENDPOINT: give host:port without a scheme")
        if self.blob_backend == "memory" and self.env == "production":
            problems.append("DOCSVC_BLOB_BACKEND=memory loses every file at restart: not in production")
        if self.env == "production" and len(self.secret_key) < 32:
            problems.append("DOCSVC_SECRET_KEY: production needs a random key of 32+ characters")
        if self.env == "production" and not self.database_url:
            problems.append("DOCSVC_DATABASE_URL: production needs PostgreSQL, not the SQLite default")
        for folder in self.trust_dirs:
            if not folder.is_dir():
                problems.append(f"DOCSVC_TRUST_DIRS: {folder} is not a folder")
        if self.tsa_url and not self.tsa_url.startswith(("http://", "https://")):
            problems.append("DOCSVC_TSA_URL: an http(s) URL")
        if self.pkcs11_module and not Path(self.pkcs11_module).is_file():
            problems.append(f"DOCSVC_PKCS11_MODULE: {self.pkcs11_module} does not exist")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"DOCSVC_TIMEZONE: unknown time zone {self.timezone!r}")
        if self.vxp_prefix and not _PREFIX.fullmatch(self.vxp_prefix):
            problems.append(f"DOCSVC_VXP_PREFIX: a path like /vxp (empty disables), got {self.vxp_prefix!r}")
        if self.vxp_key and len(self.vxp_key) < 32:
            problems.append("DOCSVC_VXP_KEY: a random key of 32+ characters")
        if self.agency_key_file is not None and not self.agency_key_file.is_file():
            problems.append(f"DOCSVC_AGENCY_KEY_FILE: {self.agency_key_file} does not exist")
        if (self.env == "production" and self.agency_key_file is None
                and not self.allow_unsigned_packages):
            problems.append("DOCSVC_AGENCY_KEY_FILE: production signs edXML packages and receipts "
                            "with the agency's own key (PKCS#12); set it, or say "
                            "DOCSVC_ALLOW_UNSIGNED_PACKAGES=true to send them unsigned")
        if any(len(key) < 32 for key in self.sealing_keys):
            problems.append("DOCSVC_SEALING_KEYS: comma-separated random keys of 32+ characters each")
        if self.ratelimit_storage_url and not self.ratelimit_storage_url.startswith(
                ("memory://", "redis://", "rediss://", "redis+sentinel://", "redis+cluster://")):
            problems.append("DOCSVC_RATELIMIT_STORAGE_URL: memory:// or a redis:// URL")
        for name in ("login_rate_limit", "auth_failure_rate_limit"):
            if not re.fullmatch(r"\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?",
                                getattr(self, name).strip()):
                problems.append(f"DOCSVC_{name.upper()}: like '10 per minute'")
        if self.placement_max_pages < 1 or self.placement_scan_pages < 1:
            problems.append("DOCSVC_PLACEMENT_MAX_PAGES and DOCSVC_PLACEMENT_SCAN_PAGES: 1 or more")
        if self.placement_seconds <= 0:
            problems.append("DOCSVC_PLACEMENT_SECONDS: more than 0")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            problems.append(f"DOCSVC_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR, got {self.log_level!r}")
        return problems


def development_secret(settings: Settings) -> str:
    """Return a random key kept in the data folder (development and tests only): it signs web
    sessions and seals stored secrets when no key is configured."""
    import secrets

    path = settings.data_dir / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
    except OSError:
        return secrets.token_urlsafe(48)  # sessions then last as long as this process


def session_secret(settings: Settings) -> str:
    """Return the key that signs web sessions: ``DOCSVC_SECRET_KEY``, else the development key."""
    return settings.secret_key or development_secret(settings)


def sealing_keys(settings: Settings) -> tuple[str, ...]:
    """Return the keys that seal stored secrets, the one that seals first.

    ``DOCSVC_SEALING_KEYS`` (newest first), then ``DOCSVC_VXP_KEY`` and ``DOCSVC_SECRET_KEY``
    (32+ characters; else the development key, refused in production by ``problems()``): the
    keys that sealed before stay able to open, so configuring a new first key loses nothing.
    """
    secret = settings.secret_key if len(settings.secret_key) >= 32 else ""
    if not secret and settings.env != "production":
        secret = development_secret(settings)
    candidates = [*settings.sealing_keys, settings.vxp_key, secret]
    keys = tuple(dict.fromkeys(k for k in candidates if len(k) >= 32))
    if not keys:
        raise ConfigError("Cần DOCSVC_SEALING_KEYS hoặc DOCSVC_SECRET_KEY để mã hóa bí mật lưu trữ.",
                          "DOCSVC_SEALING_KEYS or DOCSVC_SECRET_KEY is needed to seal stored secrets.")
    return keys
