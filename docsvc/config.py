"""Settings: the one reader of ``DOCSVC_*`` environment variables, checked at start-up.

``Settings.from_env()`` collects every problem at once and raises one ``ConfigError`` that
lists them all, so an operator fixes a deployment in one pass.
"""

from __future__ import annotations

import os
import re
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
    db_timeout_seconds: float = 10.0
    log_level: str = "INFO"
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

        blob_dir = get("BLOB_DIR")
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
        if self.placement_max_pages < 1 or self.placement_scan_pages < 1:
            problems.append("DOCSVC_PLACEMENT_MAX_PAGES and DOCSVC_PLACEMENT_SCAN_PAGES: 1 or more")
        if self.placement_seconds <= 0:
            problems.append("DOCSVC_PLACEMENT_SECONDS: more than 0")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            problems.append(f"DOCSVC_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR, got {self.log_level!r}")
        return problems
