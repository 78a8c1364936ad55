"""`SqlStore.post_documents`, the rows-to-JSON path of `igautopost list --json` (issue 14): for
every row it gives byte for byte the document `post_document` makes of the `Post` the ordinary
read builds, whether the row takes the fast path or, being unusual or unreadable, the slow one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from igautopost.models import CarouselItem, PostSpec, Status, UserTag
from igautopost.storage import PostQuery, SqlStore
from igautopost.storage.sql import documents
from igautopost.storage.sql.rows import UNREADABLE
from igautopost.storage.sql.tables import posts

NOW = datetime(2031, 1, 10, 9, 0, 0, 123456, tzinfo=UTC)
ACCOUNT = "17841400000000001"
OTHER = "17841400000000002"


def texts(documents_: Any) -> list[str]:
    """Documents as the CLI writes them: key order and every value count."""
    return [json.dumps(document, ensure_ascii=False) for document in documents_]


def slow(store: SqlStore, query: PostQuery) -> list[str]:
    return texts(documents.post_document(post) for post in store.list(query))


def fast(store: SqlStore, query: PostQuery) -> list[str]:
    return texts(store.post_documents(query))


@pytest.fixture
def no_slow_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if any row is read the slow way."""

    def refuse(row: Any, spec: Any = None) -> Any:
        raise AssertionError(f"post {row['id']} took the slow path")

    monkeypatch.setattr(documents, "to_post", refuse)


def spec(publish_at: datetime, **fields: Any) -> PostSpec:
    data: dict[str, Any] = {
        "account": ACCOUNT,
        "access_token": "EAAB-documents-token",
        "media_type": "image",
        "media_url": "https://example.com/a.jpg",
        "publish_at": publish_at,
    }
    data.update(fields)
    return PostSpec.model_validate(data)


def varied_specs() -> list[PostSpec]:
    at = NOW + timedelta(days=1)
    tags = [UserTag(username="friend.one", x=0.5, y=1), UserTag(username="b_2")]
    return [
        spec(at, caption="plain"),
        spec(at, caption="même heure, id suivant ☕ 🇫🇷 👩‍🍳 旅行 #café", client_key="k-1"),
        spec(
            at + timedelta(minutes=1, microseconds=250),
            media_type="reel",
            media_url="https://example.com/v.mp4",
            cover_url="https://example.com/c.jpg",
            share_to_feed=False,
            thumb_offset=1500,
            collaborators=["@collab_one", " collab.two "],
            first_comment="first! 🎉",
            location_id="110",
        ),
        spec(
            at + timedelta(hours=2),
            media_type="story",
            media_url="https://example.com/s.mov",
            media_kind="video",
            timezone="Europe/Paris",
        ),
        spec(
            at + timedelta(hours=3),
            media_type="carousel",
            media_url=None,
            children=[
                CarouselItem(media_url="https://example.com/1.jpg", user_tags=tags),
                CarouselItem(
                    media_url="https://example.com/2.mp4",
                    kind="video",
                    alt_text="two",
                    thumb_offset=0,
                ),
                CarouselItem(media_path="photos/3.jpg", media_file="ab" * 32),
            ],
            user_tags=[UserTag(username="tagged", x=0.1, y=0.9)],
            caption="",
        ),
        spec(
            at + timedelta(days=2),
            account=OTHER,
            recurrence="0 9 * * 1",
            timezone="America/New_York",
            prepare_ahead=600,
            alt_text="alt",
            caption='weekly\nline two "quoted" \\ backslash \u2028 sep',
        ),
        spec(at + timedelta(days=3), media_url=None, media_path="a.jpg", media_file="cd" * 32),
        spec(at + timedelta(days=4), caption="to fail"),
        spec(at + timedelta(days=5), caption="to retry"),
        spec(at + timedelta(days=6), caption="to publish"),
        spec(at + timedelta(days=7), caption="to cancel"),
        spec(
            at + timedelta(days=8),
            caption="processing carousel",
            media_type="carousel",
            media_url=None,
            children=[CarouselItem(media_url="https://example.com/9.jpg")] * 2,
        ),
    ]


