"""Every rule accepted and refused on real files (local ``media_path``), and what is said
about a file that is missing, empty or a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from igautopost.errors import Problem
from igautopost.media.preflight import MediaCheckPolicy, check_media
from posts import carousel, post


def problems_of(library: Path, *specs: object) -> list[str]:
    report = check_media(specs, base_dir=library, policy=MediaCheckPolicy())  # type: ignore[arg-type]
    assert report.unchecked == []
    return [str(p) for p in report.problems]


@pytest.mark.parametrize(
    ("media_type", "name"),
    [
        ("image", "feed.jpg"),
        ("image", "square.jpg"),
        ("image", "wide.jpg"),
        ("image", "rotated.jpg"),  # 1350x1080 stored, 4:5 as shown
        ("story", "story.jpg"),
        ("story", "pano.jpg"),  # a story image takes any ratio
        ("reel", "reel.mp4"),
        ("reel", "clip.mov"),
        ("reel", "silent.mp4"),
        ("story", "reel.mp4"),
    ],
)
def test_media_that_follows_the_rules_passes(library: Path, media_type: str, name: str) -> None:
    assert problems_of(library, post(media_type, name)) == []


@pytest.mark.parametrize(
    ("media_type", "name", "expected"),
    [
        ("image", "photo.png", "is a PNG: Instagram takes JPEG only for feed images"),
        ("image", "photo.webp", "is a WebP: Instagram takes JPEG only for feed images"),
        ("story", "photo.png", "is a PNG: Instagram takes JPEG only for story images"),
        ("image", "pano.jpg", "aspect ratio 3.00:1 (3000x1000) is outside 4:5 .. 1.91:1"),
        ("image", "too_tall.jpg", "aspect ratio 0.77:1 (1080x1400) is outside 4:5 .. 1.91:1"),
        ("image", "big.jpg", "is 9.0 MB: feed images must be at most 8 MB"),
        ("reel", "short.mp4", "reel is 2.0 s long: reels must be 3 s .. 15 min"),
        ("story", "short.mp4", "story video is 2.0 s long: story videos must be 3 s .. 1 min"),
        ("reel", "late_moov.mp4", "has its index (the moov atom) after the media data"),
        ("reel", "mpeg4.mp4", "video codec is MPEG-4 Visual: reels must be H.264 (AVC) or HEVC"),
        ("reel", "ac3.mp4", "audio codec is AC-3: reels take AAC audio only"),
        ("reel", "feed.jpg", "is an image: reels must be videos"),
        ("image", "reel.mp4", "is a video: feed images must be images"),
    ],
)
def test_each_broken_rule_is_one_line(
    library: Path, media_type: str, name: str, expected: str
) -> None:
    found = problems_of(library, post(media_type, name))
    assert len(found) == 1, found
    assert found[0].startswith(f"post 1: media_path: {expected}")


def test_carousel_items_are_named_by_their_position(library: Path) -> None:
    spec = carousel("feed.jpg", "photo.png", "reel.mp4", "short.mp4")
    assert problems_of(library, spec) == [
        "post 1: children[1].media_path: is a PNG: Instagram takes JPEG only for carousel images",
        "post 1: children[3].media_path: carousel video is 2.0 s long: "
        "carousel videos must be 3 s .. 1 min",
    ]


def test_paths_are_read_relative_to_the_base_folder(library: Path, tmp_path: Path) -> None:
    report = check_media([post("image", "feed.jpg")], base_dir=tmp_path)
    [problem] = report.problems
    assert problem.field == "media_path"
    assert problem.message == f"no such file: {tmp_path / 'feed.jpg'}"
    assert check_media([post("image", "feed.jpg")], base_dir=library).problems == []


def test_a_folder_and_an_empty_file_are_problems(tmp_path: Path) -> None:
    (tmp_path / "folder.jpg").mkdir()
    (tmp_path / "empty.jpg").write_bytes(b"")
    report = check_media(
        [post("image", "folder.jpg"), post("image", "empty.jpg")], base_dir=tmp_path
    )
    assert [(p.index, p.message.split(":")[0]) for p in report.problems] == [
        (0, "is a folder, not a file"),
        (1, "the file is empty"),
    ]


def test_a_file_in_no_media_format_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not a picture")
    report = check_media([post("image", "notes.jpg")], base_dir=tmp_path)
    assert report.unchecked == []
    assert report.problems == [
        Problem(
            "media_path", "is not an image or a video: its first bytes match no media format", 0
        )
    ]


def test_a_base_folder_per_post(library: Path, tmp_path: Path) -> None:
    folders = {0: library, 1: tmp_path}
    report = check_media(
        [post("image", "feed.jpg"), post("image", "feed.jpg")],
        base_dir=lambda index: folders[index or 0],
    )
    assert [p.index for p in report.problems] == [1]
