"""The client's transport: headers, timeouts, the connection pool, and no urllib3 exception
leaking.

A `FakeTransport` (passed as ``transport``) answers with a plain function; it records each
request as (method, URL without its query, {headers, params, data, timeout}).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import pytest
import urllib3
from graphtest import APP_SECRET, IG_TOKEN, TOKEN
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from igautopost.graph import (
    GraphClient,
    GraphConnectionError,
    GraphError,
    GraphTimeout,
    TokenInvalid,
)
from igautopost.graph.prepared import Prepared
from igautopost.graph.transport import Request, Response, Urllib3Transport

Call = tuple[str, str, dict[str, Any]]
Handler = Callable[[str, str, dict[str, Any]], Response]


def answer(status: int = 200, data: Any = None, raw: bytes | None = None) -> Response:
    body = raw if raw is not None else json.dumps(data).encode()
    return Response(status, {"Content-Type": "application/json"}, body)


class FakeTransport:
    """Records each request; answers through ``handler`` (which may raise)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls: list[Call] = []
        self.connected: list[str] = []
        self.closed = False

    def send(self, request: Request) -> Response:
        url, _, query = request.url.partition("?")
        body = request.body.decode() if request.body is not None else None
        kwargs = {
            "headers": request.headers,
            "params": dict(parse_qsl(query)) or None,
            "data": dict(parse_qsl(body)) if body is not None else None,
            "timeout": request.timeout,
        }
        self.calls.append((request.method, url, kwargs))
        return self.handler(request.method, url, kwargs)

    def open(self, request: Request) -> FakePending:
        self.connected.append(request.url)
        return FakePending(self, request)

    def close(self) -> None:
        self.closed = True


class FakePending:
    """`Transport.open`'s answer: `launch` records the request as sent, `answer` answers."""

    def __init__(self, transport: FakeTransport, request: Request) -> None:
        self.transport = transport
        self.request = request
        self.launched = False

    def launch(self) -> bool:
        self.launched = True
        return True

    def answer(self) -> Response:
        return self.transport.send(self.request)


def fake_client(
    handler: Handler, transports: list[FakeTransport] | None = None, **options: Any
) -> GraphClient:
    transport = FakeTransport(handler)
    if transports is not None:
        transports.append(transport)
    return GraphClient(transport=transport, **options)


def test_the_token_goes_only_in_the_authorization_header():
    sessions: list[FakeTransport] = []
    client = fake_client(lambda *_: answer(data={"id": "42"}), sessions, timeout=7.5)
    assert client.publish("1784", "1789", token=TOKEN) == "42"
    method, url, kwargs = sessions[0].calls[0]
    assert (method, url) == ("POST", "https://graph.facebook.com/v25.0/1784/media_publish")
    assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert kwargs["data"] == {"creation_id": "1789"} and kwargs["params"] is None
    assert kwargs["timeout"] == 7.5
    assert TOKEN not in url


def test_base_url_and_version_are_configurable():
    sessions: list[FakeTransport] = []
    client = fake_client(
        lambda *_: answer(data={"id": "1", "status_code": "FINISHED"}),
        sessions,
        base_url="http://127.0.0.1:8999/",
        version="v26.0",
    )
    client.container_status("1", token=TOKEN)
    _, url, kwargs = sessions[0].calls[0]
    assert url == "http://127.0.0.1:8999/v26.0/1"
    assert kwargs["params"] == {"fields": "id,status_code,status"}


def test_object_ids_cannot_change_the_path():
    sessions: list[FakeTransport] = []
    client = fake_client(lambda *_: answer(data={"id": "1"}), sessions)
    client.media("../me?x=1", token=TOKEN)
    assert sessions[0].calls[0][1] == "https://graph.facebook.com/v25.0/..%2Fme%3Fx%3D1"
    with pytest.raises(ValueError, match="empty"):
        client.media("", token=TOKEN)


def test_each_thread_has_its_own_pool_manager_and_close_clears_them_all():
    transport = Urllib3Transport(pool_size=8)
    mine = transport._manager
    assert mine is transport._manager and mine.connection_pool_kw["maxsize"] == 8
    theirs: list[urllib3.PoolManager] = []
    worker = threading.Thread(target=lambda: theirs.append(transport._manager))
    worker.start()
    worker.join()
    assert theirs[0] is not mine
    for manager in (mine, theirs[0]):
        manager.connection_from_url("https://graph.facebook.com")
    transport.close()
    assert len(mine.pools) == 0 and len(theirs[0].pools) == 0