@pytest.fixture
def varied(store: SqlStore) -> list[int]:
    """Posts in every status and shape, one owned by a user, stored the ordinary way."""
    created = store.add(varied_specs()[:-1], now=NOW)
    created += store.add(varied_specs()[-1:], now=NOW + timedelta(seconds=1), owner_id=7)
    ids = [post.id for post in created]
    later = NOW + timedelta(minutes=5)
    failed, retried, published, cancelled, processing = ids[7:12]
    store.transition(
        failed,
        Status.FAILED,
        now=later,
        changes={
            "error_message": "Media not ready (Graph error 9007/2207027)",
            "error_code": 9007,
            "error_subcode": 2207027,
            "next_attempt_at": None,
        },
    )
    store.transition(
        retried,
        Status.SCHEDULED,
        now=later,
        changes={
            "error_message": "Rate limited",
            "error_code": 4,
            "error_subcode": None,
            "attempts": 2,
            "next_attempt_at": later + timedelta(minutes=3),
        },
    )
    store.transition(
        published,
        Status.PUBLISHED,
        now=later,
        changes={
            "container_id": "c-1",
            "media_id": "m-1",
            "published_at": later,
            "permalink": "https://www.instagram.com/p/Ab-1/",
            "next_attempt_at": None,
        },
    )
    store.transition(cancelled, Status.CANCELLED, now=later, changes={"next_attempt_at": None})
    store.transition(
        processing,
        Status.PROCESSING,
        now=later,
        changes={"container_id": "c-2", "child_container_ids": json.dumps(["c-21", "c-22"])},
    )
    return ids


def test_every_document_is_the_one_the_ordinary_read_gives(store, varied, no_slow_rows):
    everything = PostQuery()
    listed = fast(store, everything)
    assert listed == slow(store, everything)
    assert len(listed) == len(varied)
    by_caption = {json.loads(text).get("caption"): json.loads(text) for text in listed}
    assert by_caption["to retry"]["error"]["retry_at"] is not None
    assert by_caption["to fail"]["error"]["code"] == 9007
    assert by_caption["to publish"]["permalink"] == "https://www.instagram.com/p/Ab-1/"
    assert "access_token" not in listed[0]
    assert "EAAB" not in "".join(listed)


def test_a_postgresql_style_row_of_naive_datetimes_reads_alike():
    """Other drivers give naive datetimes for the time columns, not SQLite's text."""
    assert documents._iso(datetime(2031, 1, 1, 9, 30)) == "2031-01-01T09:30:00+00:00"
    assert documents._iso("2031-01-01 09:30:00.000000") == "2031-01-01T09:30:00+00:00"
    assert documents._iso("2031-01-01 09:30:00.000100") == "2031-01-01T09:30:00.000100+00:00"


QUERIES = [
    PostQuery(),
    PostQuery(limit=3),
    PostQuery(limit=3, offset=2),
    PostQuery(offset=4),
    PostQuery(statuses=frozenset({Status.SCHEDULED})),
    PostQuery(statuses=frozenset({Status.FAILED, Status.PUBLISHED})),
    PostQuery(account=OTHER),
    PostQuery(owner_id=7),
    PostQuery(publish_from=NOW + timedelta(days=1, hours=2)),
    PostQuery(publish_until=NOW + timedelta(days=1, hours=2)),
    PostQuery(after=(NOW + timedelta(days=1), 1)),
    PostQuery(after=(NOW + timedelta(days=1), 1), limit=4),
]


def _query_id(query: PostQuery) -> str:
    """A test id that is the same in every xdist worker: a frozenset's repr follows string
    hashes, which differ between processes."""
    fields = {name: value for name, value in vars(query).items() if value not in (None, 0)}
    if query.statuses:
        fields["statuses"] = sorted(status.value for status in query.statuses)
    return ",".join(f"{name}={value}" for name, value in fields.items()) or "all"


@pytest.mark.parametrize("page_size", [1, 1000])
@pytest.mark.parametrize("query", QUERIES, ids=_query_id)
def test_filters_and_pages_find_what_list_finds(
    store, varied, monkeypatch, no_slow_rows, query, page_size
):
    monkeypatch.setattr(documents, "PAGE_SIZE", page_size)
    assert fast(store, query) == slow(store, query)


def test_pages_are_read_as_the_documents_are_consumed(store, varied, monkeypatch):
    monkeypatch.setattr(documents, "PAGE_SIZE", 2)
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    found = iter(store.post_documents(PostQuery()))
    next(found)
    assert len(statements) == 1
    assert len(list(found)) == len(varied) - 1


# -- rows the fast path leaves to the ordinary read --------------------------------------


def set_columns(store: SqlStore, post_id: int, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(posts.update().where(posts.c.id == post_id).values(**values))


def set_raw(store: SqlStore, post_id: int, column: str, text: str) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE posts SET {column} = ? WHERE id = ?", (text, post_id))


STORED = {  # the first varied post's spec, as stored
    "account": ACCOUNT,
    "media_type": "image",
    "media_url": "https://example.com/a.jpg",
    "children": [],
    "caption": "plain",
    "user_tags": [],
    "collaborators": [],
    "timezone": "UTC",
    "publish_at": "2031-01-11T09:00:00.123456Z",
}


def stored_with(**changes: Any) -> str:
    data = {**STORED, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}, separators=(",", ":"))


