"""`igautopost list --json` on the local database reads rows straight into documents (issue 14):
what it writes is, byte for byte, what the CLI wrote from the `Post`s it read before."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from igautopost_cli.output import json_text, post_json

from igautopost import PostQuery, services
from igautopost.config import Settings

ANSI_ESCAPE = "\x1b["


@pytest.fixture
def scheduled(cli, make_post) -> None:
    posts = [
        make_post(caption="☕ café 🇫🇷 #旅行", client_key="a"),
        make_post(publish_at="2035-06-01T09:00:00+00:00", caption="same time, next id"),
        make_post(
            media_type="carousel",
            media_url=None,
            children=[{"url": "https://example.com/1.jpg"}, {"url": "https://example.com/2.mp4"}],
            publish_at="2035-06-02T09:00:00.5+02:00",
            timezone="Europe/Paris",
        ),
        make_post(media_type="reel", media_url="https://example.com/v.mp4", share_to_feed=True),
        make_post(account="17841400000000002", recurrence="0 9 * * 1", caption=None),
    ]
    result = cli("schedule", cli.write("posts.json", posts))
    assert result.exit_code == 0, result.output


def ordinary(query: PostQuery) -> list[str]:
    """The documents as `list --json` built them from `Post`s."""
    store = services.open_store(Settings())
    try:
        return [json_text(post_json(post)) for post in store.list(query)]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "query"),
    [
        ([], PostQuery()),
        (["--limit", "2"], PostQuery(limit=2)),
        (["--account", "17841400000000002"], PostQuery(account="17841400000000002")),
        (
            ["--since", "2035-06-01T10:00:00+00:00"],
            PostQuery(publish_from=datetime(2035, 6, 1, 10, tzinfo=UTC)),
        ),
    ],
)
def test_list_json_writes_the_documents_it_always_wrote(cli, scheduled, args, query):
    expected = ordinary(query)
    assert expected
    lines = cli("list", "--jsonl", *args)
    assert lines.exit_code == 0, lines.output
    assert lines.stdout.splitlines() == expected
    document = cli("list", "--json", *args)
    assert document.stdout == "[" + ",".join(expected) + "]\n"
    assert ANSI_ESCAPE not in document.stdout
    assert len(json.loads(document.stdout)) == len(expected)


def test_json_text_is_json_dumps():
    value = {"a": [1, 2.5, None, True], "é": '☕\n\u2028"', "n": {"x": 1e300}}
    assert json_text(value) == json.dumps(value, ensure_ascii=False)
    with pytest.raises(TypeError):
        json_text({"when": object()})
