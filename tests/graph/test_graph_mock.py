"""The client driven by `MockTransport`: a plain function answers, no HTTP server; and the
held-ahead request is a capability a transport may lack (`prepared.OpensAhead`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphtest import TOKEN

from igautopost.graph import (
    GraphClient,
    GraphTimeout,
    MockTransport,
    OpensAhead,
    RateLimited,
    Request,
    Response,
    TokenInvalid,
    Urllib3Transport,
)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, {"Content-Type": "application/json"}, json.dumps(data).encode())


def mock_client(answers: dict[tuple[str, str], Response], seen: list[Request]) -> GraphClient:
    """A client whose transport answers by (method, path) and records every request."""

    def handler(request: Request) -> Response:
        seen.append(request)
        return answers[(request.method, request.path)]

    return GraphClient(transport=MockTransport(handler), timeout=5.0)


def test_the_publishing_calls_run_on_a_mock_transport():
    seen: list[Request] = []
    client = mock_client(
        {
            ("POST", "/v25.0/1784/media"): json_response({"id": "1789"}),
            ("GET", "/v25.0/1789"): json_response({"id": "1789", "status_code": "FINISHED"}),
            ("POST", "/v25.0/1784/media_publish"): json_response({"id": "1790"}),
        },
        seen,
    )
    container_id = client.create_container("1784", {"image_url": "https://x/a.jpg"}, token=TOKEN)
    assert client.container_status(container_id, token=TOKEN).status_code == "FINISHED"
    assert client.publish("1784", container_id, token=TOKEN) == "1790"
    assert [request.method for request in seen] == ["POST", "GET", "POST"]
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].body == b"image_url=https%3A%2F%2Fx%2Fa.jpg"
    assert all(TOKEN not in request.url for request in seen)
    client.close()  # a transport without connections has nothing to close


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (
            400,
            {"message": "Error validating access token", "code": 190, "error_subcode": 463},
            TokenInvalid,
        ),
        (400, {"message": "Application request limit reached", "code": 4}, RateLimited),
    ],
)
def test_an_error_body_becomes_its_graph_error_class(status, error, kind):
    error = {**error, "fbtrace_id": "AbC"}
    client = mock_client(
        {("POST", "/v25.0/1784/media"): json_response({"error": error}, status)}, []
    )
    with pytest.raises(kind) as raised:
        client.create_container("1784", {"image_url": "https://x/a.jpg"}, token=TOKEN)
    assert raised.value.code == error["code"]
    assert (raised.value.method, raised.value.path) == ("POST", "/v25.0/1784/media")
    assert TOKEN not in str(raised.value)


def test_a_handler_that_raises_is_a_network_failure():
    def silent(request: Request) -> Response:
        raise TimeoutError("read timed out")

    client = GraphClient(transport=MockTransport(silent), timeout=2.0)
    with pytest.raises(GraphTimeout):
        client.media("1790", token=TOKEN)


def test_holding_a_request_ahead_is_optional():
    assert isinstance(Urllib3Transport(), OpensAhead)
    assert not isinstance(MockTransport(lambda request: json_response({})), OpensAhead)

    seen: list[Request] = []
    client = mock_client({("POST", "/v25.0/1784/media_publish"): json_response({"id": "42"})}, seen)
    prepared = client.prepare_publish("1784", "1789", token=TOKEN)
    assert seen == []  # built, not sent: this transport holds nothing ahead
    assert prepared.launch() is False  # so nothing can leave early
    assert client.send_publish(prepared) == "42"
    assert [(request.method, request.path) for request in seen] == [
        ("POST", "/v25.0/1784/media_publish")
    ]


def test_the_api_host_is_an_explicit_argument():
    seen: list[Request] = []
    client = mock_client(
        {
            ("GET", "/v25.0/1784/content_publishing_limit"): json_response({"data": []}),
            ("GET", "/refresh_access_token"): json_response(
                {"access_token": "IGAAfresh", "expires_in": 5183944}
            ),
        },
        seen,
    )
    client.publishing_limit("1784", token=TOKEN)
    client.publishing_limit("1784", token=TOKEN, host="https://graph.instagram.com/")
    client.refresh_token(TOKEN, host="http://127.0.0.1:8997")
    assert [request.url.partition("?")[0] for request in seen] == [
        "https://graph.facebook.com/v25.0/1784/content_publishing_limit",
        "https://graph.instagram.com/v25.0/1784/content_publishing_limit",
        "http://127.0.0.1:8997/refresh_access_token",
    ]
