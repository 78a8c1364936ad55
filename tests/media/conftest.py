"""Media test fixtures: a local HTTP server serving a temporary folder (see makers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from makers import MediaServer


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[MediaServer]:
    """A `MediaServer` on 127.0.0.1 serving ``tmp_path / "served"`` (made empty): put files
    there with the makers, then ask for ``media_server.url("name.jpg")``."""
    root = tmp_path / "served"
    root.mkdir()
    with MediaServer(root) as server:
        yield server
