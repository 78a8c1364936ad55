"""A POST's inserts are statements built once per process (issue 14): a statement built per
call made SQLAlchemy compute its cache key, every column of posts, on every POST, about
60-80 us of a 600 us `schedule()` (docs/benchmarks.md, "The HTTP API")."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from apitest import old_post


def test_each_post_runs_the_same_insert_statements(api, alice):
    executed: list[list[Any]] = []

    def before_execute(conn, clause, multiparams, params, options):  # type: ignore[no-untyped-def]
        if isinstance(clause, sa.Insert) and clause.table.name in ("posts", "post_events"):
            executed[-1].append(clause)

    sa.event.listen(api.store.engine, "before_execute", before_execute)
    try:
        for caption in ("one", "two"):
            executed.append([])
            response = api.client.post(
                "/api/v1/posts/", json=old_post(caption=caption), headers=alice
            )
            assert response.status_code == 201, response.text
    finally:
        sa.event.remove(api.store.engine, "before_execute", before_execute)
    first, second = executed
    assert [s.table.name for s in first] == ["posts", "post_events"], first
    assert len(first) == len(second)
    assert all(a is b for a, b in zip(first, second, strict=True)), (first, second)
