"""`igautopost media list|prune`: the copies kept in the data directory's media folder."""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta
from typing import Any

from igautopost import Settings
from igautopost.clock import SystemClock
from igautopost.media.hosting import media_store_from
from igautopost.models import PostSpec
from igautopost.services import open_store


def copies_with_a_post(cli: Any, make_post: Any) -> tuple[str, str, int]:
    """Two copies in the media folder: one a scheduled post uses, one no post uses, stored
    two days ago (older than the default day of grace)."""
    settings = Settings()
    media = media_store_from(settings)
    used = media.add_stream(io.BytesIO(b"used by a post"), suffix=".jpg")
    orphan = media.add_stream(io.BytesIO(b"x" * 2048), suffix=".mp4")
    two_days_ago = (SystemClock().now() - timedelta(days=2)).timestamp()
    for key in (used.key, orphan.key):
        os.utime(settings.resolved_media_store() + "/" + key, (two_days_ago, two_days_ago))
    store = open_store(settings)
    raw = make_post(media_url=None, media_path="sunrise.jpg", media_file=used.key)
    [post] = store.add([PostSpec.model_validate(raw)], now=SystemClock().now())
    store.close()
    return used.key, orphan.key, post.id


def test_media_list_shows_each_copy_and_the_posts_using_it(cli, make_post):
    used, orphan, post_id = copies_with_a_post(cli, make_post)

    listed = cli("media", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["key"]: row for row in json.loads(listed.stdout)}
    assert rows[used]["posts"] == [{"id": post_id, "status": "scheduled"}]
    assert rows[used]["content_type"] == "image/jpeg"
    assert rows[orphan]["posts"] == [] and rows[orphan]["size"] == 2048

    table = cli("media", "list")
    assert table.exit_code == 0, table.output
    assert f"{post_id} scheduled" in table.stdout and "2 copies" in table.stdout


def test_media_prune_deletes_only_what_no_post_needs(cli, make_post):
    used, orphan, _ = copies_with_a_post(cli, make_post)

    dry = cli("media", "prune", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would delete {orphan}" in dry.stdout and used not in dry.stdout
    assert "would delete 1 copy (2.0 KB), kept 1" in dry.stdout

    done = cli("media", "prune", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"deleted": [orphan], "bytes": 2048, "kept": 1}
    remaining = [row["key"] for row in json.loads(cli("media", "list", "--json").stdout)]
    assert remaining == [used]


def test_the_worker_prunes_as_it_starts(cli, make_post):
    used, orphan, post_id = copies_with_a_post(cli, make_post)
    assert orphan != used
    assert cli("cancel", str(post_id)).exit_code == 0  # nothing to wait for: the worker exits
    # (its copy stays: cancelled just now, within the grace period)

    ran = cli("worker", "--exit-when-idle")

    assert ran.exit_code == 0, ran.output
    remaining = [row["key"] for row in json.loads(cli("media", "list", "--json").stdout)]
    assert remaining == [used]
