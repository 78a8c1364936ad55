"""The near-duplicate warning is one indexed lookup of content fingerprints (issue 14): its
cost does not depend on how many other posts of the account share the hour."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import igautopost
from igautopost.crypto import TokenCipher
from igautopost.models import PostSpec
from igautopost.storage.sql import SqlStore, migrate

NOW = datetime(2031, 2, 1, 9, 0, tzinfo=UTC)
ACCOUNT = "17841400000000001"
m7 = importlib.import_module("igautopost.storage.sql.migrations.versions.0007_content_fingerprints")


def _post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "account": ACCOUNT,
        "access_token": "EAAB-fingerprint-token",
        "media_type": "image",
        "media_url": "https://example.com/media/coffee.jpg",
        "caption": "Morning coffee",
        "publish_at": (NOW + timedelta(hours=2)).isoformat(),
        "prepare_ahead": 0,
    }
    data.update(overrides)
    return data


def _store(tmp_path: Path) -> SqlStore:
    return SqlStore.open(
        f"sqlite:///{tmp_path / 'fp.db'}", cipher=TokenCipher([TokenCipher.generate_key()])
    )


def test_a_crowded_hour_costs_the_duplicate_check_nothing_more(tmp_path: Path) -> None:
    store = _store(tmp_path)
    crowd = [
        _post(caption=f"post {n}", publish_at=(NOW + timedelta(hours=2, seconds=n)).isoformat())
        for n in range(300)
    ]
    igautopost.schedule(store, crowd, now=NOW)
    found: list[int] = []
    real = store.similar_posts

    def similar(*args: Any, **kwargs: Any) -> Any:
        rows = real(*args, **kwargs)
        found.append(len(rows))
        return rows

    store.similar_posts = similar  # type: ignore[method-assign]
    fresh = igautopost.schedule(store, [_post(caption="something new")], now=NOW)
    assert fresh.warnings == [] and found == [0], "no stored post was read"
    twin = igautopost.schedule(store, [_post(caption="post 7")], now=NOW)
    assert found[-1] == 1 and "same media and caption" in twin.warnings[0]
    copies = [
        _post(caption="again", publish_at=(NOW + timedelta(hours=2, seconds=n)).isoformat())
        for n in range(200)
    ]
    igautopost.schedule(store, copies, now=NOW)
    one_more = igautopost.schedule(store, [_post(caption="again")], now=NOW)
    assert found[-1] == 1 and one_more.warnings, "one copy read, not 200"
    store.close()


def test_the_lookup_is_a_range_of_the_fingerprint_index(tmp_path: Path) -> None:
    store = _store(tmp_path)
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    store.similar_posts(ACCOUNT, ["a" * 32, "b" * 32], NOW, NOW + timedelta(hours=1))
    sa.event.remove(store.engine, "before_cursor_execute", record)
    ((statement, parameters),) = seen
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    assert any("USING INDEX ix_posts_account_fingerprint" in str(row) for row in plan), plan
    store.close()


def test_an_edit_changes_the_fingerprint_and_a_carousel_counts_its_items(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = igautopost.schedule(store, [_post()], now=NOW).created[0]
    igautopost.edit(store, first.id, {"caption": "Evening tea"}, now=NOW)
    assert igautopost.schedule(store, [_post()], now=NOW).warnings == []
    items = [{"media_url": f"https://example.com/{n}.jpg"} for n in range(3)]
    carousel = {"media_type": "carousel", "media_url": None, "caption": "trip"}
    igautopost.schedule(store, [_post(**carousel, children=items)], now=NOW)
    other_items = _post(**carousel, children=items[:2])
    assert igautopost.schedule(store, [other_items], now=NOW).warnings == []
    same_items = _post(**carousel, children=items)
    assert igautopost.schedule(store, [same_items], now=NOW).warnings
    store.close()


@settings(max_examples=60, deadline=None)
@given(
    caption=st.text(max_size=40),
    media=st.lists(st.sampled_from(["a.jpg", "b.mp4", "ü.jpg"]), min_size=1, max_size=3),
)
def test_the_migration_computes_the_fingerprint_the_way_posts_do(
    caption: str, media: list[str]
) -> None:
    urls = [f"https://example.com/{name}" for name in media]
    if len(urls) == 1:
        spec = PostSpec.model_validate(_post(caption=caption, media_url=urls[0]))
    else:
        children = [{"media_url": url} for url in urls]
        spec = PostSpec.model_validate(
            _post(caption=caption, media_type="carousel", media_url=None, children=children)
        )
    stored = json.dumps(spec.public_dict(), separators=(",", ":"))
    assert m7.fingerprint(stored) == spec.content_fingerprint()


def test_the_migration_fills_in_the_active_posts_of_an_older_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    migrate.upgrade(engine, "0006")
    store = _store(tmp_path)  # a different file: only to build rows the way the store does
    rows = []
    for caption in ("one", "two"):
        spec = PostSpec.model_validate(_post(caption=caption))
        rows.append((spec, json.dumps(spec.public_dict(), separators=(",", ":"))))
    with engine.begin() as conn:
        for status, (_, text) in zip(("scheduled", "published"), rows, strict=True):
            conn.execute(
                sa.text(
                    "INSERT INTO posts (account, media_type, status, spec_json, publish_at,"
                    " attempts, containers_created, created_at, updated_at)"
                    " VALUES (:a, 'image', :s, :j, :t, 0, 0, :t, :t)"
                ),
                {"a": ACCOUNT, "s": status, "j": text, "t": NOW.replace(tzinfo=None)},
            )
    migrate.upgrade(engine, "head")
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT status, fingerprint FROM posts ORDER BY id")).all()
    assert found == [("scheduled", rows[0][0].content_fingerprint()), ("published", None)]
    store.close()
    engine.dispose()
