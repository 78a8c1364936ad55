"""`igautopost serve --proxy-headers --forwarded-allow-ips IPS`, end to end: behind a trusted
proxy the login throttle counts the client's address from X-Forwarded-For, so a stranger's
failures leave the operator's logins alone; without trust, every request is the proxy's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from apitest import CHEAP, PASSWORD

from igautopost.auth.users import Users
from igautopost.clock import SystemClock
from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.users import SqlUserStore

pytest.importorskip("fastapi")

SCRIPT = Path(sys.executable).parent / "igautopost"
STRANGER, OPERATOR = "203.0.113.7", "198.51.100.2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/health", timeout=1).status_code == 200
    except requests.RequestException:  # refused, or queued while its process starts
        return False


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A database with the user alice; FORWARDED_ALLOW_IPS (uvicorn's default for the option)
    trusts nobody here, so that only the option can make 127.0.0.1 trusted."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    cipher = TokenCipher([TokenCipher.generate_key()])
    store = SqlStore.open(url, cipher=cipher)
    # cheap argon2 parameters: checking alice's password costs the server little
    Users(SqlUserStore(store.engine), cipher, SystemClock(), hasher=CHEAP).create("alice", PASSWORD)
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(
        IGAUTOPOST_DATA_DIR=str(tmp_path),
        IGAUTOPOST_DATABASE_URL=url,
        NO_COLOR="1",
        FORWARDED_ALLOW_IPS="192.0.2.1",
    )
    yield env


def serve(env: dict[str, str], *options: str) -> Iterator[str]:
    port = free_port()
    command = [str(SCRIPT), "serve", "--no-worker", "--port", str(port), *options]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not healthy(url):
            assert process.poll() is None, f"serve exited with {process.returncode}"
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def login(url: str, password: str, forwarded_for: str) -> int:
    response = requests.post(
        f"{url}/api/v1/api-token-auth/",
        json={"username": "alice", "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=10,
    )
    return response.status_code


@pytest.mark.parametrize(
    ("options", "operator_gets"),
    [  # both ways of serving: API processes (uvicorn Multiprocess), and one in this process
        (["--workers", "2", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1,::1"], 200),
        (["--workers", "1", "--no-proxy-headers", "--forwarded-allow-ips", "127.0.0.1"], 429),
    ],
    ids=["2-processes-trusted-proxy", "1-process-no-proxy-headers"],
)
def test_the_throttle_counts_the_address_the_proxy_forwards(
    environment: dict[str, str], options: list[str], operator_gets: int
) -> None:
    for url in serve(environment, *options):
        assert [login(url, "wrong password", STRANGER) for _ in range(5)] == [400] * 5
        assert login(url, PASSWORD, STRANGER) == 429
        assert login(url, PASSWORD, OPERATOR) == operator_gets


def test_a_forwarded_allow_ips_entry_that_is_no_address_is_refused(
    environment: dict[str, str],
) -> None:
    done = subprocess.run(
        [str(SCRIPT), "serve", "--forwarded-allow-ips", "10.0.0.0/8,proxy.local"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--forwarded-allow-ips" in done.stderr and "'proxy.local'" in done.stderr
