"""`serve --workers 2` spreads connections over its API processes (issue 14).

With one listening socket shared by the processes, the one that woke first accepted every
connection waiting: wrk's 32 connections, opened at once, all went to one process, which
served the whole load on one core while the other idled. Each API process now listens on a
socket of its own (SO_REUSEPORT), and the kernel spreads new connections over them.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from igautopost_cli.server import reuseport_listener
from test_serve_processes import SCRIPT, free_port, healthy

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads sockets from /proc"
)
CONNECTIONS = 24  # all in one process by chance: 2 ** -23


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_sockets(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets on local `port` in `state` ('0A' listen, '01' established)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(fields[9])
    return found


def _api_processes(serve: int) -> list[int]:
    children = Path(f"/proc/{serve}/task/{serve}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_each_api_process_listens_and_connections_reach_both(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path), NO_COLOR="1")
    command = [str(SCRIPT), "serve", "--workers", "2", "--no-worker", "--port", str(port)]
    with (tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    connections: list[http.client.HTTPConnection] = []
    try:
        deadline = time.monotonic() + 30
        while not healthy(url) or len(_tcp_sockets(port, "0A")) < 2:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.1)
        workers = _api_processes(process.pid)
        assert len(workers) == 2, workers
        listening = _tcp_sockets(port, "0A")
        owned = [_socket_inodes(pid) & listening for pid in workers]
        assert all(len(sockets) == 1 for sockets in owned), owned  # one socket each
        assert owned[0] != owned[1]

        for _ in range(CONNECTIONS):  # kept open, as wrk's are
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/health")
            assert connection.getresponse().read()
            connections.append(connection)
        established = _tcp_sockets(port, "01")
        served = [len(_socket_inodes(pid) & established) for pid in workers]
        assert sum(served) == CONNECTIONS and min(served) > 0, served
    finally:
        for connection in connections:
            connection.close()
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_an_api_processs_socket_listens_before_the_process_starts() -> None:
    """Connections opened while the API processes start spread over all of them: each
    socket is in the group, listening, from the moment it is made, and a connection waits
    in its queue until its process accepts it."""
    first = reuseport_listener(("127.0.0.1", 0), socket.AF_INET, 64)
    address = first.getsockname()
    second = reuseport_listener(address, socket.AF_INET, 64)
    try:
        for sock in (first, second):
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        clients = [socket.create_connection(address, timeout=5) for _ in range(CONNECTIONS)]
        for sock in (first, second):
            sock.setblocking(False)
        accepted = [_accept_all(sock) for sock in (first, second)]
        assert sum(accepted) == CONNECTIONS and min(accepted) > 0, accepted
        for client in clients:
            client.close()
    finally:
        first.close()
        second.close()


def _accept_all(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            connection, _ = sock.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1
