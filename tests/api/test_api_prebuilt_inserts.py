"""A POST's inserts are statements built once per process (issue 14): a statement built per
call made SQLAlchemy compute its cache key, every column of posts, on every POST, about
60-80 us of a 600 us `schedule()` (docs/benchmarks.md, "The HTTP API")."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from apitest import old_post

from igautopost.storage.sql import plain_inserts


def test_each_post_runs_the_same_insert_statements(api, alice):
    executed: list[list[Any]] = []

    def before_execute(conn, clause, multiparams, params, options):  # type: ignore[no-untyped-def]
        if isinstance(clause, sa.Insert) and clause.table.name in ("posts", "post_events"):
            executed[-1].append(clause)

    built: list[int] = []
    sa.event.listen(api.store.engine, "before_execute", before_execute)
    try:
        for caption in ("one", "two"):
            executed.append([])
            built.append(plain_inserts._statement.cache_info().misses)
            response = api.client.post(
                "/api/v1/posts/", json=old_post(caption=caption), headers=alice
            )
            assert response.status_code == 201, response.text
    finally:
        sa.event.remove(api.store.engine, "before_execute", before_execute)
    built.append(plain_inserts._statement.cache_info().misses)
    # On SQLite one post's inserts are SQL on the driver's cursor (test_api_post_cost.py),
    # no SQLAlchemy statement, each SQL string built once per process: none for the second.
    assert executed == [[], []], executed
    assert built[2] == built[1], built
