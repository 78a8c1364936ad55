"""The sandbox in process (the in-memory worlds' Graph API) answers as the HTTP sandbox does:
the same statuses and bodies, faults and call records, without a socket or a sleep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from igautopost.clock import FakeClock
from igautopost.graph.client import GraphClient
from igautopost.graph.errors import GraphConnectionError, GraphTimeout
from igautopost.graph.transport import MockTransport, Request, Response, Transport, Urllib3Transport
from igautopost.sandbox import FaultRule, SandboxConfig, SandboxServer, SandboxState
from igautopost.sandbox.inprocess import sandbox_handler

ACCOUNT = "17841400000000001"
TOKEN = "EAAB-inprocess-token"
START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
CALLS: list[tuple[str, str, dict[str, str]]] = [
    ("POST", f"/v25.0/{ACCOUNT}/media", {"image_url": "https://cdn.example.com/a.jpg"}),
    ("POST", f"/v25.0/{ACCOUNT}/media", {"caption": "no media"}),
    ("GET", f"/v25.0/{ACCOUNT}/content_publishing_limit", {"fields": "quota_usage,config"}),
    ("POST", f"/v25.0/{ACCOUNT}/media_publish", {"creation_id": "999"}),
    ("GET", "/v25.0/1/2/3", {}),
    ("DELETE", "/me/media", {}),
]


def request(method: str, path: str, params: dict[str, str], base: str) -> Request:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = None
    url = base + path
    if method == "GET":
        url += "?" + urlencode(params) if params else ""
    else:
        body = urlencode(params).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return Request(method, path, url, headers, body, 5.0)


def answer(response: Response) -> tuple[int, Any]:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response.status, response.body
    body = json.loads(response.body)
    if "error" in body:
        body["error"].pop("fbtrace_id", None)  # random on every answer
    return response.status, body


@pytest.fixture
def http_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(), clock=FakeClock(START)) as server:
        yield server


def test_every_answer_is_the_http_sandboxs(http_sandbox: SandboxServer) -> None:
    state = SandboxState(SandboxConfig(), FakeClock(START))
    in_process: Transport = MockTransport(sandbox_handler(state))
    over_http = Urllib3Transport()
    for method, path, params in CALLS:
        local = in_process.send(request(method, path, params, "http://sandbox.local"))
        remote = over_http.send(request(method, path, params, http_sandbox.url))
        assert answer(local) == answer(remote), (method, path)
    over_http.close()
    records = [(c.endpoint, c.status, c.token_hash is not None) for c in state.inspector.calls]
    remote_records = http_sandbox.state.with_lock(lambda: list(http_sandbox.state.inspector.calls))
    assert records == [(c.endpoint, c.status, c.token_hash is not None) for c in remote_records]


def client_on(state: SandboxState, *, timeout: float = 5.0) -> GraphClient:
    transport = MockTransport(sandbox_handler(state))
    return GraphClient(base_url="http://sandbox.local", timeout=timeout, transport=transport)


def test_a_dropped_connection_raises_after_the_sandbox_did_the_work() -> None:
    drop = FaultRule(kind="after_success_drop", endpoints=("create_container",), on_calls=(1,))
    state = SandboxState(SandboxConfig(faults=(drop,)), FakeClock(START))
    with pytest.raises(GraphConnectionError):
        client_on(state).create_container(
            ACCOUNT, {"image_url": "https://e.com/a.jpg"}, token=TOKEN
        )
    assert len(state.containers) == 1
    assert [c.fault for c in state.inspector.calls] == ["after_success_drop"]


def test_a_slow_answer_times_out_only_past_the_read_timeout() -> None:
    slow = FaultRule(kind="slow", endpoints=("create_container",), rate=1.0, delay_seconds=2.0)
    state = SandboxState(SandboxConfig(faults=(slow,)), FakeClock(START))
    with pytest.raises(GraphTimeout):
        client_on(state, timeout=1.0).create_container(
            ACCOUNT, {"image_url": "https://e.com/a.jpg"}, token=TOKEN
        )
    container = client_on(state, timeout=3.0).create_container(
        ACCOUNT, {"image_url": "https://e.com/b.jpg"}, token=TOKEN
    )
    assert container in state.containers and len(state.containers) == 2
