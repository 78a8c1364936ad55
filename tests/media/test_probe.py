"""What the probe reads from a file's first bytes, as a URL's check sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
from makers import make_video

from igautopost.media.probe import HEAD_BYTES, MediaFacts, probe_bytes, probe_file, sniff


def head_of(path: Path) -> MediaFacts:
    data = path.read_bytes()
    return probe_bytes(data[:HEAD_BYTES], size=len(data))


@pytest.fixture(scope="module")
def big_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """720x1280, 4 s: bigger than the 64 KB read of a URL; by faststart (moov first)."""
    root = tmp_path_factory.mktemp("videos")
    made = {
        fast: make_video(root / f"{fast}.mp4", 720, 1280, 4.0, faststart=fast)
        for fast in (True, False)
    }
    assert all(path.stat().st_size > 2 * HEAD_BYTES for path in made.values())
    return made


def test_a_faststart_mp4_is_read_whole_from_its_first_64_kb(big_videos: dict[bool, Path]) -> None:
    facts = head_of(big_videos[True])
    assert facts == probe_file(big_videos[True])
    assert (facts.format, facts.video_codec, facts.audio_codec) == ("MPEG-4", "AVC", "AAC")
    assert (facts.width, facts.height, facts.moov_first) == (720, 1280, True)
    assert facts.duration is not None and 3.9 <= facts.duration <= 4.1


def test_a_late_moov_is_seen_from_the_first_bytes_and_nothing_else_is_claimed(
    big_videos: dict[bool, Path],
) -> None:
    facts = head_of(big_videos[False])
    assert (facts.is_video, facts.moov_first, facts.duration, facts.width) == (
        True, False, None, None,
    )  # fmt: skip
    assert probe_file(big_videos[False]).duration is not None  # a local file: read whole


@pytest.mark.parametrize(
    ("name", "fmt", "size"),
    [
        ("feed.jpg", "JPEG", (1080, 1350)),
        ("photo.png", "PNG", (1080, 1080)),
        ("photo.webp", "WEBP", (1080, 1080)),
        ("rotated.jpg", "JPEG", (1080, 1350)),
        ("big.jpg", "JPEG", (1080, 1350)),
    ],
)
def test_images_from_their_first_bytes(
    library: Path, name: str, fmt: str, size: tuple[int, int]
) -> None:
    facts = head_of(library / name)
    assert (facts.format, (facts.width, facts.height)) == (fmt, size)
    assert facts.size == (library / name).stat().st_size


def test_magic_bytes() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypheic") == ("HEIC", False)
    assert sniff(b"\x00\x00\x00\x18ftypisom") == ("MPEG-4", True)
    assert sniff(b"\x1a\x45\xdf\xa3") == ("WebM", True)
    assert sniff(b"<!doctype html>") == (None, None)


def test_a_truncated_jpeg_header_leaves_the_size_unknown_and_says_so() -> None:
    facts = probe_bytes(b"\xff\xd8\xff\xe1\xff\xf0Exif" + bytes(100), size=10_000_000)
    assert (facts.format, facts.width) == ("JPEG", None)
    assert facts.unread == "its first bytes do not show the picture's size"
