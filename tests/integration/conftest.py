"""Integration fixtures: a real S3 server (moto's server mode) on loopback, started per session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from docsvc.config import Settings
from docsvc.storage.s3 import S3BlobStore
from tests.support.net import free_port, wait_for_port


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def settings(self, bucket: str) -> Settings:
        return Settings(env="test", blob_backend="s3", s3_endpoint=self.endpoint, s3_bucket=bucket,
                        s3_access_key="testing", s3_secret_key="testing", s3_secure=False,
                        s3_region="us-east-1")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Run moto_server (a real HTTP S3 implementation) on a free loopback port."""
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        wait_for_port(port)
        yield S3Server(endpoint=f"127.0.0.1:{port}", process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_store(s3_server: S3Server, request: pytest.FixtureRequest) -> S3BlobStore:
    """An S3 blob store on a fresh bucket of the loopback server."""
    import uuid

    store = S3BlobStore.from_settings(s3_server.settings(f"docsvc-{uuid.uuid4().hex[:12]}"))
    store.prepare()
    return store
