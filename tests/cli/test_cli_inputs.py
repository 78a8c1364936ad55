"""Posts read from files as a stream (issue 14): JSON Lines a line at a time, each post handed
on as it is read and validated, none kept as text once parsed."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from igautopost_cli.inputs import InputError, read_posts

from igautopost import InvalidPost
from igautopost.posts import checked_posts, parse_posts

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_json_lines_come_one_at_a_time(tmp_path, make_post):
    """The first post is handed on before a later bad line is even read."""
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(make_post(caption="first")) + "\n" + "{not json\n")
    posts = read_posts([str(path)])
    assert next(posts)["caption"] == "first"
    with pytest.raises(InputError, match="line 2 column 2"):
        next(posts)


def test_standard_input_is_read_as_it_comes(monkeypatch, make_post):
    class Stdin:
        buffer = io.BytesIO(
            b"\n".join(json.dumps(make_post(caption=f"c{i}")).encode() for i in range(3))
        )

    monkeypatch.setattr(sys, "stdin", Stdin)
    posts = read_posts(["-"])
    assert next(posts)["caption"] == "c0"
    assert [p["caption"] for p in posts] == ["c1", "c2"]


@pytest.mark.parametrize(
    "render",
    [
        lambda posts: json.dumps(posts, indent=2),  # an array over many lines
        lambda posts: json.dumps(posts[0], indent=2),  # one pretty-printed object
        lambda posts: "\n\n" + "\n".join(json.dumps(p) for p in posts),  # lines after blanks
    ],
)
def test_every_shape_reads_the_same_posts(tmp_path, make_post, render):
    posts = [make_post(caption=f"c{i}") for i in range(3)]
    path = tmp_path / "posts.json"
    path.write_text(render(posts))
    expected = posts[:1] if render(posts).startswith("{") else posts
    assert list(read_posts([str(path)])) == expected


def test_a_long_first_line_past_the_binary_check_is_read_whole(tmp_path, make_post):
    caption = "☕ " * 5000  # the first line is longer than the bytes looked at for a NUL
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(make_post(caption=caption)) + "\n" + json.dumps(make_post()))
    assert [p["caption"] for p in read_posts([str(path)])] == [caption, "Morning coffee #coffee"]


def test_checked_posts_validates_as_items_arrive(make_post):
    pulled: list[int] = []

    def items() -> Iterator[dict[str, Any]]:
        for number in range(3):
            pulled.append(number)
            yield make_post(caption=f"c{number}")

    checked = checked_posts(items(), now=NOW)
    assert next(checked).caption == "c0"
    assert pulled == [0]
    assert [spec.caption for spec in checked] == ["c1", "c2"]


def test_checked_posts_names_every_problem_at_the_end(make_post):
    items = [make_post(), make_post(media_type="bogus"), make_post(), make_post(account="")]
    with pytest.raises(InvalidPost) as raised:
        list(checked_posts(iter(items), now=NOW))
    assert sorted({p.index for p in raised.value.problems}) == [1, 3]
    with pytest.raises(InvalidPost):
        parse_posts(iter(items), now=NOW)


def test_validate_counts_a_stream_it_does_not_keep(cli, make_post):
    lines = "\n".join(json.dumps(make_post(caption=f"c{i}")) for i in range(4))
    result = cli("validate", "-", input=lines)
    assert result.exit_code == 0, result.output
    assert "4 post(s) valid" in result.stdout


def test_counting_a_large_file_keeps_no_post(tmp_path, make_post):
    """`validate` of 3,000 posts holds about one at a time: the peak does not grow with the
    file (held whole, the text, the parsed dicts and the posts were several MB)."""
    import tracemalloc

    path = tmp_path / "many.jsonl"
    lines = (
        json.dumps(make_post(caption=f"post {i} ☕ #café", client_key=f"k{i}")) for i in range(3000)
    )
    path.write_text("\n".join(lines))
    sum(1 for _ in checked_posts(read_posts([str(path)]), now=NOW))  # warm the validators
    tracemalloc.start()
    try:
        counted = sum(1 for _ in checked_posts(read_posts([str(path)]), now=NOW))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counted == 3000
    assert peak < 500_000, f"peak {peak:,} bytes"
