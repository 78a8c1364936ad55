"""The sandbox's resumable upload is strict, and its fetch mode fails like Instagram (issue 16).

Every rule is tried both in process (`sandbox_handler` behind a MockTransport) and over HTTP
(a SandboxServer), with raw requests, so that headers the GraphClient never gets wrong can
be sent wrong here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from igautopost.clock import FakeClock
from igautopost.graph.transport import MockTransport, Request, Transport, Urllib3Transport
from igautopost.sandbox import SandboxConfig, SandboxServer, SandboxState
from igautopost.sandbox.inprocess import sandbox_handler

sys.path.insert(0, str(Path(__file__).parents[1] / "media"))
from makers import MediaServer, make_image, make_video

ACCOUNT = "17841400000000001"
TOKEN = "EAAB-upload-rules-token"
OTHER_TOKEN = "EAAB-other-account-token"
START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
VIDEO = b"\x00\x00\x00\x20ftypisom" + os.urandom(988)  # 1000 bytes, an MP4's first box


@dataclass
class Sandbox:
    state: SandboxState
    transport: Transport
    base: str

    def call(
        self, method: str, path: str, params: dict[str, str] | None = None, token: str = TOKEN
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"}
        body = None
        url = self.base + path
        if method == "POST":
            body = urlencode(params or {}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif params:
            url += "?" + urlencode(params)
        answer = self.transport.send(Request(method, path, url, headers, body, 10.0))
        return answer.status, json.loads(answer.body)

    def create(self, **params: str) -> dict[str, Any]:
        status, body = self.call("POST", f"/v25.0/{ACCOUNT}/media", params)
        assert status == 200, body
        return body

    def resumable(self) -> dict[str, Any]:
        return self.create(media_type="REELS", upload_type="resumable")

    def upload(
        self, created: dict[str, Any], data: bytes, **headers: str
    ) -> tuple[int, dict[str, Any]]:
        sent = {
            "Authorization": f"OAuth {TOKEN}",
            "offset": "0",
            "file_size": str(len(data)),
            "Content-Type": "application/octet-stream",
            **headers,
        }
        sent = {name: value for name, value in sent.items() if value != "-"}  # "-": left out
        path = created["uri"].split(self.base, 1)[1]
        answer = self.transport.send(Request("POST", path, created["uri"], sent, data, 10.0))
        return answer.status, json.loads(answer.body)

    def status(self, container_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v25.0/{container_id}", {"fields": "status_code,status"})[1]

    def finish_processing(self) -> None:
        self.state.advance(self.state.config.video_processing_seconds)


def error(answer: tuple[int, dict[str, Any]]) -> tuple[int, int, int | None]:
    status, body = answer
    return status, body["error"]["code"], body["error"].get("error_subcode")


@pytest.fixture(params=["in-process", "http"])
def make_sandbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    servers: list[SandboxServer] = []
    transports: list[Urllib3Transport] = []

    def make(**settings: Any) -> Sandbox:
        config = SandboxConfig(
            tokens={TOKEN: ACCOUNT, OTHER_TOKEN: "17841400000000002"}, **settings
        )
        if request.param == "in-process":
            state = SandboxState(config, FakeClock(START))
            return Sandbox(state, MockTransport(sandbox_handler(state)), "http://sandbox.local")
        server = SandboxServer(config, clock=FakeClock(START)).start()
        servers.append(server)
        transports.append(Urllib3Transport())
        return Sandbox(server.state, transports[-1], server.url)

    yield make
    for transport in transports:
        transport.close()
    for server in servers:
        server.stop()


# -- the upload ------------------------------------------------------------------------------


def test_a_whole_upload_starts_processing(make_sandbox: Any) -> None:
    sandbox = make_sandbox()
    created = sandbox.resumable()
    assert sandbox.upload(created, VIDEO) == (
        200,
        {"success": True, "message": "Upload successful."},
    )
    assert sandbox.status(created["id"])["status_code"] == "IN_PROGRESS"
    sandbox.finish_processing()
    assert sandbox.status(created["id"])["status_code"] == "FINISHED"


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (f"Bearer {TOKEN}", (400, 190, None)),  # the upload host takes the OAuth scheme only
        ("-", (400, 190, None)),
        ("OAuth EAAB-unknown", (400, 190, None)),
        (f"OAuth {OTHER_TOKEN}", (400, 100, 33)),  # another account's token: no such object
    ],
)
def test_the_oauth_header_must_carry_the_containers_accounts_token(
    make_sandbox: Any, authorization: str, expected: tuple[int, int, int | None]
) -> None:
    sandbox = make_sandbox()
    created = sandbox.resumable()
    assert error(sandbox.upload(created, VIDEO, Authorization=authorization)) == expected
    assert sandbox.state.containers[created["id"]].upload_received == 0


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"offset": "-"}, "offset is required"),
        ({"file_size": "-"}, "file_size is required"),
        ({"offset": "abc"}, "offset must be a whole number"),
        ({"file_size": "-5"}, "file_size must be a whole number"),
        ({"file_size": "0"}, "not 0"),
        ({"offset": "10"}, "beyond the 0 bytes received: resume at offset 0"),
        ({"file_size": "999"}, "more than its file_size"),
    ],
)
def test_missing_or_wrong_offset_and_file_size_headers_are_refused(
    make_sandbox: Any, headers: dict[str, str], says: str
) -> None:
    sandbox = make_sandbox()
    created = sandbox.resumable()
    status, body = sandbox.upload(created, VIDEO, **headers)
    assert (status, body["error"]["code"], body["error"]["type"]) == (400, 100, "OAuthException")
    assert says in body["error"]["message"]
    assert sandbox.status(created["id"])["status_code"] == "IN_PROGRESS"


def test_a_partial_upload_waits_and_resumes_from_its_offset(make_sandbox: Any) -> None:
    sandbox = make_sandbox()
    created = sandbox.resumable()
    size = str(len(VIDEO))
    status, body = sandbox.upload(created, VIDEO[:400], file_size=size)
    assert (status, body["success"], body["offset"]) == (200, True, 400)
    sandbox.state.advance(3600)
    assert sandbox.status(created["id"])["status_code"] == "IN_PROGRESS"  # waiting for bytes

    assert (
        "beyond the 400 bytes"
        in sandbox.upload(created, VIDEO[500:], offset="500", file_size=size)[1]["error"]["message"]
    )
    assert (
        "differs from the size"
        in sandbox.upload(created, VIDEO[400:], offset="400", file_size="5000")[1]["error"][
            "message"
        ]
    )

    answer = sandbox.upload(created, VIDEO[400:], offset="400", file_size=size)
    assert answer == (200, {"success": True, "message": "Upload successful."})
    sandbox.finish_processing()
    assert sandbox.status(created["id"])["status_code"] == "FINISHED"
    assert "uploaded already" in sandbox.upload(created, VIDEO)[1]["error"]["message"]


def test_bytes_that_are_not_a_video_end_in_error_2207026(make_sandbox: Any, tmp_path: Path) -> None:
    sandbox = make_sandbox()
    created = sandbox.resumable()
    jpeg = make_image(tmp_path / "a.jpg", 400, 500).read_bytes()
    assert sandbox.upload(created, jpeg)[0] == 200
    sandbox.finish_processing()
    assert sandbox.status(created["id"]) == {
        "status_code": "ERROR",
        "status": "Error: Media upload has failed with error code 2207026",
    }


def test_only_a_resumable_container_takes_an_upload(make_sandbox: Any) -> None:
    sandbox = make_sandbox()
    created = sandbox.create(media_type="REELS", video_url="https://cdn.example.com/a.mp4")
    created["uri"] = f"{sandbox.base}/ig-api-upload/v25.0/{created['id']}"
    status, body = sandbox.upload(created, VIDEO)
    assert status == 400 and "upload_type=resumable" in body["error"]["message"]


# -- fetching media URLs ---------------------------------------------------------------------


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[MediaServer]:
    root = tmp_path / "served"
    make_image(root / "photo.jpg", 1080, 1350)
    make_image(root / "photo.png", 1080, 1350, "PNG")
    make_video(root / "clip.mp4", 160, 284, 1.0, audio=False)
    (root / "fake.mp4").write_bytes(b"<html>not a video</html>")
    with MediaServer(root) as server:
        yield server


def test_fetching_is_off_by_default(make_sandbox: Any) -> None:
    sandbox = make_sandbox()
    assert "id" in sandbox.create(image_url="http://127.0.0.1:9/nothing-listens-here.jpg")


def test_a_fetched_jpeg_and_mp4_are_accepted(make_sandbox: Any, media_server: MediaServer) -> None:
    sandbox = make_sandbox(fetch_media=True)
    image = sandbox.create(image_url=media_server.url("photo.jpg"))
    reel = sandbox.create(media_type="REELS", video_url=media_server.url("clip.mp4"))
    sandbox.finish_processing()
    assert sandbox.status(image["id"])["status_code"] == "FINISHED"
    assert sandbox.status(reel["id"])["status_code"] == "FINISHED"
    assert media_server.count("photo.jpg") == media_server.count("clip.mp4") == 1


@pytest.mark.parametrize(
    ("name", "behaviour", "expected"),
    [
        ("photo.jpg", {"status": 404}, (400, 9004, 2207052)),
        ("photo.jpg", {"status": 503}, (400, 9004, 2207052)),
        ("photo.png", {}, (400, 36001, 2207005)),
    ],
)
def test_a_url_instagram_could_not_use_fails_the_create_call(
    make_sandbox: Any,
    media_server: MediaServer,
    name: str,
    behaviour: dict[str, Any],
    expected: tuple[int, int, int],
) -> None:
    sandbox = make_sandbox(fetch_media=True)
    if behaviour:
        media_server.behave(name, **behaviour)
    answer = sandbox.call("POST", f"/v25.0/{ACCOUNT}/media", {"image_url": media_server.url(name)})
    assert error(answer) == expected
    assert sandbox.state.containers == {}


def test_an_unreachable_url_fails_with_9004(make_sandbox: Any) -> None:
    sandbox = make_sandbox(fetch_media=True, fetch_timeout_seconds=2)
    url = "http://127.0.0.1:9/nothing-listens-here.jpg"
    answer = sandbox.call("POST", f"/v25.0/{ACCOUNT}/media", {"image_url": url})
    assert error(answer) == (400, 9004, 2207052)
    assert url not in json.dumps(answer[1])


def test_a_cover_that_is_not_a_jpeg_is_refused(
    make_sandbox: Any, media_server: MediaServer
) -> None:
    sandbox = make_sandbox(fetch_media=True)
    params = {
        "media_type": "REELS",
        "video_url": media_server.url("clip.mp4"),
        "cover_url": media_server.url("photo.png"),
    }
    assert error(sandbox.call("POST", f"/v25.0/{ACCOUNT}/media", params)) == (400, 36001, 2207005)


def test_a_video_url_that_is_not_a_video_ends_in_error(
    make_sandbox: Any, media_server: MediaServer
) -> None:
    sandbox = make_sandbox(fetch_media=True)
    reel = sandbox.create(media_type="REELS", video_url=media_server.url("fake.mp4"))
    sandbox.finish_processing()
    assert sandbox.status(reel["id"])["status"].endswith("error code 2207026")
