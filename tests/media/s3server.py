"""A real S3-compatible server for the S3 mode's tests: moto's standalone server, one
process per test session (per xdist worker), on a free port; and a bucket per test.

Import the fixtures into a test module (`from s3server import bucket_fixture,
moto_server_fixture`): they are named `bucket` and `moto_server`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import urllib3

boto3 = pytest.importorskip("boto3")

CREDENTIALS = {
    "aws_access_key_id": "moto-test-key",
    "aws_secret_access_key": "moto-test-secret",
    "region_name": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session", name="moto_server")
def moto_server_fixture() -> Iterator[str]:
    """A moto S3 server process on 127.0.0.1; its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # until it answers: a connection refused means not yet listening
            try:
                urllib3.request("GET", endpoint + "/moto-api/", retries=False, timeout=1)
                break
            except urllib3.exceptions.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.05)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def client_for(endpoint: str) -> Any:
    from botocore.config import Config

    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=endpoint, config=config, **CREDENTIALS)


@pytest.fixture(name="bucket")
def bucket_fixture(moto_server: str) -> str:
    name = f"media-{uuid4().hex[:12]}"
    client_for(moto_server).create_bucket(Bucket=name)
    return name
