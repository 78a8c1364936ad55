"""`igautopost schedule --server URL` with a local file (issue 16): the post goes as
multipart/form-data with the file in its `media_url` field; its media is checked here first.

The server's side (the API reading the upload) is another part of the issue; these tests run
the client against a small fake that records what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from igautopost_cli.remote import HttpPosts

from igautopost import InvalidPost
from igautopost.media.preflight import MediaCheckPolicy

NOW = datetime(2031, 1, 1, 8, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


class Recorded:
    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []  # (content type, body)


@pytest.fixture
def fake_server() -> Iterator[tuple[str, Recorded]]:
    """Answers every POST /api/v1/posts/ with 201 and a post, keeping what it got."""
    recorded = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorded.requests.append((self.headers["Content-Type"], body))
            answer = json.dumps(
                {
                    "id": len(recorded.requests),
                    "user_id": 17841400000000001,
                    "account": "17841400000000001",
                    "media_type": "reel",
                    "url": "https://media.example.org/copy.mp4",
                    "publish_at": "2035-06-01T09:00:00Z",
                    "status": "scheduled",
                    "created_at": "2031-01-01T08:00:00Z",
                    "updated_at": "2031-01-01T08:00:00Z",
                }
            ).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", recorded
    httpd.shutdown()
    httpd.server_close()


def reel(**fields: Any) -> dict[str, Any]:
    return {
        "account": "17841400000000001",
        "access_token": "EAAB-remote-token",
        "media_type": "reel",
        "caption": "From a file",
        "publish_at": "2035-06-01T09:00:00+00:00",
        **fields,
    }


def form_of(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        parts[name] = (filename, part.get_content_type(), payload) if filename else payload.decode()
    return parts


def test_a_local_file_goes_as_multipart_in_media_url(
    fake_server: tuple[str, Recorded], library: Path
) -> None:
    url, recorded = fake_server
    items = [reel(media_path="reel.mp4"), reel(media_url="https://example.com/a.mp4")]
    with HttpPosts(url, "key") as remote:
        result = remote.schedule(items, now=NOW, zone=UTC_ZONE, media_check=False, base_dir=library)
    assert [post.id for post in result.created] == [1, 2]
    (multipart, form), (plain, body) = recorded.requests
    assert multipart.startswith("multipart/form-data")
    fields = form_of(multipart, form)
    assert fields["media_url"] == ("reel.mp4", "video/mp4", (library / "reel.mp4").read_bytes())
    assert fields["caption"] == "From a file"
    assert fields["media_type"] == "reel"
    assert fields["timezone"] == "UTC"
    assert "media_path" not in fields
    assert plain == "application/json"
    assert json.loads(body)["media_url"] == "https://example.com/a.mp4"


def test_the_media_is_checked_here_before_anything_is_sent(
    fake_server: tuple[str, Recorded], library: Path
) -> None:
    url, recorded = fake_server
    items = [reel(media_path="reel.mp4"), reel(media_path="short.mp4")]
    remote = HttpPosts(url, "key", media_policy=MediaCheckPolicy())
    with remote, pytest.raises(InvalidPost) as refused:
        remote.schedule(items, now=NOW, zone=UTC_ZONE, base_dir=library)
    [problem] = refused.value.problems
    assert (problem.index, problem.field) == (1, "media_path")
    assert "reels must be 3 s .. 15 min" in problem.message
    assert recorded.requests == []  # all or nothing: the server saw none


def test_a_carousel_of_local_files_is_refused_before_sending(
    fake_server: tuple[str, Recorded], library: Path
) -> None:
    url, recorded = fake_server
    carousel = reel(
        media_type="carousel", children=[{"media_path": "feed.jpg"}, {"media_path": "feed.jpg"}]
    )
    remote = HttpPosts(url, "key")
    with remote, pytest.raises(InvalidPost) as refused:
        remote.schedule([carousel], now=NOW, zone=UTC_ZONE, media_check=False, base_dir=library)
    assert [p.field for p in refused.value.problems] == [
        "children[0].media_path",
        "children[1].media_path",
    ]
    assert recorded.requests == []
