"""The distributed scheduler's sweeper prunes media copies too (issue 16), as `igautopost
worker` and `serve` do: a copy no post uses, older than the grace period, is deleted by the
sweeper's process. The broker is Celery's in-memory one: nothing is sent anywhere."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from igautopost import Settings
from igautopost.crypto import TokenCipher
from igautopost.media.store import FolderMediaStore
from igautopost.storage import InMemoryStore

pytest.importorskip("celery")


def test_the_sweeper_prunes_copies_no_post_needs(tmp_path: Path) -> None:
    from igautopost.scheduler.celery import create_app, start_sweeper

    settings = Settings(
        data_dir=tmp_path, broker_url="memory://", media_keep_seconds=0, media_store=None
    )
    media = FolderMediaStore(tmp_path / "media")
    orphan = media.add_stream(io.BytesIO(b"a copy whose post was never saved"), suffix=".jpg")
    store = InMemoryStore(cipher=TokenCipher([TokenCipher.generate_key()]))
    stopping = threading.Event()
    thread = start_sweeper(create_app(settings), store, settings, stopping)
    try:
        deadline = time.monotonic() + 10
        while (tmp_path / "media" / orphan.key).exists():
            assert time.monotonic() < deadline, "the copy was not pruned"
            time.sleep(0.05)
    finally:
        stopping.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
