"""A shell user's `igautopost schedule post.json` with ``"media_path": "sunrise.jpg"`` next to
it (issue 16): the file is checked, copied into the media store and published from there;
what cannot work is refused when it is scheduled, naming the field and what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from makers import MediaServer

TOKEN = "EAAB-local-media-token"


def post_for(path: str, media_type: str = "image", **fields: Any) -> dict[str, Any]:
    return {
        "account": "17841400000000001",
        "access_token": TOKEN,
        "media_type": media_type,
        "media_path": path,
        "caption": f"{media_type} from {path}",
        "publish_at": "2035-06-01T09:00:00+00:00",
        **fields,
    }


@pytest.fixture
def shell(cli: Any, library: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A shell user's folder (the cli's): the library's files next to the post files, media
    checks on (the suite turns them off), and no media host unless a test sets one."""
    folder = cli.data_dir.parent
    for name in ("feed.jpg", "photo.png", "reel.mp4", "short.mp4"):
        shutil.copy(library / name, folder / name)
    shutil.copy(library / "feed.jpg", folder / "sunrise.jpg")
    monkeypatch.setenv("IGAUTOPOST_MEDIA_CHECK", "true")
    monkeypatch.setenv("IGAUTOPOST_MEDIA_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.delenv("IGAUTOPOST_PUBLIC_URL", raising=False)
    monkeypatch.delenv("IGAUTOPOST_MEDIA_STORE", raising=False)
    return cli


def copies(cli: Any) -> list[str]:
    media = cli.data_dir / "media"
    return sorted(p.name for p in media.iterdir()) if media.is_dir() else []


def test_a_local_jpeg_is_copied_and_publishes_through_the_sandbox(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox's own database, for `schedule` here and `publish --sandbox` after.
    monkeypatch.setenv("IGAUTOPOST_DATABASE_URL", f"sqlite:///{shell.data_dir / 'sandbox.db'}")
    monkeypatch.setenv("IGAUTOPOST_PUBLIC_URL", "http://127.0.0.1:8000")
    path = shell.write("post.json", post_for("sunrise.jpg"))

    result = shell("schedule", path, "--json")
    assert result.exit_code == 0, result.output
    [scheduled] = json.loads(result.stdout)
    [key] = copies(shell)
    assert key.endswith(".jpg")
    assert (shell.data_dir / "media" / key).read_bytes() == Path(path).with_name(
        "sunrise.jpg"
    ).read_bytes()

    listed = shell("media", "list", "--json")
    assert json.loads(listed.stdout)[0]["posts"] == [{"id": scheduled["id"], "status": "scheduled"}]

    published = shell("publish", str(scheduled["id"]), "--now", "--sandbox", "--json")
    assert published.exit_code == 0, published.output
    assert json.loads(published.stdout)["status"] == "published"


def test_an_image_without_a_host_is_refused_naming_the_settings(shell: Any) -> None:
    path = shell.write("post.json", post_for("sunrise.jpg"))
    result = shell("schedule", path)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"invalid: {path}:1: media_path: is an image from a local file")
    assert "IGAUTOPOST_PUBLIC_URL" in line
    assert "IGAUTOPOST_MEDIA_STORE=s3://" in line
    assert shell.posts() == []
    assert copies(shell) == []


def test_a_video_needs_no_host(shell: Any) -> None:
    path = shell.write("reel.json", post_for("reel.mp4", "reel"))
    result = shell("schedule", path, "--json")
    assert result.exit_code == 0, result.output
    assert len(copies(shell)) == 1


def test_a_missing_file_is_refused_naming_the_field(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGAUTOPOST_PUBLIC_URL", "http://127.0.0.1:8000")
    path = shell.write("post.json", post_for("nowhere.jpg"))
    missing = Path(path).parent / "nowhere.jpg"
    for flags in ([], ["--no-media-check"]):  # unchecked, a missing file still cannot be copied
        result = shell("schedule", path, *flags)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            f"invalid: {path}:1: media_path: no such file: {missing}"
        ]
    assert shell.posts() == []


def test_files_breaking_the_rules_are_refused_with_the_rule(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGAUTOPOST_PUBLIC_URL", "http://127.0.0.1:8000")
    path = shell.write(
        "posts.jsonl",
        json.dumps(post_for("photo.png")) + "\n" + json.dumps(post_for("short.mp4", "reel")) + "\n",
    )
    result = shell("schedule", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"invalid: {path}:1: media_path: is a PNG: Instagram takes JPEG only for feed images",
        f"invalid: {path}:2: media_path: reel is 2.0 s long: reels must be 3 s .. 15 min",
    ]
    assert shell.posts() == []
    assert copies(shell) == []  # nothing is copied for a batch with a broken rule


def test_no_media_check_and_the_setting_skip_the_rules(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGAUTOPOST_PUBLIC_URL", "http://127.0.0.1:8000")
    path = shell.write("post.json", post_for("photo.png", client_key="png"))
    assert shell("schedule", path, "--no-media-check").exit_code == 0
    monkeypatch.setenv("IGAUTOPOST_MEDIA_CHECK", "false")
    other = shell.write("other.json", post_for("photo.png", client_key="png-2"))
    assert shell("schedule", other).exit_code == 0
    assert len(shell.posts()) == 2
    assert len(copies(shell)) == 1  # the same content, stored once


def test_many_posts_sharing_one_file_copy_it_once(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGAUTOPOST_PUBLIC_URL", "http://127.0.0.1:8000")
    posts = [post_for("sunrise.jpg", client_key=f"k{n}") for n in range(1200)]  # two chunks
    path = shell.write("many.jsonl", "".join(json.dumps(p) + "\n" for p in posts))
    result = shell("schedule", path, "--json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert len(created) == 1200
    [key] = copies(shell)
    listed = json.loads(shell("media", "list", "--json").stdout)
    assert listed[0]["key"] == key and len(listed[0]["posts"]) == 1200


def test_all_or_nothing_a_later_invalid_post_stores_none(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGAUTOPOST_PUBLIC_URL", "http://127.0.0.1:8000")
    good = post_for("sunrise.jpg")
    bad = post_for("reel.mp4", "reel", caption="#" * 10 + " #tag" * 31)  # 31 hashtags
    path = shell.write("posts.jsonl", json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    result = shell("schedule", path)
    assert result.exit_code == 1
    assert f"{path}:2: caption" in result.stderr
    assert shell.posts() == []


def test_relative_paths_are_read_from_each_post_files_folder(
    shell: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IGAUTOPOST_PUBLIC_URL", "http://127.0.0.1:8000")
    elsewhere = tmp_path / "campaign"
    elsewhere.mkdir()
    shutil.copy(Path(shell.data_dir.parent / "reel.mp4"), elsewhere / "clip.mp4")
    (elsewhere / "post.json").write_text(json.dumps(post_for("clip.mp4", "reel")))
    monkeypatch.chdir(shell.data_dir.parent)  # not the post file's folder
    result = shell("schedule", str(elsewhere / "post.json"))
    assert result.exit_code == 0, result.output


def test_urls_are_checked_at_scheduling_too(
    shell: Any, library_server: MediaServer, make_post: Any
) -> None:
    library_server.behave("feed.jpg", status=503)
    path = shell.write(
        "posts.jsonl",
        json.dumps(make_post(media_url=library_server.url("photo.png"))) + "\n",
    )
    result = shell("schedule", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"invalid: {path}:1: media_url: is a PNG: Instagram takes JPEG only for feed images"
    ]
    unreachable = shell.write(
        "later.jsonl", json.dumps(make_post(media_url=library_server.url("feed.jpg"))) + "\n"
    )
    result = shell("schedule", unreachable)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"could not check: {unreachable}:1: media_url: answered 503 Service Unavailable"
    ]
    assert len(shell.posts()) == 1
