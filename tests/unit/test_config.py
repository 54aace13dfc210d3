"""Settings are read from DOCSVC_* variables and every problem is reported at once."""

import pytest

from docsvc.config import Settings
from docsvc.errors import ConfigError


def test_defaults_need_nothing_installed():
    settings = Settings.from_env({})
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("var/docsvc.sqlite3")
    assert settings.blob_backend == "local"
    assert str(settings.effective_blob_dir) == "var/blobs"


def test_all_problems_listed_together():
    env = {"DOCSVC_ENV": "staging", "DOCSVC_BLOB_BACKEND": "s3", "DOCSVC_S3_ENDPOINT": "http://x:9000",
           "DOCSVC_MAX_UPLOAD_BYTES": "lots", "DOCSVC_TIMEZONE": "Mars/Olympus"}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    problems = "\n".join(info.value.details["problems"])
    for expected in ("DOCSVC_ENV", "DOCSVC_S3_BUCKET", "DOCSVC_S3_ACCESS_KEY",
                     "DOCSVC_S3_SECRET_KEY", "without a scheme", "DOCSVC_MAX_UPLOAD_BYTES",
                     "DOCSVC_TIMEZONE"):
        assert expected in problems
    assert len(info.value.details["problems"]) == 7


def test_production_refuses_embedded_defaults():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"DOCSVC_ENV": "production", "DOCSVC_BLOB_BACKEND": "memory"})
    problems = info.value.details["problems"]
    assert any("DOCSVC_DATABASE_URL" in p for p in problems)
    assert any("memory" in p for p in problems)


def test_s3_settings_accepted():
    settings = Settings.from_env({
        "DOCSVC_BLOB_BACKEND": "s3", "DOCSVC_S3_ENDPOINT": "127.0.0.1:9000",
        "DOCSVC_S3_BUCKET": "docs", "DOCSVC_S3_ACCESS_KEY": "a", "DOCSVC_S3_SECRET_KEY": "s3cr3t-value",
        "DOCSVC_S3_SECURE": "false", "DOCSVC_ORGAN_ID_ALLOW": "vxp.saas.03, H37.DN.001"})
    assert settings.s3_secure is False
    assert settings.organ_id_allow == frozenset({"vxp.saas.03", "H37.DN.001"})
    assert settings.s3_secret_key == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings)


def test_vxp_prefix_and_key_are_checked():
    assert Settings.from_env({}).vxp_prefix == "/vxp"
    assert Settings.from_env({"DOCSVC_VXP_PREFIX": ""}).vxp_prefix == ""
    assert Settings.from_env({"DOCSVC_VXP_PREFIX": "/axis/vxp"}).vxp_prefix == "/axis/vxp"
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"DOCSVC_VXP_PREFIX": "vxp<op>", "DOCSVC_VXP_KEY": "short"})
    problems = "\n".join(info.value.details["problems"])
    assert "DOCSVC_VXP_PREFIX" in problems and "DOCSVC_VXP_KEY" in problems
    assert "short" not in repr(Settings(vxp_key="short"))
