"""`list`, `show`, `cancel`, `reschedule`, `db upgrade` in-process; exit codes; local times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from igautopost import Settings, Status, open_store


@pytest.fixture
def scheduled(cli, make_post):
    """Schedule posts through the CLI; returns their ids."""

    def schedule(*posts: dict) -> list[int]:
        result = cli("schedule", "--json", cli.write("batch.json", list(posts)))
        assert result.exit_code == 0, result.output
        return [p["id"] for p in json.loads(result.stdout)]

    return schedule


def set_status(cli, post_id: int, status: Status) -> None:
    store = open_store(Settings(data_dir=cli.data_dir))
    try:
        store.transition(post_id, status, now=datetime.now(UTC))
    finally:
        store.close()


# -- list --------------------------------------------------------------------------------------


def test_list_filters(cli, make_post, scheduled):
    ids = scheduled(
        make_post(account="111", publish_at="2035-06-01T09:00:00Z"),
        make_post(account="222", publish_at="2035-06-02T09:00:00Z"),
        make_post(account="111", publish_at="2035-06-03T09:00:00Z", caption="third"),
    )
    assert cli("cancel", str(ids[0])).exit_code == 0

    def listed(*args: str) -> list[int]:
        result = cli("list", "--json", *args)
        assert result.exit_code == 0, result.output
        return [p["id"] for p in json.loads(result.stdout)]

    assert listed() == ids
    assert listed("--status", "scheduled") == ids[1:]
    assert listed("--status", "cancelled", "--status", "scheduled") == ids
    assert listed("--account", "111") == [ids[0], ids[2]]
    assert listed("--since", "2035-06-02T00:00:00Z") == ids[1:]
    assert listed("--until", "2035-06-02T09:00:00+00:00") == ids[:2]
    assert listed("--since", "2035-06-01T10:00Z", "--until", "2035-06-02T10:00Z") == [ids[1]]
    assert listed("--limit", "2") == ids[:2]


def test_list_table_states_the_zone(cli, make_post, scheduled, monkeypatch):
    scheduled(make_post(publish_at="2035-01-15T09:00:00Z"))
    monkeypatch.setenv("IGAUTOPOST_TIMEZONE", "America/New_York")
    result = cli("list")
    assert result.exit_code == 0
    assert "times in America/New_York" in result.stdout
    assert "2035-01-15 04:00:00 EST" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["--status", "sent"], ["--since", "yesterday-ish"], ["--limit", "0"], ["--bogus"]],
)
def test_list_usage_errors_exit_2(cli, args):
    result = cli("list", *args)
    assert result.exit_code == 2
    assert result.stdout == ""


# -- show --------------------------------------------------------------------------------------


def test_show_has_fields_and_history_but_never_the_token(cli, make_post, scheduled):
    token = make_post()["access_token"]
    [post_id] = scheduled(make_post(caption="look at this"))
    assert cli("cancel", str(post_id)).exit_code == 0

    table = cli("show", str(post_id))
    assert table.exit_code == 0
    assert "look at this" in table.stdout
    assert "(stored encrypted)" in table.stdout
    assert "scheduled -> cancelled" in table.stdout

    shown = cli("show", "--json", str(post_id))
    data = json.loads(shown.stdout)
    assert (data["id"], data["status"], data["caption"]) == (post_id, "cancelled", "look at this")
    assert [(e["from"], e["to"]) for e in data["events"]] == [
        (None, "scheduled"),
        ("scheduled", "cancelled"),
    ]
    for output in (table.output, shown.output):
        assert token not in output
    assert "access_token" not in data


def test_show_a_missing_post_exits_1(cli):
    result = cli("show", "404")
    assert result.exit_code == 1
    assert "post 404 not found" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["show"], ["show", "abc"], ["cancel"], ["no-such-command"], ["reschedule", "1"], ["schedule"]],
)
def test_usage_errors_exit_2(cli, args):
    assert cli(*args).exit_code == 2


def test_no_arguments_shows_help_as_a_usage_error(cli):
    result = cli()
    assert "schedule" in result.output
    assert result.exit_code == 2


def test_help_exits_0(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("schedule", "validate", "list", "show", "cancel", "reschedule", "db"):
        assert command in result.stdout


# -- cancel ------------------------------------------------------------------------------------


def test_cancel(cli, make_post, scheduled):
    [post_id] = scheduled(make_post())
    result = cli("cancel", "--json", str(post_id))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "cancelled"
    assert cli.posts()[0]["status"] == "cancelled"
    again = cli("cancel", str(post_id))
    assert again.exit_code == 0
    assert f"post {post_id} cancelled" in again.stdout


def test_cancel_a_published_post_fails(cli, make_post, scheduled):
    [post_id] = scheduled(make_post())
    set_status(cli, post_id, Status.PUBLISHED)
    result = cli("cancel", str(post_id))
    assert result.exit_code == 1
    assert "already published" in result.stderr
    assert cli.posts()[0]["status"] == "published"


def test_cancel_a_missing_post_exits_1(cli):
    assert cli("cancel", "7").exit_code == 1


# -- reschedule and times on the command line ------------------------------------------------


def test_reschedule_with_an_offset(cli, make_post, scheduled):
    [post_id] = scheduled(make_post())
    result = cli("reschedule", str(post_id), "--at", "2036-02-03T04:05:06+02:00", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["publish_at"] == "2036-02-03T02:05:06+00:00"
    assert cli.posts()[0]["publish_at"] == "2036-02-03T02:05:06+00:00"


@pytest.mark.parametrize(
    ("env", "zone"),
    [
        ({"IGAUTOPOST_TIMEZONE": "America/New_York"}, "America/New_York"),
        ({"TZ": "Asia/Tokyo"}, "Asia/Tokyo"),
        ({"TZ": "Asia/Tokyo", "IGAUTOPOST_TIMEZONE": "Europe/Paris"}, "Europe/Paris"),
    ],
)
def test_naive_at_is_local_time_and_the_zone_is_shown(
    cli, make_post, scheduled, monkeypatch, env, zone
):
    [post_id] = scheduled(make_post())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = cli("reschedule", str(post_id), "--at", "2036-07-01 09:00")
    assert result.exit_code == 0, result.output
    expected = datetime(2036, 7, 1, 9, tzinfo=ZoneInfo(zone))
    assert f"2036-07-01 09:00:00 {expected.tzname()}" in result.stdout
    [stored] = cli.posts()
    assert datetime.fromisoformat(stored["publish_at"]) == expected
    assert f"times in {zone}" in cli("list").stdout


def test_reschedule_a_failed_post_schedules_it_again(cli, make_post, scheduled):
    [post_id] = scheduled(make_post())
    set_status(cli, post_id, Status.FAILED)
    result = cli("reschedule", str(post_id), "--at", "2036-01-01T00:00:00Z", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "scheduled"


@pytest.mark.parametrize(
    ("at", "code", "said"),
    [("2001-01-01T00:00:00Z", 1, "future"), ("not a time", 2, "not a time")],
)
def test_reschedule_refuses_past_and_garbage_times(cli, make_post, scheduled, at, code, said):
    [post_id] = scheduled(make_post())
    before = cli.posts()
    result = cli("reschedule", str(post_id), "--at", at)
    assert result.exit_code == code
    assert said in result.output
    assert cli.posts() == before


def test_reschedule_a_cancelled_post_exits_1(cli, make_post, scheduled):
    [post_id] = scheduled(make_post())
    cli("cancel", str(post_id))
    result = cli("reschedule", str(post_id), "--at", "2036-01-01T00:00:00Z")
    assert result.exit_code == 1
    assert "cancelled" in result.stderr


# -- db upgrade --------------------------------------------------------------------------------


def test_db_upgrade_is_idempotent(cli, make_post, scheduled):
    first = cli("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "(was None)" in first.stdout
    [post_id] = scheduled(make_post())
    second = cli("db", "upgrade")
    assert second.exit_code == 0
    assert "was" not in second.stdout
    assert first.stdout.split()[3] == second.stdout.split()[3]  # the same revision
    assert [p["id"] for p in cli.posts()] == [post_id]


def test_naive_since_and_until_are_local_times(cli, make_post, scheduled, monkeypatch):
    [post_id] = scheduled(make_post(publish_at="2035-06-01T00:30:00Z"))  # 09:30 in Tokyo
    monkeypatch.setenv("IGAUTOPOST_TIMEZONE", "Asia/Tokyo")

    def listed(*args: str) -> list[int]:
        return [p["id"] for p in json.loads(cli("list", "--json", *args).stdout)]

    assert listed("--since", "2035-06-01 09:00") == [post_id]
    assert listed("--since", "2035-06-01 10:00") == []
    assert listed("--until", "2035-06-01T09:29") == []
    assert listed("--until", "2035-06-01T09:30") == [post_id]
