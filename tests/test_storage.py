"""SqlStore on SQLite: round trips, encryption at rest, queries, events, transitions, schema."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from igautopost.crypto import TokenCipher
from igautopost.errors import InvalidPost, InvalidTransition, PostNotFound
from igautopost.models import PostSpec, Status
from igautopost.storage import PostQuery, SqlStore
from igautopost.storage.sql import create_engine, migrate
from igautopost.storage.sql.tables import SQLModel

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def spec(make_post, **overrides) -> PostSpec:
    return PostSpec.model_validate(make_post(**overrides))


def every_field(make_post) -> PostSpec:
    """A spec with every field set to something other than its default. The store does not
    validate Instagram's rules, so fields of several media types may meet here."""
    return spec(
        make_post,
        account="17841400000000009",
        media_type="story",
        media_url="https://example.com/s.mp4",
        media_path="clips/s.mp4",
        media_file="ab" * 32 + ".mp4",
        media_kind="video",
        children=[
            {
                "media_url": "https://e.com/1.jpg",
                "kind": "image",
                "alt_text": "one",
                "user_tags": [{"username": "ann", "x": 0.1, "y": 0.2}],
            },
            {"media_url": "https://e.com/2.mp4", "thumb_offset": 1200},
            {"media_path": "three.mp4", "media_file": "cd" * 32 + ".mp4"},
        ],
        caption="Everything ✨ #all @everyone",
        location_id="110843418940484",
        user_tags=[{"username": "jane", "x": 0.25, "y": 0.75}, {"username": "bob"}],
        thumb_offset=3000,
        cover_url="https://example.com/cover.jpg",
        share_to_feed=False,
        collaborators=["jane", "tom"],
        alt_text="an alt text",
        first_comment="first!",
        timezone="Europe/Paris",
        publish_at=datetime(2031, 7, 6, 9, 30, tzinfo=ZoneInfo("Europe/Paris")),
        recurrence="30 9 * * SUN",
        prepare_ahead=600,
        client_key="key-all-fields",
    )


def test_every_spec_field_survives_add_and_get(store, make_post):
    original = every_field(make_post)
    unset = [
        n
        for n, f in PostSpec.model_fields.items()
        if getattr(original, n) == f.get_default(call_default_factory=True)
    ]
    assert unset == [], "the round trip must cover every field"

    [added] = store.add([original], now=NOW)
    fetched = store.get(added.id)

    without_token = original.model_copy(update={"access_token": None})
    assert fetched.spec == without_token
    assert added.spec == original
    assert fetched.status is Status.SCHEDULED
    assert fetched.has_token