READABLE_BUT_UNUSUAL = {
    "keys in another order": json.dumps(dict(reversed(list(STORED.items())))),
    "an old name for the media type": stored_with(media_type="Photo"),
    "names to strip": stored_with(
        collaborators=["@one", " two "], user_tags=[{"username": "@x", "x": 1, "y": 0}]
    ),
    "no empty lists": stored_with(children=..., user_tags=..., collaborators=...),
    "nulls": stored_with(location_id=None, caption=None),
    "an offset": stored_with(publish_at="2031-01-11T10:00:00.123456+01:00"),
    "a whole second": stored_with(publish_at="2031-01-11T09:00:00Z"),
    "a naive publish time, in its zone": stored_with(
        publish_at="2031-01-11T09:00:00", timezone="Asia/Tokyo"
    ),
    "unix seconds": stored_with(publish_at=1925370000),
    "an integer account": stored_with(account=17841400000000001),
    "a float thumb offset": stored_with(thumb_offset=1.0),
    "a surrogate pair escaped": stored_with(caption=b"\\ud83d\\ude00".decode("unicode_escape")),
}

UNREADABLE_SPECS = {
    "malformed": '{"account":',
    "a lone surrogate": stored_with(caption="\ud800"),
    "a field unknown": stored_with(colour="red"),
    "a media type unknown": stored_with(media_type="hologram"),
    "a zone unknown": stored_with(timezone="Mars/Olympus"),
    "no publish time": stored_with(publish_at=...),
}


@pytest.mark.parametrize(
    "stored_spec",
    [*READABLE_BUT_UNUSUAL.values(), *UNREADABLE_SPECS.values()],
    ids=[*READABLE_BUT_UNUSUAL, *UNREADABLE_SPECS],
)
def test_an_unusual_spec_reads_as_the_ordinary_read_gives_it(store, varied, stored_spec):
    set_columns(store, varied[0], spec_json=stored_spec)
    assert fast(store, PostQuery()) == slow(store, PostQuery())


@pytest.mark.parametrize("name", list(UNREADABLE_SPECS))
def test_an_unreadable_spec_is_still_reported_as_unreadable(store, varied, name):
    """Issue 12: the post reads as failed, saying why, and the list goes on."""
    set_columns(store, varied[0], spec_json=UNREADABLE_SPECS[name])
    shown = [json.loads(text) for text in fast(store, PostQuery())]
    assert len(shown) == len(varied)
    [broken] = [document for document in shown if document["id"] == varied[0]]
    assert broken["status"] == "failed"
    message = broken["error"]["message"]
    assert message.startswith(UNREADABLE.split("(")[0])


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("status", "archived"),
        ("child_container_ids", "{not json"),
        ("child_container_ids", '{"a": 1}'),
        ("created_at", "2031-01-10 09:00:00"),
        ("updated_at", "2031-01-10T09:00:00.000000"),
        ("next_attempt_at", "2031-01-10 09:00:00.5"),
    ],
)
def test_other_unusual_columns_read_as_the_ordinary_read_gives_them(store, varied, column, text):
    for post_id in (varied[1], varied[8]):  # one without an error, one waiting to retry
        set_raw(store, post_id, column, text)
    assert fast(store, PostQuery()) == slow(store, PostQuery())


def test_an_unknown_status_fails_the_post_as_before(store, varied):
    set_raw(store, varied[1], "status", "archived")
    [shown] = [json.loads(t) for t in fast(store, PostQuery()) if json.loads(t)["id"] == varied[1]]
    assert shown["status"] == "failed"


# -- the stored form the fast path reads ---------------------------------------------------


def test_the_stored_form_names_the_fields_of_the_spec_in_order():
    """A field added to `PostSpec` or `CarouselItem` must be added to the stored form (else
    every post takes the slow path), in the same place (else keys come out of order)."""
    spec_fields = [name for name in PostSpec.model_fields if name != "access_token"]
    stored = documents.STORED_SPEC["fields"]
    assert list(stored) == spec_fields
    item = stored["children"]["schema"]["items_schema"]  # type: ignore[typeddict-item]
    assert list(item["fields"]) == list(CarouselItem.model_fields)
    assert list(item["fields"]["user_tags"]["schema"]["items_schema"]["fields"]) == list(
        UserTag.model_fields
    )


def test_statuses_are_every_status():
    assert set(documents._STATUSES) == {status.value for status in Status}


def _all_posts(store: SqlStore) -> Iterator[dict[str, Any]]:
    return iter(store.post_documents(PostQuery()))


def test_an_empty_store_has_no_documents(store):
    assert list(_all_posts(store)) == []