def test_a_proxy_from_the_environment_carries_every_request(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert isinstance(GraphClient()._transport._manager, urllib3.ProxyManager)  # type: ignore[attr-defined]
    sandbox = GraphClient(base_url="http://127.0.0.1:8999")
    assert not isinstance(sandbox._transport._manager, urllib3.ProxyManager)  # type: ignore[attr-defined]


def test_context_manager_closes_the_transport():
    sessions: list[FakeTransport] = []
    with fake_client(lambda *_: answer(data={"id": "1"}), sessions) as client:
        client.comment("1", "hi", token=TOKEN)
    assert sessions[0].closed


LEAKY_URL = "/v25.0/1?access_token=LEAK"


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ReadTimeoutError(None, LEAKY_URL, "read timed out"), GraphTimeout),  # type: ignore[arg-type]
        (ConnectTimeoutError(None, f"connect timed out: {LEAKY_URL}"), GraphTimeout),
        (TimeoutError("timed out"), GraphTimeout),
        (
            NewConnectionError(None, f"Failed to establish a connection: {LEAKY_URL}"),
            GraphConnectionError,
        ),  # type: ignore[arg-type]
        (ProtocolError("Connection aborted.", ConnectionResetError()), GraphConnectionError),
        (urllib3.exceptions.LocationParseError(LEAKY_URL), GraphConnectionError),
        (OSError("socket closed"), GraphConnectionError),
    ],
)
def test_transport_exceptions_never_leak(raised: Exception, expected: type[GraphError]):
    def fail(*_: Any) -> Response:
        raise raised

    with pytest.raises(expected) as caught:
        fake_client(fail).container_status("17", token=TOKEN)
    error = caught.value
    assert (error.method, error.path) == ("GET", "/v25.0/17")
    assert error.is_transient
    assert "LEAK" not in str(error)
    assert error.__cause__ is None and error.__context__ is None


def test_error_texts_echoing_the_token_are_redacted():
    body = {
        "error": {
            "message": f"Invalid OAuth access token {TOKEN}",
            "type": "OAuthException",
            "code": 190,
        }
    }
    with pytest.raises(TokenInvalid) as caught:
        fake_client(lambda *_: answer(400, body)).media("1", token=TOKEN)
    assert TOKEN not in str(caught.value) and "[redacted]" in caught.value.message


@pytest.mark.parametrize(
    "response",
    [
        answer(200, raw=b"<html>captive portal</html>"),
        answer(200, data=["not", "an", "object"]),
        answer(200, data={"error": {"message": "odd", "type": "OAuthException", "code": 100}}),
    ],
)
def test_a_2xx_without_a_json_object_is_an_error(response: Response):
    with pytest.raises(GraphError):
        fake_client(lambda *_: response).media("1", token=TOKEN)


@pytest.mark.parametrize("data", [{}, {"id": ""}, {"id": None}, {"id": True}])
def test_an_answer_without_an_id_is_an_error(data: dict[str, Any]):
    with pytest.raises(GraphError, match="without an id"):
        fake_client(lambda *_: answer(data=data)).publish("1", "2", token=TOKEN)


def test_facebook_token_exchange_keeps_secrets_out_of_the_url():
    sessions: list[FakeTransport] = []
    data = {"access_token": "EAAlong", "token_type": "bearer", "expires_in": 5183944}
    client = fake_client(lambda *_: answer(data=data), sessions)
    client.exchange_token(TOKEN, app_id="123", app_secret=APP_SECRET)
    method, url, kwargs = sessions[0].calls[0]
    assert (method, url) == ("POST", "https://graph.facebook.com/v25.0/oauth/access_token")
    assert kwargs["data"] == {
        "grant_type": "fb_exchange_token",
        "client_id": "123",
        "client_secret": APP_SECRET,
        "fb_exchange_token": TOKEN,
    }
    assert "Authorization" not in kwargs["headers"]


