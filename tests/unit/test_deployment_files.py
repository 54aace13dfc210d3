"""The deployment files say what the code does: compose.yaml and the Dockerfile use settings
that exist, documented in the README, and run the same commands as the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from docsvc.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTING = re.compile(r"DOCSVC_[A-Z0-9_]+")


class _Recording(dict):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        self.asked.add(key)
        return super().get(key, default)


@pytest.fixture(scope="module")
def settings_read() -> set[str]:
    environ = _Recording()
    Settings.from_env(environ)
    return {name for name in environ.asked if name.startswith("DOCSVC_")}


@pytest.fixture(scope="module")
def readme() -> str:
    return (ROOT / "README.md").read_text()


@pytest.fixture(scope="module")
def readme_table(readme) -> set[str]:
    section = readme[readme.index("## Configuration"):]
    section = section[:section.index("\n## ", 1)]
    return {name for line in section.splitlines() if line.startswith("| `DOCSVC_")
            for name in re.findall(r"`(DOCSVC_[A-Z0-9_]+)`", line.split("|")[1])}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _compose_settings(compose: dict) -> set[str]:
    names: set[str] = set()
    for service in compose["services"].values():
        names.update(k for k in service.get("environment", {}) if k.startswith("DOCSVC_"))
    return names


def test_the_readme_table_lists_exactly_the_settings_docsvc_reads(settings_read, readme_table):
    assert readme_table == settings_read


def test_compose_uses_only_documented_existing_settings(compose, settings_read, readme_table):
    used = _compose_settings(compose)
    assert used, "compose.yaml configures docsvc through DOCSVC_* variables"
    assert used <= settings_read, f"not read by docsvc/config.py: {sorted(used - settings_read)}"
    assert used <= readme_table, f"not in the README's table: {sorted(used - readme_table)}"
    referenced = set(SETTING.findall((ROOT / "compose.yaml").read_text()))
    assert referenced <= settings_read, f"unknown: {sorted(referenced - settings_read)}"


def test_the_readme_production_section_names_what_compose_sets(compose, readme):
    production = readme[readme.index("## Production"):]
    production = production[:production.index("\n## ", 1)]
    missing = _compose_settings(compose) - set(SETTING.findall(production))
    assert not missing, f"compose.yaml sets {sorted(missing)}, the README's production section never says"


def test_compose_has_the_production_shape_with_health_checks(compose):
    services = compose["services"]
    assert {"db", "minio", "init", "app", "worker"} <= set(services)
    for name in ("db", "minio", "app"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["db"]["image"].startswith("postgres:")
    assert services["minio"]["image"].startswith(("minio/minio", "quay.io/minio/minio"))
    assert services["init"]["command"] == ["docsvc", "init"]
    assert services["app"]["command"][:2] == ["docsvc", "serve"]
    assert services["worker"]["command"] == ["docsvc", "worker"]
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
        environment = services[name]["environment"]
        assert environment["DOCSVC_ENV"] == "production"
        assert environment["DOCSVC_BLOB_BACKEND"] == "s3"
        assert environment["DOCSVC_S3_SECURE"] == "false"  # MinIO speaks plain HTTP in the network
        assert environment["DOCSVC_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert services["init"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_the_dockerfile_installs_from_the_lock_and_runs_docsvc_serve():
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())  # join continued lines
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    installs = [line for line in lines if "pip install" in line]
    assert installs and all("-c requirements.lock" in line for line in installs)
    [cmd] = [line for line in lines if line.startswith("CMD")]
    assert cmd.startswith('CMD ["docsvc", "serve"') and "gunicorn" not in cmd
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert "db upgrade" not in (ROOT / "Dockerfile").read_text()  # one name for the step: init
