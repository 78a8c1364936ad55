"""Reading rows back: a row that cannot be read never breaks a list, a show or a claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from igautopost.errors import InvalidTransition
from igautopost.models import PostSpec, Status
from igautopost.posts import reschedule, retry
from igautopost.storage import PostQuery
from igautopost.storage.sql.tables import posts

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def stored(store, make_post, **columns):
    """Two posts; the first gets `columns` written over its row."""
    bad, good = store.add(
        [PostSpec.model_validate(make_post(caption=c)) for c in ("bad", "good")], now=NOW
    )
    with store.engine.begin() as conn:
        conn.execute(posts.update().where(posts.c.id == bad.id).values(**columns))
    return bad, good


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"spec_json": "{not json"}, "malformed"),
        ({"spec_json": '{"account": "1"}'}, "media_type"),
        ({"child_container_ids": "[1,"}, "carousel item containers"),
        ({"status": "exploded"}, "unknown status"),
    ],
)
def test_an_unreadable_row_reads_as_failed_with_the_reason(store, make_post, columns, reason):
    bad, good = stored(store, make_post, **columns)

    listed = store.list(PostQuery())
    assert [p.id for p in listed] == [bad.id, good.id]
    shown = store.get(bad.id)
    assert shown.status is Status.FAILED
    assert shown.error is not None and reason in shown.error.message
    assert "schedule it again" in shown.error.message
    assert shown.account == bad.account and shown.publish_at == bad.publish_at
    assert store.get(good.id).status is Status.SCHEDULED


def test_a_lone_surrogate_is_named_and_not_shown(store, make_post):
    bad, _ = stored(store, make_post, spec_json=_spec_json(store, make_post, "a\\ud800b"))
    shown = store.get(bad.id)
    assert shown.error is not None
    assert "caption holds a lone surrogate" in shown.error.message
    assert shown.spec.caption == "a\ufffdb"


def test_a_spoiled_post_cannot_be_rescheduled_or_retried(store, make_post):
    # failed, as the scheduler leaves it: its spec would be rewritten from what was salvaged
    spoiled = _spec_json(store, make_post, "a\\ud800b")
    bad, _ = stored(store, make_post, spec_json=spoiled, status="failed")
    later = bad.publish_at + timedelta(days=1)
    with pytest.raises(InvalidTransition, match="cancel it and schedule it again"):
        reschedule(store, bad.id, later, now=NOW)
    with pytest.raises(InvalidTransition, match="cancel it and schedule it again"):
        retry(store, bad.id, now=NOW)
    with store.engine.connect() as conn:
        text = conn.execute(sa.select(posts.c.spec_json).where(posts.c.id == bad.id)).scalar()
    assert "\\ud800" in text  # nothing was written over it


def test_a_published_post_that_cannot_be_read_keeps_its_status(store, make_post):
    bad, _ = stored(store, make_post, status="published", spec_json="{")
    assert store.get(bad.id).status is Status.PUBLISHED


def _spec_json(store, make_post, caption_escape):
    spec = PostSpec.model_validate(make_post(caption="CAPTION"))
    text = spec.model_dump_json(exclude={"access_token"})
    return text.replace('"CAPTION"', f'"{caption_escape}"')