def test_instagram_token_calls_use_the_documented_query():
    sessions: list[FakeTransport] = []
    data = {"access_token": "IGAAlong", "token_type": "bearer", "expires_in": 5183944}
    client = fake_client(
        lambda *_: answer(data=data), sessions, base_url="https://graph.instagram.com"
    )
    client.exchange_token(IG_TOKEN, app_secret=APP_SECRET, login="instagram")
    client.refresh_token(IG_TOKEN)
    (_, exchange_url, exchange), (_, refresh_url, refresh) = sessions[0].calls
    assert exchange_url == "https://graph.instagram.com/access_token"
    assert exchange["params"] == {
        "grant_type": "ig_exchange_token",
        "client_secret": APP_SECRET,
        "access_token": IG_TOKEN,
    }
    assert refresh_url == "https://graph.instagram.com/refresh_access_token"
    assert refresh["params"] == {"grant_type": "ig_refresh_token", "access_token": IG_TOKEN}


def test_a_sandbox_base_url_serves_the_token_endpoints_too():
    sessions: list[FakeTransport] = []
    data = {"access_token": "x", "token_type": "bearer", "expires_in": 1}
    client = fake_client(lambda *_: answer(data=data), sessions, base_url="http://127.0.0.1:8999")
    client.refresh_token(IG_TOKEN)
    client.exchange_token(TOKEN, app_id="1", app_secret=APP_SECRET)
    urls = [url for _, url, _ in sessions[0].calls]
    assert urls == [
        "http://127.0.0.1:8999/refresh_access_token",
        "http://127.0.0.1:8999/v25.0/oauth/access_token",
    ]


@pytest.mark.parametrize(
    "base_url",
    ["https://graph.facebook.com", "https://graph.instagram.com", "http://127.0.0.1:8999"],
)
def test_instagram_token_calls_go_to_the_instagram_host_setting(base_url: str):
    sessions: list[FakeTransport] = []
    data = {"access_token": "x", "token_type": "bearer", "expires_in": 1}
    client = fake_client(
        lambda *_: answer(data=data),
        sessions,
        base_url=base_url,
        instagram_base_url="http://127.0.0.1:8998/",
    )
    client.refresh_token(IG_TOKEN)
    client.exchange_token(IG_TOKEN, app_secret=APP_SECRET, login="instagram")
    client.exchange_token(TOKEN, app_id="1", app_secret=APP_SECRET)
    facebook = "http://127.0.0.1:8999" if "127.0.0.1" in base_url else "https://graph.facebook.com"
    assert [url for _, url, _ in sessions[0].calls] == [
        "http://127.0.0.1:8998/refresh_access_token",
        "http://127.0.0.1:8998/access_token",
        f"{facebook}/v25.0/oauth/access_token",
    ]


def test_a_token_is_refreshed_at_the_host_named():
    sessions: list[FakeTransport] = []
    data = {"access_token": "x", "token_type": "bearer", "expires_in": 1}
    client = fake_client(lambda *_: answer(data=data), sessions, base_url="http://127.0.0.1:8999")
    client.refresh_token(IG_TOKEN, host="http://127.0.0.1:8997")
    assert [url for _, url, _ in sessions[0].calls] == [
        "http://127.0.0.1:8997/refresh_access_token"
    ]


def test_token_answers_without_a_token_are_errors():
    with pytest.raises(GraphError, match="without an access token"):
        fake_client(lambda *_: answer(data={"token_type": "bearer"})).refresh_token(IG_TOKEN)


def test_facebook_exchange_needs_an_app_id():
    with pytest.raises(ValueError, match="app_id"):
        fake_client(lambda *_: answer(data={})).exchange_token(TOKEN, app_secret=APP_SECRET)


def test_a_token_that_never_expires():
    data = {"access_token": "EAApage", "token_type": "bearer"}
    token = fake_client(lambda *_: answer(data=data)).exchange_token(
        TOKEN, app_id="1", app_secret=APP_SECRET
    )
    assert token.expires_in is None


