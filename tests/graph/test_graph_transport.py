"""The client's transport: sessions, headers, timeouts, and no `requests` exception leaking.

A fake `requests.Session` (passed as ``session_factory``) answers with a plain function.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from graphtest import APP_SECRET, IG_TOKEN, TOKEN

from igautopost.graph import (
    GraphClient,
    GraphConnectionError,
    GraphError,
    GraphTimeout,
    TokenInvalid,
)

Handler = Callable[[str, str, dict[str, Any]], requests.Response]


def answer(status: int = 200, data: Any = None, raw: bytes | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = raw if raw is not None else json.dumps(data).encode()
    response.headers["Content-Type"] = "application/json"
    return response


class FakeSession(requests.Session):
    """Records each request; answers through ``handler`` (which may raise)."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.closed = False

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append((method, url, kwargs))
        return self.handler(method, url, kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """What `send_publish` uses: the request was built ahead by `prepare_publish`."""
        kwargs = {"prepared": request, **kwargs}
        self.calls.append((request.method or "", request.url or "", kwargs))
        return self.handler(request.method or "", request.url or "", kwargs)

    def close(self) -> None:
        self.closed = True
        super().close()


def fake_client(
    handler: Handler, sessions: list[FakeSession] | None = None, **options: Any
) -> GraphClient:
    made = sessions if sessions is not None else []

    def factory() -> FakeSession:
        made.append(FakeSession(handler))
        return made[-1]

    return GraphClient(session_factory=factory, **options)


def test_the_token_goes_only_in_the_authorization_header():
    sessions: list[FakeSession] = []
    client = fake_client(lambda *_: answer(data={"id": "42"}), sessions, timeout=7.5)
    assert client.publish("1784", "1789", token=TOKEN) == "42"
    method, url, kwargs = sessions[0].calls[0]
    assert (method, url) == ("POST", "https://graph.facebook.com/v25.0/1784/media_publish")
    assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert kwargs["data"] == {"creation_id": "1789"} and kwargs["params"] is None
    assert kwargs["timeout"] == 7.5
    assert TOKEN not in url


def test_base_url_and_version_are_configurable():
    sessions: list[FakeSession] = []
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
    sessions: list[FakeSession] = []
    client = fake_client(lambda *_: answer(data={"id": "1"}), sessions)
    client.media("../me?x=1", token=TOKEN)
    assert sessions[0].calls[0][1] == "https://graph.facebook.com/v25.0/..%2Fme%3Fx%3D1"
    with pytest.raises(ValueError, match="empty"):
        client.media("", token=TOKEN)


def test_one_session_per_thread_with_a_sized_pool():
    sessions: list[FakeSession] = []
    client = fake_client(lambda *_: answer(data={"id": "1"}), sessions, pool_size=8)
    client.comment("1", "hi", token=TOKEN)
    client.comment("1", "again", token=TOKEN)
    worker = threading.Thread(target=client.comment, args=("1", "there"), kwargs={"token": TOKEN})
    worker.start()
    worker.join()
    assert len(sessions) == 2 and [len(s.calls) for s in sessions] == [2, 1]
    adapter = sessions[0].get_adapter("https://graph.facebook.com")
    assert adapter._pool_maxsize == 8  # type: ignore[attr-defined]
    client.close()
    assert all(session.closed for session in sessions)


def test_context_manager_closes_sessions():
    sessions: list[FakeSession] = []
    with fake_client(lambda *_: answer(data={"id": "1"}), sessions) as client:
        client.comment("1", "hi", token=TOKEN)
    assert sessions[0].closed


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (requests.ReadTimeout("read timed out: /v25.0/1?access_token=LEAK"), GraphTimeout),
        (requests.ConnectTimeout("connect timed out"), GraphTimeout),
        (
            requests.ConnectionError("Max retries exceeded with url: /?access_token=LEAK"),
            GraphConnectionError,
        ),
        (requests.exceptions.ChunkedEncodingError("broken"), GraphConnectionError),
        (requests.exceptions.InvalidURL("bad url"), GraphConnectionError),
        (OSError("socket closed"), GraphConnectionError),
    ],
)
def test_requests_exceptions_never_leak(raised: Exception, expected: type[GraphError]):
    def fail(*_: Any) -> requests.Response:
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
def test_a_2xx_without_a_json_object_is_an_error(response: requests.Response):
    with pytest.raises(GraphError):
        fake_client(lambda *_: response).media("1", token=TOKEN)


@pytest.mark.parametrize("data", [{}, {"id": ""}, {"id": None}, {"id": True}])
def test_an_answer_without_an_id_is_an_error(data: dict[str, Any]):
    with pytest.raises(GraphError, match="without an id"):
        fake_client(lambda *_: answer(data=data)).publish("1", "2", token=TOKEN)


def test_facebook_token_exchange_keeps_secrets_out_of_the_url():
    sessions: list[FakeSession] = []
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
    sessions: list[FakeSession] = []
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
    sessions: list[FakeSession] = []
    data = {"access_token": "x", "token_type": "bearer", "expires_in": 1}
    client = fake_client(lambda *_: answer(data=data), sessions, base_url="http://127.0.0.1:8999")
    client.refresh_token(IG_TOKEN)
    client.exchange_token(TOKEN, app_id="1", app_secret=APP_SECRET)
    urls = [url for _, url, _ in sessions[0].calls]
    assert urls == [
        "http://127.0.0.1:8999/refresh_access_token",
        "http://127.0.0.1:8999/v25.0/oauth/access_token",
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


def test_a_publish_built_ahead_sends_the_same_call_and_its_errors_are_graph_errors(
    monkeypatch: pytest.MonkeyPatch,
):
    # no real connection is opened ahead to graph.facebook.com from a test
    monkeypatch.setattr(GraphClient, "_connect_ahead", lambda self, request: None)
    sessions: list[FakeSession] = []
    client = fake_client(lambda *_: answer(data={"id": "42"}), sessions, timeout=7.5)
    prepared = client.prepare_publish("1784", "1789", token=TOKEN)
    assert TOKEN not in repr(prepared)
    assert sessions[0].calls == []  # built, not sent
    assert client.send_publish(prepared) == "42"
    method, url, kwargs = sessions[0].calls[0]
    assert (method, url) == ("POST", "https://graph.facebook.com/v25.0/1784/media_publish")
    assert TOKEN not in url
    assert kwargs["prepared"].headers["Authorization"] == f"Bearer {TOKEN}"
    assert kwargs["prepared"].body == "creation_id=1789"
    assert kwargs["timeout"] == 7.5

    limit = {"error": {"message": "Application request limit reached", "code": 4}}
    failing = fake_client(lambda *_: answer(400, limit))
    with pytest.raises(GraphError) as raised:
        failing.send_publish(failing.prepare_publish("1784", "1789", token=TOKEN))
    assert raised.value.code == 4

    def unreachable(*_: Any) -> requests.Response:
        raise requests.ConnectionError(f"Max retries exceeded with url: /?access_token={TOKEN}")

    down = fake_client(unreachable)
    with pytest.raises(GraphConnectionError) as failed:
        down.send_publish(down.prepare_publish("1784", "1789", token=TOKEN))
    assert TOKEN not in str(failed.value)
