"""The resumable video upload (issue 16): `create_upload_container` and `upload_video`, against
the sandbox in process (MockTransport) and over HTTP (SandboxServer), both strict."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from graphtest import TOKEN

from igautopost.clock import FakeClock
from igautopost.graph import GraphClient, MockTransport, Request, Response
from igautopost.graph.client import UPLOAD_CHUNK
from igautopost.graph.errors import GraphConnectionError, GraphError, TokenInvalid
from igautopost.sandbox import SandboxConfig, SandboxServer, SandboxState
from igautopost.sandbox.inprocess import sandbox_handler

ACCOUNT = "17841400000000001"
OTHER_ACCOUNT = "17841400000000002"
OTHER_TOKEN = "EAAB-another-accounts-token"
START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
REEL = {"media_type": "REELS", "caption": "from a file"}


def mp4_bytes(size: int) -> bytes:
    """Bytes that start as an MP4 does (the sandbox reads the first box), then noise."""
    head = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    return head + os.urandom(size - len(head))


class ReadSpy(io.BytesIO):
    """A file that remembers the largest read asked of it: the upload streams, in chunks."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.largest_read = max(self.largest_read, len(data := super().read(size)))
        return data


class BreaksAfter(io.BytesIO):
    """A file whose reads fail past `limit` bytes (a disk error, a worker killed mid-upload)."""

    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)
        self.limit = limit

    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() >= self.limit:
            raise OSError("read failed")
        want = self.limit - self.tell() if size is None or size < 0 else size
        return super().read(min(want, self.limit - self.tell()))


@pytest.fixture(params=["in-process", "http"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[tuple[GraphClient, SandboxState]]:
    """A client and the sandbox state it talks to, in process or over HTTP."""
    config = SandboxConfig(tokens={TOKEN: ACCOUNT, OTHER_TOKEN: OTHER_ACCOUNT})
    clock = FakeClock(START)
    if request.param == "in-process":
        state = SandboxState(config, clock)
        transport = MockTransport(sandbox_handler(state))
        with GraphClient(base_url="http://sandbox.local", timeout=5, transport=transport) as client:
            yield client, state
        return
    with (
        SandboxServer(config, clock=clock) as server,
        GraphClient(base_url=server.url, timeout=5) as client,
    ):
        yield client, server.state


def arrived(state: SandboxState, container_id: str, timeout: float = 5.0) -> int:
    """The bytes the container got, once the server has seen the cut body (over HTTP it
    notices the client going away a moment after the client raised)."""
    deadline = time.monotonic() + timeout
    while True:
        received = state.with_lock(lambda: state.containers[container_id].upload_received)
        if received or time.monotonic() > deadline:
            return received
        time.sleep(0.01)


def status(client: GraphClient, container_id: str) -> str:
    return client.container_status(container_id, token=TOKEN).status_code


def test_a_reel_is_uploaded_in_chunks_and_then_processed(
    sandbox: tuple[GraphClient, SandboxState],
) -> None:
    client, state = sandbox
    made = client.create_upload_container(ACCOUNT, REEL, token=TOKEN)
    assert made.uri.endswith(f"/ig-api-upload/v25.0/{made.id}")
    assert status(client, made.id) == "IN_PROGRESS"
    data = mp4_bytes(2 * UPLOAD_CHUNK + 12345)
    media = ReadSpy(data)

    client.upload_video(made.uri, media, token=TOKEN)

    assert media.largest_read == UPLOAD_CHUNK  # never the whole file at once
    container = state.containers[made.id]
    assert (container.upload_size, container.upload_received) == (len(data), len(data))
    state.advance(state.config.video_processing_seconds)
    assert status(client, made.id) == "FINISHED"


def test_an_upload_resumes_from_an_offset(sandbox: tuple[GraphClient, SandboxState]) -> None:
    client, state = sandbox
    made = client.create_upload_container(ACCOUNT, REEL, token=TOKEN)
    data = mp4_bytes(300_000)

    with pytest.raises(GraphConnectionError) as cut:
        client.upload_video(made.uri, BreaksAfter(data, 100_000), token=TOKEN)
    assert TOKEN not in str(cut.value)
    received = arrived(state, made.id)
    assert 0 < received <= 100_000  # what arrived counts; the container waits for the rest
    state.advance(3600)
    assert status(client, made.id) == "IN_PROGRESS"

    client.upload_video(made.uri, io.BytesIO(data), token=TOKEN, offset=received)
    state.advance(state.config.video_processing_seconds)
    assert status(client, made.id) == "FINISHED"


def test_bytes_that_are_not_a_video_end_in_error_2207026(
    sandbox: tuple[GraphClient, SandboxState],
) -> None:
    client, state = sandbox
    made = client.create_upload_container(ACCOUNT, REEL, token=TOKEN)
    client.upload_video(made.uri, io.BytesIO(b"\xff\xd8\xff\xe0" + os.urandom(5000)), token=TOKEN)
    state.advance(state.config.video_processing_seconds)
    read = client.container_status(made.id, token=TOKEN)
    assert (read.status_code, read.error_subcode) == ("ERROR", 2207026)


def test_upload_errors_are_graph_errors_without_the_token(
    sandbox: tuple[GraphClient, SandboxState],
) -> None:
    client, state = sandbox
    made = client.create_upload_container(ACCOUNT, REEL, token=TOKEN)
    with pytest.raises(GraphError) as other:
        client.upload_video(made.uri, io.BytesIO(mp4_bytes(1000)), token=OTHER_TOKEN)
    assert (other.value.code, other.value.subcode) == (100, 33)
    state.revoke_token(TOKEN)
    with pytest.raises(TokenInvalid) as revoked:
        client.upload_video(made.uri, io.BytesIO(mp4_bytes(1000)), token=TOKEN)
    for error in (other.value, revoked.value):
        assert TOKEN not in str(error) and OTHER_TOKEN not in str(error)
        assert error.path == f"/ig-api-upload/v25.0/{made.id}"


def test_the_uri_is_used_verbatim_with_the_oauth_header() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        body = b"".join(request.stream or [])
        assert body == b"0123456789"[4:]
        return Response(200, {}, b'{"success": true, "message": "Upload successful."}')

    client = GraphClient(transport=MockTransport(handler))
    uri = "https://rupload.facebook.com/ig-api-upload/v25.0/17890000000000002"
    client.upload_video(uri, io.BytesIO(b"0123456789"), token=TOKEN, offset=4)
    (sent,) = seen
    assert sent.url == uri and TOKEN not in sent.url
    assert sent.headers["Authorization"] == f"OAuth {TOKEN}"
    assert (sent.headers["offset"], sent.headers["file_size"]) == ("4", "10")
    assert sent.headers["Content-Length"] == "6"


def test_an_answer_without_success_is_an_error() -> None:
    def handler(request: Request) -> Response:
        b"".join(request.stream or [])
        return Response(200, {}, b'{"success": false, "message": "try again"}')

    client = GraphClient(transport=MockTransport(handler))
    with pytest.raises(GraphError, match="not accepted: try again"):
        client.upload_video("https://rupload.facebook.com/x/1", io.BytesIO(b"abc"), token=TOKEN)


def test_a_resumable_create_without_a_uri_is_an_error() -> None:
    client = GraphClient(transport=MockTransport(lambda _: Response(200, {}, b'{"id": "1"}')))
    with pytest.raises(GraphError, match="without an upload uri"):
        client.create_upload_container(ACCOUNT, REEL, token=TOKEN)
