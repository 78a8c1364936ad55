"""Real media files and a local HTTP server for the media tests (issue 16).

Made in the tests so that every rule is tried on real bytes, not on mocks:

- `make_image(path, width, height, fmt="JPEG")`: a Pillow image (JPEG, PNG, WebP, GIF, ...).
- `make_video(path, width, height, seconds, ...)`: an H.264 MP4 made with PyAV (whose wheel
  carries FFmpeg with x264 and AAC), with or without the moov atom first (``faststart``) and
  an AAC audio track.
- `MediaServer`: a threaded HTTP server in this process serving one folder, whose answers a
  test controls per path: no HEAD, no Range, another content type, a status (404, 500), a
  redirect, a delay; and which counts the requests it got.

Import them as ``from makers import ...`` (pytest puts tests/media on the path); the
`media_server` fixture in tests/media/conftest.py starts one on a temporary folder.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
from PIL import Image


def make_image(
    path: Path, width: int, height: int, fmt: str = "JPEG", *, quality: int = 85
) -> Path:
    """A ``width`` x ``height`` image in ``fmt`` (a Pillow format name) at ``path``.

    A smooth gradient, so a JPEG stays small; use `make_noise_image` for a big file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    options: dict[str, Any] = {"quality": quality} if fmt.upper() in ("JPEG", "WEBP") else {}
    image.save(path, format=fmt, **options)
    return path


def make_noise_image(path: Path, width: int, height: int, fmt: str = "JPEG") -> Path:
    """Random pixels: an image whose file is about as big as its format allows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = os.urandom(width * height * 3)
    options: dict[str, Any] = {"quality": 100} if fmt.upper() == "JPEG" else {}
    Image.frombytes("RGB", (width, height), pixels).save(path, format=fmt, **options)
    return path


def make_video(
    path: Path,
    width: int = 720,
    height: int = 1280,
    seconds: float = 4.0,
    *,
    fps: int = 10,
    faststart: bool = True,
    audio: bool = True,
    codec: str = "libx264",
    audio_codec: str = "aac",
    container: str = "mp4",
) -> Path:
    """A ``seconds`` long video of ``width`` x ``height`` at ``path``: H.264 (``codec``) in an
    MP4 (``container``: "mp4" or "mov"), with an ``audio_codec`` (AAC) track when ``audio``,
    and the moov
    atom first when ``faststart`` (FFmpeg writes it last otherwise).

    Low frame rate and flat frames keep it small and quick to make (about 0.1 s for 4 s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"} if codec == "libx264" else {}
        sound = out.add_stream(audio_codec, rate=44_100) if audio else None
        frames = max(1, round(seconds * fps))
        for n in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([(n * 7) % 256]) * plane.buffer_size)
            frame.pts = n
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            samples_per_frame = 1024
            total = round(seconds * 44_100)
            for start in range(0, total, samples_per_frame):
                chunk = av.AudioFrame(format="fltp", layout="mono", samples=samples_per_frame)
                for plane in chunk.planes:
                    plane.update(bytes(plane.buffer_size))
                chunk.sample_rate = 44_100
                chunk.pts = start
                chunk.time_base = Fraction(1, 44_100)
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


@dataclass
class Behaviour:
    """How the server answers one path (or, as `MediaServer.default`, every path)."""

    status: int | None = None  # answer this status (404, 500, ...) instead of the file
    content_type: str | None = None  # instead of the one guessed from the extension
    head: bool = True  # False: HEAD answers 405
    ranges: bool = True  # False: a Range header is ignored (200 with the whole file)
    content_length: bool = True  # False: no Content-Length (chunk-less, connection close)
    redirect_to: str | None = None  # answer 302 with this Location
    delay: float = 0.0  # seconds to wait before answering


CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".m4v": "video/mp4",
}


@dataclass
class MediaServer:
    """A threaded HTTP server on 127.0.0.1 serving ``root``; `url` names a file in it.

    >>> server = MediaServer(root).start()          # doctest: +SKIP
    >>> server.behave("/a.jpg", status=500)          # doctest: +SKIP
    >>> server.requests["GET /a.jpg"]                # doctest: +SKIP
    """

    root: Path
    default: Behaviour = field(default_factory=Behaviour)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)  # "GET /a.jpg" -> count
    bytes_sent: int = 0
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    max_in_flight: int = 0  # the most requests answered at once (for concurrency tests)

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start the server first"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name.lstrip('/')}"

    def behave(self, path: str, **changes: Any) -> None:
        """Set how ``path`` ("/a.jpg" or "a.jpg") is answered from now on."""
        self.behaviours["/" + path.lstrip("/")] = Behaviour(**changes)

    def count(self, path: str, method: str = "GET") -> int:
        return self.requests[f"{method} /{path.lstrip('/')}"]

    def total_requests(self) -> int:
        return sum(self.requests.values())

    def start(self) -> MediaServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, as real servers do

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

            def do_HEAD(self) -> None:
                server._answer(self, head=True)

            def do_GET(self) -> None:
                server._answer(self, head=False)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, handler: BaseHTTPRequestHandler, *, head: bool) -> None:
        path = handler.path.split("?", 1)[0]
        method = "HEAD" if head else "GET"
        with self._lock:
            self.requests[f"{method} {path}"] += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            self._respond(handler, path, head=head)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _respond(self, handler: BaseHTTPRequestHandler, path: str, *, head: bool) -> None:
        how = self.behaviours.get(path, self.default)
        if how.delay:
            time.sleep(how.delay)
        if how.redirect_to is not None:
            self._plain(handler, HTTPStatus.FOUND, head, location=how.redirect_to)
            return
        if how.status is not None:
            self._plain(handler, how.status, head)
            return
        if head and not how.head:
            self._plain(handler, HTTPStatus.METHOD_NOT_ALLOWED, head)
            return
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root.resolve()) or not file.is_file():
            self._plain(handler, HTTPStatus.NOT_FOUND, head)
            return
        data = file.read_bytes()
        total = len(data)
        status = HTTPStatus.OK
        headers = {
            "Content-Type": how.content_type or CONTENT_TYPES.get(file.suffix.lower(), ""),
            "Accept-Ranges": "bytes" if how.ranges else "none",
        }
        wanted = handler.headers.get("Range")
        if how.ranges and wanted and wanted.startswith("bytes="):
            first_text, _, last_text = wanted[6:].partition("-")
            first = int(first_text or 0)
            last = min(int(last_text) if last_text else total - 1, total - 1)
            if first < total:
                data = data[first : last + 1]
                status = HTTPStatus.PARTIAL_CONTENT
                headers["Content-Range"] = f"bytes {first}-{last}/{total}"
        handler.send_response(status)
        for name, value in headers.items():
            if value:
                handler.send_header(name, value)
        if how.content_length:
            handler.send_header("Content-Length", str(len(data)))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if not head:
            try:
                handler.wfile.write(data)
                with self._lock:
                    self.bytes_sent += len(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client read what it wanted and left

    @staticmethod
    def _plain(
        handler: BaseHTTPRequestHandler, status: int, head: bool, location: str | None = None
    ) -> None:
        body = f"{status}\n".encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(body)))
        if location is not None:
            handler.send_header("Location", location)
        handler.end_headers()
        if not head:
            handler.wfile.write(body)
