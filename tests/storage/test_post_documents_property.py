"""For any valid post as igautopost stores it, `SqlStore.post_documents` reads it on its fast
path and gives the document the ordinary read gives, byte for byte (issue 14)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igautopost.crypto import TokenCipher
from igautopost.models import MediaType, PostSpec, Status
from igautopost.storage import SqlStore
from igautopost.storage.sql import documents
from igautopost.storage.sql.rows import to_post
from igautopost.storage.sql.tables import posts

NOW = datetime(2030, 1, 1, tzinfo=UTC)
UNIQUE = itertools.count()
text = st.text(st.characters(codec="utf-8"), max_size=30)
names = st.from_regex(r"@?[a-z0-9_.]{1,12}", fullmatch=True)
fractions = st.none() | st.floats(0, 1) | st.sampled_from([0, 1, 0.5, 1e-7])
tags = st.lists(st.builds(dict, username=names, x=fractions, y=fractions), max_size=2)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
zones = st.sampled_from(["UTC", "Europe/Paris", "America/Sao_Paulo", "Asia/Kathmandu"])


@st.composite
def specs(draw: st.DrawFn) -> PostSpec:
    media_type = draw(st.sampled_from(MediaType))
    zone = draw(zones)
    moment = draw(moments)
    data: dict[str, Any] = {
        "account": draw(st.from_regex(r"[0-9]{5,17}", fullmatch=True)),
        "media_type": media_type.value,
        "caption": draw(st.none() | text),
        "timezone": zone,
        # naive (read in the zone), in UTC, or with another offset
        "publish_at": draw(st.sampled_from(["", "Z", "+05:30"])).join([moment.isoformat(), ""]),
        "access_token": draw(st.none() | st.just("EAAB-token")),
        "client_key": draw(st.none() | text),
        "user_tags": draw(tags),
        "collaborators": draw(st.lists(names, max_size=2)),
        "first_comment": draw(st.none() | text),
        "alt_text": draw(st.none() | text),
        "location_id": draw(st.none() | st.just("110")),
        "share_to_feed": draw(st.none() | st.booleans()),
        "thumb_offset": draw(st.none() | st.integers(0, 10**6)),
        "recurrence": draw(st.none() | st.just("0 9 * * 1")),
        "prepare_ahead": draw(st.none() | st.integers(0, 3600)),
    }
    if media_type is MediaType.CAROUSEL:
        data["children"] = [
            {"url": f"https://example.com/{n}.jpg", "user_tags": draw(tags)}
            for n in range(draw(st.integers(2, 3)))
        ]
    else:
        data["media_url"] = "https://example.com/a.mp4"
    return PostSpec.model_validate(data)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    database = Path(tmp_path_factory.mktemp("documents")) / "property.db"
    opened = SqlStore.open(
        f"sqlite:///{database}", cipher=TokenCipher([TokenCipher.generate_key()])
    )
    yield opened
    opened.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=specs(),
    status=st.sampled_from(Status),
    error=st.none() | st.tuples(text.filter(bool), st.none() | st.integers(1, 200)),
    retry_in=st.none() | st.timedeltas(timedelta(0), timedelta(days=2)),
)
def test_any_stored_post_reads_fast_as_the_ordinary_read_gives_it(
    store, spec, status, error, retry_in
):
    if spec.client_key is not None:  # unique per account in the one store of these examples
        spec = spec.model_copy(update={"client_key": f"{spec.client_key}#{next(UNIQUE)}"})
    [post] = store.add([spec], now=NOW)
    changes: dict[str, Any] = {"next_attempt_at": NOW + retry_in if retry_in else None}
    if error is not None:
        changes.update(error_message=error[0], error_code=error[1], error_subcode=None)
    store.transition(post.id, status, now=NOW + timedelta(seconds=1), changes=changes)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(*documents._COLUMNS).where(posts.c.id == post.id)).one()
        full = conn.execute(sa.select(posts).where(posts.c.id == post.id)).one()
    expected = json.dumps(documents.post_document(to_post(full._asdict())), ensure_ascii=False)
    fast = documents._document(*row)  # raises if this row would leave the fast path
    assert json.dumps(fast, ensure_ascii=False) == expected
