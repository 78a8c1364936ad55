"""Throughput of the sandbox on 127.0.0.1: a create/status/publish mix, faults and latency off.

The sandbox runs in its own process (uvicorn, like `igautopost sandbox`); load comes from
`--processes` processes with `--threads` threads each, every thread holding one keep-alive
connection (`http.client`, or a `requests.Session` with `--client requests`). Each thread
loops: create an image container, read its status, publish it. Prints requests/s.

    .venv/bin/python benchmarks/sandbox_throughput.py --seconds 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode

HEADERS = {
    "Authorization": "Bearer bench-token",
    "Content-Type": "application/x-www-form-urlencoded",
}
Call = Callable[[str, str, str | None], dict[str, str]]


def serve(sock: socket.socket) -> None:
    """The sandbox process: quotas raised so that publishing never stops."""
    import uvicorn

    from igautopost.sandbox import SandboxConfig, create_app

    config = SandboxConfig(publishing_quota=10**9, container_cap=10**9, max_logged_calls=10_000)
    uv_config = uvicorn.Config(
        create_app(config), log_level="warning", lifespan="off", ws="none", access_log=False
    )
    uvicorn.Server(uv_config).run(sockets=[sock])


def http_client_caller(port: int) -> Call:
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def call(method: str, path: str, body: str | None) -> dict[str, str]:
        conn.request(method, path, body=body, headers=HEADERS)
        response = conn.getresponse()
        data: dict[str, str] = json.loads(response.read())
        return data

    return call


def requests_caller(port: int) -> Call:
    import requests

    session = requests.Session()
    session.headers.update(HEADERS)
    base = f"http://127.0.0.1:{port}"

    def call(method: str, path: str, body: str | None) -> dict[str, str]:
        data: dict[str, str] = session.request(method, base + path, data=body).json()
        return data

    return call


def cycle(call: Call, account: str, n: int) -> int:
    """create, status, publish: three calls."""
    created = call(
        "POST",
        f"/v25.0/{account}/media",
        urlencode({"image_url": "https://example.com/a.jpg", "caption": f"post {n}"}),
    )
    container = created["id"]
    call("GET", f"/v25.0/{container}?fields=id,status_code,status", None)
    published = call(
        "POST", f"/v25.0/{account}/media_publish", urlencode({"creation_id": container})
    )
    assert "id" in published, published
    return 3


def load(
    port: int, threads: int, seconds: float, client: str, index: int, results: mp.Queue
) -> None:  # type: ignore[type-arg]
    """One load process: `threads` threads looping until the deadline; reports calls made."""
    counts = [0] * threads
    start_at = time.monotonic() + 0.5  # connections open before the clock starts
    deadline = start_at + seconds

    def worker(slot: int) -> None:
        call = (requests_caller if client == "requests" else http_client_caller)(port)
        account, n = f"1784140{index:03d}{slot:04d}", 0
        cycle(call, account, n)  # warm up the connection
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while time.monotonic() < deadline:
            n += 1
            counts[slot] += cycle(call, account, n)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put(sum(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--client", choices=["http.client", "requests"], default="http.client")
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))  # loopback only
    port = sock.getsockname()[1]
    server = mp.Process(target=serve, args=(sock,), daemon=True)
    server.start()
    _wait_for(port)
    results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    loaders = [
        mp.Process(target=load, args=(port, args.threads, args.seconds, args.client, i, results))
        for i in range(args.processes)
    ]
    for process in loaders:
        process.start()
    total = sum(results.get() for _ in loaders)
    for process in loaders:
        process.join()
    server.terminate()
    server.join()
    print(
        f"{total} requests in {args.seconds:.1f} s: {total / args.seconds:,.0f} req/s "
        f"({args.processes} processes x {args.threads} threads, {args.client}, "
        "mix create/status/publish 1:1:1)"
    )


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the sandbox did not start")


if __name__ == "__main__":
    main()