def test_a_publish_built_ahead_sends_the_same_call_and_its_errors_are_graph_errors():
    sessions: list[FakeTransport] = []
    client = fake_client(lambda *_: answer(data={"id": "42"}), sessions, timeout=7.5)
    prepared = client.prepare_publish("1784", "1789", token=TOKEN)
    assert TOKEN not in repr(prepared)
    assert sessions[0].calls == []  # built, not sent
    assert sessions[0].connected == ["https://graph.facebook.com/v25.0/1784/media_publish"]
    assert client.send_publish(prepared) == "42"
    method, url, kwargs = sessions[0].calls[0]
    assert (method, url) == ("POST", "https://graph.facebook.com/v25.0/1784/media_publish")
    assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert kwargs["data"] == {"creation_id": "1789"} and kwargs["params"] is None
    assert kwargs["timeout"] == 7.5

    limit = {"error": {"message": "Application request limit reached", "code": 4}}
    failing = fake_client(lambda *_: answer(400, limit))
    with pytest.raises(GraphError) as raised:
        failing.send_publish(failing.prepare_publish("1784", "1789", token=TOKEN))
    assert raised.value.code == 4

    def unreachable(*_: Any) -> Response:
        raise NewConnectionError(None, f"Failed: /?access_token={TOKEN}")  # type: ignore[arg-type]

    down = fake_client(unreachable)
    with pytest.raises(GraphConnectionError) as failed:
        down.send_publish(down.prepare_publish("1784", "1789", token=TOKEN))
    assert TOKEN not in str(failed.value)


REPLY_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
REPLY = REPLY_HEAD + b'\r\n{"id":"42"}'


def read_request(peer: Any) -> bytes:
    """One whole request (headers and its short body) from a raw server-side socket."""
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"creation_id=1789"):
        chunk = peer.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


@contextmanager
def prepared_on_raw_server(**options: Any) -> Iterator[tuple[Any, GraphClient, Prepared]]:
    """A raw listening socket, a client pointed at it, and a publish prepared on it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(2)
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = GraphClient(base_url=base, timeout=2, **options)
        try:
            yield listener, client, client.prepare_publish("1", "1789", token=TOKEN)
        finally:
            client.close()


def test_a_prepared_call_is_connected_ahead_written_at_launch_and_answered_later():
    with prepared_on_raw_server(pool_size=2) as (listener, client, prepared):
        peer, _ = listener.accept()  # the connection exists before anything is sent
        with peer:
            peer.settimeout(2)
            assert prepared.launch() is True
            # The request has left although nobody reads its answer yet.
            request = read_request(peer)
            assert request.startswith(b"POST /v25.0/1/media_publish HTTP/1.1\r\n")
            assert f"Authorization: Bearer {TOKEN}".encode() in request
            assert prepared.launch() is False  # written once only
            peer.sendall(REPLY)
            assert client.send_publish(prepared) == "42"
            # The connection went back to the pool: the next call uses it, no new accept.
            second = client.prepare_publish("1", "1789", token=TOKEN)
            assert second.launch() is True
            assert read_request(peer).startswith(b"POST /v25.0/1/media_publish")
            peer.sendall(REPLY)
            assert client.send_publish(second) == "42"


def test_a_call_whose_connection_was_closed_is_not_launched_but_sent_by_its_caller():
    with prepared_on_raw_server() as (listener, client, prepared):
        first, _ = listener.accept()
        first.close()  # the server closes the idle connection before the mark
        time.sleep(0.2)  # the close reaches the client
        assert prepared.launch() is False  # writing would need a new connection: not here

        def serve() -> None:
            peer, _ = listener.accept()  # the caller connects again
            with peer:
                peer.settimeout(2)
                read_request(peer)
                peer.sendall(REPLY)

        server = threading.Thread(target=serve)
        server.start()
        assert client.send_publish(prepared) == "42"
        server.join()


def test_a_launch_that_fails_is_reported_as_a_graph_error_by_send_publish():
    with prepared_on_raw_server() as (listener, client, prepared):
        peer, _ = listener.accept()
        with peer:
            peer.settimeout(2)
            assert prepared.launch() is True
            read_request(peer)
        # Closed without an answer: the call may have happened, and says so as a Graph error.
        with pytest.raises(GraphConnectionError) as failed:
            client.send_publish(prepared)
        assert TOKEN not in str(failed.value)


def test_behind_a_plain_http_proxy_a_prepared_call_is_sent_by_its_caller():
    # The proxy rewrites a plain-HTTP request: nothing is held or written ahead of the call.
    transport = Urllib3Transport(proxy="http://127.0.0.1:9")
    request = Request(
        "POST",
        "/v25.0/1/media_publish",
        "http://sandbox.test/v25.0/1/media_publish",
        {},
        b"creation_id=1789",
        1.0,
    )
    pending = transport.open(request)
    assert pending.launch() is False
    with pytest.raises(urllib3.exceptions.HTTPError):  # the caller's send, to the dead proxy
        pending.answer()
    transport.close()
