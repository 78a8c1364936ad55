"""JSON for scripts (issue 14): compact, one document or one line per post, never through Rich
when stdout is not a terminal, written as the posts are read, a page at a time."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from igautopost_cli import backends, output

from igautopost import PostQuery
from igautopost.storage.sql import SqlStore

ANSI_ESCAPE = "\x1b["


@pytest.fixture
def stored(cli, make_post) -> list[dict[str, Any]]:
    """Five posts, one an hour, with emoji and a non-ASCII hashtag in their captions."""
    posts = [
        make_post(caption=f"post {i} ☕ #café", publish_at=f"2035-06-01T0{i}:00:00+00:00")
        for i in range(5)
    ]
    result = cli("schedule", "--json", cli.write("posts.json", posts))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_json_is_one_compact_document(cli, stored):
    result = cli("list", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # one line: no pretty-printing
    listed = json.loads(result.stdout)
    assert [p["id"] for p in listed] == [p["id"] for p in stored]
    assert listed[0]["caption"] == "post 0 ☕ #café"


def test_list_jsonl_is_one_post_per_line(cli, stored):
    result = cli("list", "--jsonl", "--limit", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [p["id"] for p in stored[:3]]


def test_an_empty_list_is_an_empty_array_or_no_lines(cli):
    assert json.loads(cli("list", "--json").stdout) == []
    assert cli("list", "--jsonl").stdout == ""


def test_json_and_jsonl_together_are_a_usage_error(cli):
    result = cli("list", "--json", "--jsonl")
    assert result.exit_code == 2
    assert "--json or --jsonl" in result.output


@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_no_colour_codes_in_a_pipe_even_when_colour_is_forced(cli, stored, flag):
    """The console script, as a script runs it: stdout a pipe, FORCE_COLOR set."""
    env = cli.env(FORCE_COLOR="1", TTY_COMPATIBLE="1")
    env.pop("NO_COLOR", None)
    for args in (["list", flag], ["show", str(stored[0]["id"]), "--json"]):
        shown = subprocess.run(
            [str(cli.script), *args], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert ANSI_ESCAPE not in shown
        documents = shown.splitlines() if flag == "--jsonl" and args[0] == "list" else [shown]
        assert all(json.loads(document) for document in documents)


def test_schedule_jsonl_prints_each_post_on_its_line(cli, make_post):
    posts = [make_post(caption=f"c{i}", client_key=f"k{i}") for i in range(3)]
    result = cli("schedule", "--jsonl", cli.write("posts.json", posts))
    assert result.exit_code == 0, result.output
    shown = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["caption"] for p in shown] == ["c0", "c1", "c2"]
    assert [p["id"] for p in shown] == [p["id"] for p in cli.posts()]


@pytest.mark.parametrize(
    "command", [["show"], ["cancel"], ["reschedule", "--at", "2036-01-01T10:00:00+00:00"]]
)
def test_one_post_commands_print_one_compact_line(cli, stored, command):
    result = cli(command[0], str(stored[0]["id"]), *command[1:], "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout)["id"] == stored[0]["id"]


def test_account_list_json_is_compact(cli, stored):
    result = cli("account", "list", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    [account] = json.loads(result.stdout)
    assert account["ig_user_id"] == stored[0]["account"]
    lines = cli("account", "list", "--jsonl").stdout.splitlines()
    assert [json.loads(line)["ig_user_id"] for line in lines] == [stored[0]["account"]]


# -- streaming -------------------------------------------------------------------------------


def test_rows_are_written_as_they_are_read(capsys):
    """Each row is on stdout before the next is asked for: nothing collects the list."""
    seen_before: list[str] = []

    def rows():
        for number in range(3):
            seen_before.append(capsys.readouterr().out)
            yield {"n": number}

    output.write_json_rows(rows(), lines=False)
    assert seen_before == ["", '[{"n": 0}', ',{"n": 1}']
    assert capsys.readouterr().out == ',{"n": 2}]\n'


class CountingStore:
    """A store whose `list` records the queries it answers."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.queries: list[PostQuery] = []

    def list(self, query: PostQuery) -> list[Any]:
        self.queries.append(query)
        return self.store.list(query)


class StateOn:
    def __init__(self, store: CountingStore) -> None:
        self.store = store


@pytest.mark.parametrize(("limit", "sizes"), [(None, [2, 2, 2]), (3, [2, 1]), (4, [2, 2])])
def test_local_posts_read_keyset_pages(store, make_post, monkeypatch, limit, sizes):
    import igautopost

    monkeypatch.setattr(backends, "PAGE_SIZE", 2)
    now = igautopost.SystemClock().now()
    posts = [make_post(publish_at=f"2035-06-01T0{i}:00:00+00:00", caption=f"{i}") for i in range(5)]
    created = igautopost.schedule(store, posts, now=now).created
    counting = CountingStore(store)
    found = backends.LocalPosts(StateOn(counting)).stream(PostQuery(limit=limit))  # type: ignore[arg-type]
    first = next(found)
    assert len(counting.queries) == 1  # one page read, not the whole list
    ids = [first.id, *(p.id for p in found)]
    assert ids == [p.id for p in created][: limit or 5]
    assert [q.limit for q in counting.queries] == sizes
    assert counting.queries[0].after is None
    assert counting.queries[1].after == (created[1].publish_at, created[1].id)


def test_rows_stream_with_the_cycle_collector_paused_and_it_comes_back() -> None:
    """Each page of documents counted towards the collector, whose full collections walked
    everything loaded again and again: 0.7 s of `list --json`'s 3.3 s (issue 14)."""
    import gc
    import io
    from contextlib import redirect_stdout

    from igautopost_cli.output import write_json_rows

    seen: list[bool] = []

    def rows() -> Iterator[dict[str, int]]:
        for n in range(3):
            seen.append(gc.isenabled())
            yield {"n": n}

    def failing() -> Iterator[dict[str, int]]:
        yield {"n": 0}
        raise RuntimeError("the store went away")

    assert gc.isenabled()
    text = io.StringIO()
    with redirect_stdout(text):
        write_json_rows(rows(), lines=True)
        with pytest.raises(RuntimeError):
            write_json_rows(failing(), lines=False)
    assert seen == [False, False, False]
    assert gc.isenabled()
    assert text.getvalue().startswith('{"n": 0}\n{"n": 1}\n{"n": 2}\n')
