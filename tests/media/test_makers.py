"""The makers make what they say, and the server answers as it is told."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from makers import MediaServer, make_image, make_video
from PIL import Image
from pymediainfo import MediaInfo


def test_images_have_the_format_and_size_asked(tmp_path: Path) -> None:
    for fmt in ("JPEG", "PNG", "WEBP"):
        with Image.open(make_image(tmp_path / f"a.{fmt.lower()}", 640, 480, fmt)) as image:
            assert (image.format, image.size) == (fmt, (640, 480))


@pytest.mark.parametrize("faststart", [True, False])
def test_videos_have_the_size_duration_and_layout_asked(tmp_path: Path, faststart: bool) -> None:
    path = make_video(tmp_path / "a.mp4", 320, 568, 3.0, faststart=faststart, audio=faststart)
    info = MediaInfo.parse(str(path))
    general, video = info.general_tracks[0], info.video_tracks[0]
    assert (video.format, video.width, video.height) == ("AVC", 320, 568)
    assert 2900 <= float(general.duration) <= 3100
    assert general.isstreamable == ("Yes" if faststart else "No")
    assert len(info.audio_tracks) == (1 if faststart else 0)


def test_the_server_serves_ranges_and_follows_its_behaviours(media_server: MediaServer) -> None:
    make_image(media_server.root / "a.jpg", 100, 100)
    size = (media_server.root / "a.jpg").stat().st_size
    request = urllib.request.Request(media_server.url("a.jpg"), headers={"Range": "bytes=0-9"})
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 206
        assert answer.headers["Content-Range"] == f"bytes 0-9/{size}"
        assert len(answer.read()) == 10
    media_server.behave("a.jpg", status=500)
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(media_server.url("a.jpg"))
    failed.value.close()
    assert failed.value.code == 500
    assert media_server.count("a.jpg") == 2