def test_times_come_back_aware_utc(store, make_post):
    created = datetime(2030, 1, 1, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    [post] = store.add([spec(make_post)], now=created)
    fetched = store.get(post.id)
    event = store.events(post.id)[0]
    for moment in (
        fetched.publish_at,
        fetched.next_attempt_at,
        fetched.created_at,
        fetched.updated_at,
        event.at,
    ):
        assert moment.tzinfo is UTC
    assert fetched.created_at == created
    assert fetched.next_attempt_at == fetched.publish_at == datetime(2035, 6, 1, 9, tzinfo=UTC)


def test_token_is_encrypted_at_rest(tmp_path, make_post):
    token = make_post()["access_token"]
    store = SqlStore.open(
        f"sqlite:///{tmp_path / 'ig.db'}", cipher=TokenCipher([TokenCipher.generate_key()])
    )
    try:
        [post] = store.add([spec(make_post)], now=NOW)
        assert store.access_token(post.id) == token
    finally:
        store.close()
    files = list(tmp_path.glob("ig.db*"))
    assert files
    for path in files:
        assert token.encode() not in path.read_bytes(), path.name
    with sqlite3.connect(tmp_path / "ig.db") as raw:
        (ciphertext, spec_json) = raw.execute(
            "SELECT token_ciphertext, spec_json FROM posts"
        ).fetchone()
    raw.close()
    assert ciphertext and token not in ciphertext
    assert token not in spec_json


def test_a_post_without_token(store, make_post):
    data = make_post()
    del data["access_token"]
    [post] = store.add([PostSpec.model_validate(data)], now=NOW)
    assert store.access_token(post.id) is None
    assert not store.get(post.id).has_token


def test_posts_sharing_a_token_each_decrypt_it(store, make_post):
    added = store.add([spec(make_post, caption=str(i)) for i in range(3)], now=NOW)
    assert {store.access_token(p.id) for p in added} == {make_post()["access_token"]}


def test_add_returns_ids_in_order_and_nothing_for_nothing(store, make_post):
    assert store.add([], now=NOW) == []
    added = store.add([spec(make_post, caption=f"#{i}") for i in range(5)], now=NOW)
    assert [store.get(p.id).spec.caption for p in added] == [f"#{i}" for i in range(5)]
    assert len({p.id for p in added}) == 5


def test_add_is_all_or_nothing(store, make_post):
    twice = [spec(make_post, client_key="same"), spec(make_post, client_key="same")]
    with pytest.raises(InvalidPost):
        store.add([spec(make_post, client_key="other"), *twice], now=NOW)
    assert store.list(PostQuery()) == []


# -- queries -----------------------------------------------------------------------------------


@pytest.fixture
def stocked(store, make_post):
    """Six posts: two accounts, one a day from 2035-06-01, the odd ones cancelled."""
    start = datetime(2035, 6, 1, 9, tzinfo=UTC)
    posts = store.add(
        [
            spec(
                make_post,
                account=("111" if i % 2 else "222"),
                publish_at=(start + timedelta(days=5 - i)).isoformat(),
                caption=str(i),
            )
            for i in range(6)
        ],
        now=NOW,
    )
    for post in posts[1::2]:
        store.transition(post.id, Status.CANCELLED, now=NOW)
    return store


def captions(posts) -> list[str]:
    return [p.spec.caption for p in posts]


def test_list_is_ordered_by_publish_time(stocked):
    found = stocked.list(PostQuery())
    assert captions(found) == ["5", "4", "3", "2", "1", "0"]
    assert [p.publish_at for p in found] == sorted(p.publish_at for p in found)


def test_list_filters(stocked):
    june = datetime(2035, 6, 1, 9, tzinfo=UTC)
    assert captions(stocked.list(PostQuery(statuses=frozenset({Status.CANCELLED})))) == [
        "5",
        "3",
        "1",
    ]
    assert captions(
        stocked.list(PostQuery(statuses=frozenset({Status.SCHEDULED, Status.CANCELLED})))
    ) == ["5", "4", "3", "2", "1", "0"]
    assert captions(stocked.list(PostQuery(account="222"))) == ["4", "2", "0"]
    assert captions(stocked.list(PostQuery(account="333"))) == []
    # bounds are inclusive
    window = PostQuery(
        publish_from=june + timedelta(days=1), publish_until=june + timedelta(days=3)
    )
    assert captions(stocked.list(window)) == ["4", "3", "2"]
    assert captions(stocked.list(PostQuery(limit=2))) == ["5", "4"]
    assert captions(stocked.list(PostQuery(limit=2, offset=3))) == ["2", "1"]
    combined = PostQuery(
        account="111",
        statuses=frozenset({Status.CANCELLED}),
        publish_until=june + timedelta(days=2),
    )
    assert captions(stocked.list(combined)) == ["5", "3"]


def test_time_range_in_another_zone(stocked):
    paris = ZoneInfo("Europe/Paris")
    window = PostQuery(
        publish_from=datetime(2035, 6, 3, 11, tzinfo=paris),
        publish_until=datetime(2035, 6, 3, 11, tzinfo=paris),
    )
    assert captions(stocked.list(window)) == ["3"]


# -- events and transitions ------------------------------------------------------------------


def test_events_log_every_status_change(store, make_post):
    [post] = store.add([spec(make_post)], now=NOW)
    later = NOW + timedelta(minutes=5)
    store.transition(post.id, Status.PROCESSING, now=later, detail="container created")
    store.transition(
        post.id,
        Status.FAILED,
        now=later,
        detail="boom",
        changes={
            "error_message": "Media download failed",
            "error_code": 9004,
            "error_subcode": 2207052,
            "attempts": 1,
        },
    )
    history = [(e.from_status, e.to_status, e.detail) for e in store.events(post.id)]
    assert history == [
        (None, Status.SCHEDULED, "scheduled"),
        (Status.SCHEDULED, Status.PROCESSING, "container created"),
        (Status.PROCESSING, Status.FAILED, "boom"),
    ]
    failed = store.get(post.id)
    assert failed.status is Status.FAILED
    assert (failed.error.message, failed.error.code, failed.error.subcode) == (
        "Media download failed",
        9004,
        2207052,
    )
    assert failed.attempts == 1
    assert failed.updated_at == later and failed.created_at == NOW


def test_transition_stores_graph_ids(store, make_post):
    [post] = store.add([spec(make_post)], now=NOW)
    done = store.transition(
        post.id,
        Status.PUBLISHED,
        now=NOW,
        changes={
            "container_id": "17890000000000001",
            "child_container_ids": '["1","2"]',
            "media_id": "17920000000000009",
            "permalink": "https://www.instagram.com/p/AbC/",
        },
    )
    assert done == store.get(post.id)
    assert (done.container_id, done.child_container_ids, done.media_id, done.permalink) == (
        "17890000000000001",
        ["1", "2"],
        "17920000000000009",
        "https://www.instagram.com/p/AbC/",
    )


def test_transition_with_expect_refuses_other_statuses(store, make_post):
    [post] = store.add([spec(make_post)], now=NOW)
    store.transition(post.id, Status.PUBLISHED, now=NOW)
    with pytest.raises(InvalidTransition, match="published"):
        store.transition(
            post.id, Status.CANCELLED, now=NOW, expect=frozenset({Status.SCHEDULED, Status.FAILED})
        )
    assert store.get(post.id).status is Status.PUBLISHED
    assert [e.to_status for e in store.events(post.id)] == [Status.SCHEDULED, Status.PUBLISHED]
    allowed = store.transition(
        post.id, Status.FAILED, now=NOW, expect=frozenset({Status.PUBLISHED})
    )
    assert allowed.status is Status.FAILED


def test_missing_post(store):
    with pytest.raises(PostNotFound) as info:
        store.get(42)
    assert info.value.post_id == 42
    with pytest.raises(PostNotFound):
        store.transition(42, Status.CANCELLED, now=NOW)
    assert store.events(42) == []


def test_owner_isolation(store, make_post):
    [mine] = store.add([spec(make_post)], now=NOW, owner_id=1)
    [theirs] = store.add([spec(make_post, caption="other")], now=NOW, owner_id=2)
    assert store.get(mine.id, owner_id=1).owner_id == 1
    with pytest.raises(PostNotFound):
        store.get(mine.id, owner_id=2)
    assert [p.id for p in store.list(PostQuery(owner_id=2))] == [theirs.id]
    assert {p.id for p in store.list(PostQuery())} == {mine.id, theirs.id}


def test_client_keys_are_per_account(store, make_post):
    [post] = store.add([spec(make_post, account="111", client_key="k1")], now=NOW)
    store.add([spec(make_post, account="222", client_key="k2")], now=NOW)
    assert store.client_keys("111", ["k1", "k2", "k3"]) == {"k1": post.id}
    assert store.client_keys("333", ["k1"]) == {}


def test_naive_times_are_refused_by_the_store(store, make_post):
    with pytest.raises(sa.exc.StatementError, match="naive"):
        store.add([spec(make_post)], now=datetime(2030, 1, 1))
    assert store.list(PostQuery()) == []


# -- schema and migrations -------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_alembic_schema_equals_the_sqlmodel_metadata(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    ours = {"posts", "post_events"}
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    diff = [d for d in diff if _table_of(d) in ours]
    assert diff == []

    inspector = sa.inspect(store.engine)
    for name in ours:
        table = SQLModel.metadata.tables[name]
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.nullable for c in table.columns}
        indexes = {
            i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(name)
        }
        assert indexes == {
            i.name: (tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
        }
    assert inspector.get_foreign_keys("post_events")[0]["referred_table"] == "posts"


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        if isinstance(part, sa.Table):
            return part.name
        if isinstance(part, (sa.Index, sa.Column)) and part.table is not None:
            return part.table.name
        if isinstance(part, str) and part in {"posts", "post_events"}:
            return part
    return None


def test_the_due_query_is_indexed(store):
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM posts WHERE status = 'scheduled' "
            "AND next_attempt_at <= '2035-01-01'"
        ).fetchall()
    assert "ix_posts_due" in " ".join(str(row) for row in plan)


