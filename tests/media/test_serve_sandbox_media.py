"""`serve --sandbox` with no media host set serves images from local files itself, at its own
address (issue 16): a first run publishes one with no setup. Never without the sandbox, and
never over a host the user set."""

from __future__ import annotations

from pathlib import Path

import pytest
from igautopost_cli.server import serve_media_here

from igautopost import Settings
from igautopost.media.hosting import ServedMediaHost, media_host_from


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="k" * 44, public_url=None, media_store=None)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123"),
        ("0.0.0.0", "http://127.0.0.1:8123"),  # every interface: reached on loopback
        ("::1", "http://[::1]:8123"),
    ],
)
def test_the_sandbox_server_is_its_own_media_host(
    settings: Settings, host: str, expected: str
) -> None:
    assert media_host_from(settings) is None
    serve_media_here(settings, host, 8123)
    assert settings.public_url == expected
    served = media_host_from(settings)
    assert isinstance(served, ServedMediaHost) and served.public_url == expected


def test_a_host_the_user_set_is_kept(settings: Settings) -> None:
    settings.public_url = "https://igautopost.example.org"
    serve_media_here(settings, "127.0.0.1", 8123)
    assert settings.public_url == "https://igautopost.example.org"
    settings.public_url = None
    settings.media_store = "s3://bucket/media"
    serve_media_here(settings, "127.0.0.1", 8123)
    assert settings.public_url is None
