"""`igautopost validate` checks the media: broken rules are invalid lines naming the post's
file and line, what could not be checked is a warning, and --no-media-check skips it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from makers import MediaServer


@pytest.fixture
def checking(cli: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IGAUTOPOST_MEDIA_CHECK", "true")
    monkeypatch.setenv("IGAUTOPOST_MEDIA_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("IGAUTOPOST_MEDIA_CHECK_TIMEOUT", "10")
    return cli


def lines(*posts: dict[str, Any]) -> str:
    return "".join(json.dumps(p) + "\n" for p in posts)


def test_broken_rules_are_invalid_lines_with_the_place(
    checking: Any, make_post: Any, library_server: MediaServer
) -> None:
    url = library_server.url
    path = checking.write(
        "posts.jsonl",
        lines(
            make_post(media_url=url("feed.jpg")),
            make_post(media_url=url("photo.png")),
            make_post(media_type="reel", media_url=url("short.mp4")),
        ),
    )
    result = checking("validate", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"invalid: {path}:2: media_url: is a PNG: Instagram takes JPEG only for feed images",
        f"invalid: {path}:3: media_url: reel is 2.0 s long: reels must be 3 s .. 15 min",
    ]


def test_could_not_check_is_a_warning_and_the_posts_are_valid(
    checking: Any, make_post: Any, library_server: MediaServer
) -> None:
    library_server.behave("feed.jpg", status=503)
    path = checking.write("posts.jsonl", lines(make_post(media_url=library_server.url("feed.jpg"))))
    result = checking("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"could not check: {path}:1: media_url: answered 503 Service Unavailable"
    ]
    assert "ok: 1 post(s) valid" in result.stdout


def test_no_media_check_and_the_setting_skip_the_checks(
    checking: Any, make_post: Any, library_server: MediaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = checking.write("posts.jsonl", lines(make_post(media_url=library_server.url("a.png"))))
    assert checking("validate", path).exit_code == 1  # 404
    assert checking("validate", "--no-media-check", path).exit_code == 0
    monkeypatch.setenv("IGAUTOPOST_MEDIA_CHECK", "false")
    assert checking("validate", path).exit_code == 0
    assert library_server.count("a.png", "HEAD") == 1


def test_local_files_are_read_next_to_their_post_file(
    checking: Any, make_post: Any, library: Path
) -> None:
    folder = checking.data_dir.parent / "campaign"
    folder.mkdir()
    shutil.copy(library / "feed.jpg", folder / "sunrise.jpg")
    shutil.copy(library / "pano.jpg", folder / "pano.jpg")
    good = make_post(media_url=None, media_path="sunrise.jpg")
    bad = make_post(media_url=None, media_path="pano.jpg")
    (folder / "posts.jsonl").write_text(lines(good, bad))
    result = checking("validate", str(folder / "posts.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"invalid: {folder / 'posts.jsonl'}:2: media_path: aspect ratio 3.00:1 (3000x1000) "
        "is outside 4:5 .. 1.91:1 for feed images"
    ]