def test_upgrade_is_idempotent_and_keeps_data(tmp_path: Path, make_post):
    url = f"sqlite:///{tmp_path / 'again.db'}"
    engine = create_engine(url)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()

    cipher = TokenCipher([TokenCipher.generate_key()])
    first = SqlStore.open(url, cipher=cipher)
    [post] = first.add([spec(make_post)], now=NOW)
    first.close()
    second = SqlStore.open(url, cipher=cipher)
    try:
        assert second.get(post.id).spec.caption == post.spec.caption
        assert second.access_token(post.id) == make_post()["access_token"]
    finally:
        second.close()


def test_open_without_upgrade_leaves_the_schema_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    bare = SqlStore.open(url, cipher=TokenCipher([TokenCipher.generate_key()]), upgrade=False)
    try:
        assert migrate.current_revision(bare.engine) is None
        assert sa.inspect(bare.engine).get_table_names() == []
    finally:
        bare.close()


def test_a_client_key_stored_concurrently_is_a_clear_problem_not_a_crash(store, make_post):
    """Two processes may both pass the client-key check; the unique index decides, and the
    loser gets an InvalidPost naming the field, with nothing of its batch stored."""
    now = datetime.now(UTC)
    spec = PostSpec.model_validate(make_post(client_key="race-1"))
    store.add([spec], now=now)
    other = PostSpec.model_validate(make_post(client_key="race-2"))
    with pytest.raises(InvalidPost) as caught:
        store.add([other, spec], now=now)  # bypasses schedule()'s check, as a racing process
    assert [p.field for p in caught.value.problems] == ["client_key"]
    assert len(store.list(PostQuery())) == 1
