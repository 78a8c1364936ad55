"""The CLI as a client of `igautopost serve`: every remote command against a real server on
127.0.0.1 (uvicorn in a thread, SQLite in tmp_path), its exit codes, its parity with the local
database, its error messages, and that the API token never shows."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher

from igautopost import Settings, Status, SystemClock
from igautopost.auth.users import Users
from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.users import SqlUserStore

pytest.importorskip("fastapi")

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Server:
    """The API app served by uvicorn in a daemon thread, with one user and their key."""

    def __init__(self, store: SqlStore, users: Users, data_dir: Path) -> None:
        import uvicorn

        from igautopost.api import create_app

        settings = Settings(data_dir=data_dir, secret_key=TokenCipher.generate_key())
        app = create_app(settings, store=store, users=users, clock=SystemClock())
        self.store = store
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no server"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    def fail(self, post_id: int) -> None:
        """Make a post failed, as the engine would after Instagram refused it."""
        self.store.transition(
            post_id,
            Status.FAILED,
            now=datetime.now(UTC),
            detail="Instagram refused",
            changes={"error_message": "media URL not reachable", "error_code": 9004},
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    cipher = TokenCipher([TokenCipher.generate_key()])
    store = SqlStore.open(f"sqlite:///{tmp_path / 'server.db'}", cipher=cipher)
    users = Users(SqlUserStore(store.engine), cipher, SystemClock(), hasher=CHEAP)
    users.create("alice", "correct horse battery")
    _, key = users.create_key("alice")
    with Server(store, users, tmp_path / "server-data") as running:
        running.key = key  # type: ignore[attr-defined]
        yield running
    store.close()


@pytest.fixture
def remote(cli, server, monkeypatch) -> Callable[..., Any]:
    """``remote("list", "--json")``: the CLI pointed at the server through the environment.
    Every result is checked: the API key appears nowhere in what the command printed."""
    monkeypatch.setenv("IGAUTOPOST_SERVER", server.url)
    monkeypatch.setenv("IGAUTOPOST_API_TOKEN", server.key)

    def run(*args: str, input: str | None = None) -> Any:
        result = cli(*args, input=input)
        assert server.key not in result.output + result.stderr
        return result

    return run


def local(cli, monkeypatch, *args: str) -> Any:
    """The same command on the local database (no server configured)."""
    with monkeypatch.context() as scoped:
        scoped.delenv("IGAUTOPOST_SERVER", raising=False)
        return cli(*args)


def soon(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def scheduled(remote, cli, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = remote("schedule", "--json", cli.write("posts.json", posts))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_schedule_list_show_cancel_reschedule_retry_over_http(remote, cli, server, make_post):
    posts = [make_post(caption=f"post {i}", publish_at=soon(60 + i)) for i in range(3)]
    first, second, third = scheduled(remote, cli, posts)
    assert [p["status"] for p in (first, second, third)] == ["scheduled"] * 3
    assert not (cli.data_dir / "igautopost.db").exists()  # no local database was made

    listed = remote("list", "--json")
    assert [p["id"] for p in json.loads(listed.stdout)] == [first["id"], second["id"], third["id"]]

    shown = remote("show", "--json", str(first["id"]))
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["events"][0]["to"] == "scheduled"

    cancelled = remote("cancel", "--json", str(second["id"]))
    assert cancelled.exit_code == 0, cancelled.output
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    assert server.store.get(second["id"]).status is Status.CANCELLED

    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    moved = remote("reschedule", "--json", str(first["id"]), "--at", later.isoformat())
    assert moved.exit_code == 0, moved.output
    assert server.store.get(first["id"]).publish_at == later

    server.fail(third["id"])
    retried = remote("retry", "--json", str(third["id"]))
    assert retried.exit_code == 0, retried.output
    assert (json.loads(retried.stdout)["status"], json.loads(retried.stdout)["error"]) == (
        "scheduled",
        None,
    )


def test_tables_and_messages_read_as_they_do_locally(remote, cli, server, make_post):
    [post] = scheduled(remote, cli, [make_post(caption="table", publish_at=soon())])
    pid = str(post["id"])
    assert "1 scheduled" in remote("schedule", cli.write("b.json", make_post())).stdout
    assert "2 post(s), times in UTC" in remote("list").stdout
    details = remote("show", pid).stdout
    assert "(stored encrypted)" in details and "-> scheduled" in details
    moved = remote("reschedule", pid, "--at", "2036-01-01T10:00:00Z")
    assert f"post {pid} now publishes at 2036-01-01 10:00:00 UTC" in moved.stdout
    server.fail(post["id"])
    assert f"post {pid} scheduled again for" in remote("retry", pid).stdout
    assert f"post {pid} cancelled" in remote("cancel", pid).stdout


def test_json_keys_match_the_local_database(remote, cli, monkeypatch, make_post):
    path = cli.write("one.json", make_post(caption="parity", first_comment="hi"))
    there = json.loads(remote("schedule", "--json", path).stdout)[0]
    here = json.loads(local(cli, monkeypatch, "schedule", "--json", path).stdout)[0]
    assert here.keys() == there.keys()
    engine_only = ("id", "created_at", "updated_at", "next_attempt_at")  # not in the API
    assert {k: v for k, v in there.items() if k not in engine_only} == {
        k: v for k, v in here.items() if k not in engine_only
    }
    for command in (("show", "--json"), ("cancel", "--json")):
        remote_one = json.loads(remote(*command, str(there["id"])).stdout)
        local_one = json.loads(local(cli, monkeypatch, *command, str(here["id"])).stdout)
        assert remote_one.keys() == local_one.keys(), command
    assert (
        json.loads(remote("list", "--json", "--status", "cancelled").stdout)[0].keys()
        == json.loads(local(cli, monkeypatch, "list", "--json").stdout)[0].keys()
    )


def test_list_filters_and_limit_pages_through_the_server(remote, cli, make_post):
    other = "17841400000000002"
    posts = [make_post(caption=f"p{i}", publish_at=soon(60 + i)) for i in range(5)]
    posts.append(make_post(account=other, publish_at=soon(200)))
    created = scheduled(remote, cli, posts)

    def ids(*args: str) -> list[int]:
        result = remote("list", "--json", *args)
        assert result.exit_code == 0, result.output
        return [p["id"] for p in json.loads(result.stdout)]

    assert ids("--account", other) == [created[-1]["id"]]
    assert ids("--limit", "2") == [created[0]["id"], created[1]["id"]]
    assert ids("--since", soon(150)) == [created[-1]["id"]]
    assert ids("--status", "failed") == []
    assert remote("list", "--status", "bogus").exit_code == 2


@pytest.mark.parametrize(("limit", "asked"), [(None, [2, 2, 2]), (3, [2, 1])])
def test_list_follows_the_link_header_a_page_at_a_time(
    remote, cli, server, make_post, monkeypatch, limit, asked
):
    """Pages of `?limit=`, each continuing after the `after_id` its predecessor's Link names;
    the next page is asked for only when the posts before it are consumed."""
    import requests
    from igautopost_cli import remote as remote_module

    from igautopost import PostQuery

    monkeypatch.setattr(remote_module, "PAGE_SIZE_MAX", 2)
    posts = [make_post(caption=f"p{i}", publish_at=soon(60 + i)) for i in range(5)]
    created = [p["id"] for p in scheduled(remote, cli, posts)]
    session = requests.Session()
    urls: list[str] = []
    session.hooks["response"].append(lambda answer, **_: urls.append(answer.url))
    with remote_module.HttpPosts(server.url, server.key, session=session) as http:
        found = http.stream(PostQuery(limit=limit))
        first = next(found)
        assert len(urls) == 1
        ids = [first.id, *(p.id for p in found)]
    assert ids == created[: limit or 5]
    pages = [parse_qs(urlsplit(url).query) for url in urls]
    assert [int(page["limit"][0]) for page in pages] == asked
    assert [page.get("after_id") for page in pages[:2]] == [None, [str(created[1])]]
    assert "page" not in pages[0] and "page_size" not in pages[0]


def test_an_invalid_post_is_refused_before_anything_is_sent(remote, cli, server, make_post):
    bad = [
        make_post(),
        make_post(media_url="ftp://example.com/a.jpg", publish_at="2001-01-01T00:00Z"),
    ]
    result = remote("schedule", cli.write("bad.json", bad))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("invalid:")]
    assert len(lines) == 2 and all("bad.json[1]:" in line for line in lines)
    assert remote("list", "--json").stdout.strip() == "[]"


def test_a_refusal_midway_names_the_posts_stored(remote, cli, make_post):
    tokenless = make_post(caption="no token", account="17841400000000009")
    del tokenless["access_token"]  # valid locally; the API wants a token or a stored account
    posts = [make_post(caption="stored"), tokenless, make_post(caption="never sent")]
    result = remote("schedule", cli.write("mid.json", posts))
    assert result.exit_code == 1
    [stored] = json.loads(remote("list", "--json").stdout)
    assert (
        f"the server stopped at post 2 of 3: post 1 was stored as {stored['id']}; "
        "posts 2-3 were not stored" in result.stderr
    )
    assert "mid.json[1]: access_token: This field is required." in result.stderr


def test_unknown_ids_and_forbidden_changes_read_as_locally(remote, cli, monkeypatch, make_post):
    for command in (("show",), ("cancel",), ("retry",), ("reschedule", "--at", soon())):
        there = remote(*command, "999")
        here = local(cli, monkeypatch, *command, "999")
        assert (
            (there.exit_code, there.stderr)
            == (1, here.stderr)
            == (1, "error: post 999 not found\n")
        )
    [post] = scheduled(remote, cli, [make_post()])
    there = remote("retry", str(post["id"]))
    assert there.exit_code == 1
    assert f"post {post['id']} is scheduled; only failed posts can be retried" in there.stderr
    past = remote("reschedule", str(post["id"]), "--at", "2001-01-01T00:00:00Z")
    assert past.exit_code == 1 and past.stderr.startswith("invalid: publish_at: ")


def test_a_wrong_token_is_refused_clearly(cli, server, monkeypatch):
    wrong = "0" * 40
    monkeypatch.setenv("IGAUTOPOST_API_TOKEN", wrong)
    result = cli("list", "--server", server.url)
    assert result.exit_code == 1
    assert "the server refused the API token (Invalid token.)" in result.stderr
    assert "IGAUTOPOST_API_TOKEN" in result.stderr
    assert wrong not in result.output + result.stderr


def test_the_token_option_works_and_is_never_echoed(cli, server, monkeypatch):
    monkeypatch.delenv("IGAUTOPOST_API_TOKEN", raising=False)
    result = cli("list", "--json", "--server", server.url + "/api/v1/", "--api-token", server.key)
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("IGAUTOPOST_API_TOKEN", server.key)
    for command in ("schedule", "list", "show", "cancel", "reschedule", "retry"):
        helped = cli(command, "--help")
        assert "IGAUTOPOST_API_TOKEN" in helped.stdout and server.key not in helped.stdout


def test_without_a_token_the_command_says_how_to_give_one(cli, server, monkeypatch):
    monkeypatch.delenv("IGAUTOPOST_API_TOKEN", raising=False)
    result = cli("list", "--server", server.url)  # standard input is not a terminal: no prompt
    assert result.exit_code == 1
    assert "set IGAUTOPOST_API_TOKEN" in result.stderr


def test_a_bad_or_unreachable_server(cli, monkeypatch):
    monkeypatch.setenv("IGAUTOPOST_API_TOKEN", "k" * 40)
    assert cli("list", "--server", "127.0.0.1:8000").exit_code == 2
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = cli("list", "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"cannot reach the server at http://127.0.0.1:{port} (connection refused)" in (
        result.stderr
    )


def test_a_post_whose_answer_was_lost_is_reported_as_unknown():
    from igautopost_cli.remote import ScheduleInterrupted, ServerError

    lost = ServerError("no answer", answer_lost=True)
    assert str(ScheduleInterrupted([], 0, 2, lost)) == (
        "the server stopped at post 1 of 2: post 1 may or may not have been stored (its answer "
        "was lost); post 2 was not stored"
    )


def test_running_the_same_file_again_skips_posts_stored_by_client_key(remote, cli, make_post):
    path = cli.write("keyed.json", [make_post(client_key="a"), make_post(client_key="b")])
    first = json.loads(remote("schedule", "--json", path).stdout)
    again = remote("schedule", path)
    assert again.exit_code == 0, again.output
    assert "nothing new to schedule (2 already stored)" in again.stdout
    assert "2 already stored (same client_key)" in again.stderr
    listed = remote("schedule", "--verbose", path)
    assert f"already stored: post {first[0]['id']} has client key 'a'" in listed.stderr
