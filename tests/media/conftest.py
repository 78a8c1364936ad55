"""Media test fixtures: a local HTTP server serving a temporary folder (see makers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from makers import MediaServer, make_image, make_video
from PIL import Image


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[MediaServer]:
    """A `MediaServer` on 127.0.0.1 serving ``tmp_path / "served"`` (made empty): put files
    there with the makers, then ask for ``media_server.url("name.jpg")``."""
    root = tmp_path / "served"
    root.mkdir()
    with MediaServer(root) as server:
        yield server


LIBRARY_IMAGES = {  # name: (width, height, Pillow format)
    "feed.jpg": (1080, 1350, "JPEG"),  # 4:5, the narrowest feed ratio
    "square.jpg": (1080, 1080, "JPEG"),
    "wide.jpg": (1910, 1000, "JPEG"),  # 1.91:1, the widest
    "pano.jpg": (3000, 1000, "JPEG"),  # 3:1
    "too_tall.jpg": (1080, 1400, "JPEG"),  # 0.77:1, narrower than 4:5
    "story.jpg": (1080, 1920, "JPEG"),
    "photo.png": (1080, 1080, "PNG"),
    "photo.webp": (1080, 1080, "WEBP"),
}
LIBRARY_VIDEOS: dict[str, dict[str, object]] = {  # name: make_video's arguments
    "reel.mp4": {"width": 360, "height": 640, "seconds": 4.0},
    "short.mp4": {"width": 360, "height": 640, "seconds": 2.0},
    "late_moov.mp4": {"width": 360, "height": 640, "seconds": 4.0, "faststart": False},
    "clip.mov": {"width": 480, "height": 480, "seconds": 4.0, "container": "mov"},
    "silent.mp4": {"width": 360, "height": 640, "seconds": 4.0, "audio": False},
    "mpeg4.mp4": {"width": 360, "height": 640, "seconds": 4.0, "codec": "mpeg4"},
    "ac3.mp4": {"width": 360, "height": 640, "seconds": 4.0, "audio_codec": "ac3"},
}
BIG_PADDING = 9 * 1024 * 1024  # after a JPEG's end: still a JPEG to every reader, and 9 MB


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of real media, made once per session: LIBRARY_IMAGES, LIBRARY_VIDEOS, and
    ``big.jpg`` (feed.jpg padded to over 8 MB) and ``rotated.jpg`` (1350x1080 stored, shown
    1080x1350 by its EXIF orientation)."""
    root = tmp_path_factory.mktemp("library")
    for name, (width, height, fmt) in LIBRARY_IMAGES.items():
        make_image(root / name, width, height, fmt)
    for name, options in LIBRARY_VIDEOS.items():
        make_video(root / name, **options)  # type: ignore[arg-type]
    (root / "big.jpg").write_bytes((root / "feed.jpg").read_bytes() + bytes(BIG_PADDING))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turned a quarter clockwise
    Image.new("RGB", (1350, 1080)).save(root / "rotated.jpg", "JPEG", exif=exif.tobytes())
    return root


@pytest.fixture
def library_server(library: Path) -> Iterator[MediaServer]:
    """A `MediaServer` serving the session's `library`, with fresh behaviours and counts."""
    with MediaServer(library) as server:
        yield server
