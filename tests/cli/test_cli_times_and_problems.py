"""Issue 15, items 2, 4, 5 and 8, through the installed console script with stdout a pipe:
one rule for times without an offset, problems that say where, a summary of posts already
stored, and no post that could only fail for want of an account."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

PARIS_08_00_IN_UTC = "2031-01-05T07:00:00+00:00"


@pytest.fixture
def run(cli):
    """The console script run in the folder of the test's files, so that they are named as
    a user types them; returns (exit code, stdout, stderr)."""

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [str(cli.script), *args],
            capture_output=True,
            env=cli.env(**env),
            cwd=cli.data_dir.parent,
            timeout=60,
        )
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    return run


def _jsonl(posts: list[dict]) -> str:
    return "".join(json.dumps(post) + "\n" for post in posts)


def test_a_naive_time_means_the_same_in_a_file_and_on_the_command_line(cli, run, make_post):
    cli.write("naive.json", make_post(publish_at="2031-01-05 08:00"))
    code, out, err = run("schedule", "--json", "naive.json", TZ="Europe/Paris")
    assert code == 0, err
    [post] = json.loads(out)
    assert post["publish_at"] == PARIS_08_00_IN_UTC
    assert post["timezone"] == "Europe/Paris", "the zone used is stored with the post"
    assert err.strip() == "times without an offset read in Europe/Paris ($TZ)"

    code, out, err = run("reschedule", str(post["id"]), "--at", "2031-01-06 08:00", TZ="UTC")
    assert code == 0, err
    code, out, err = run(
        "reschedule", str(post["id"]), "--at", "2031-01-05 08:00", "--json", TZ="Europe/Paris"
    )
    assert code == 0, err
    assert json.loads(out)["publish_at"] == PARIS_08_00_IN_UTC
    assert "times without an offset read in Europe/Paris" in err


def test_list_reads_since_and_until_by_the_same_rule(cli, run, make_post):
    cli.write("aware.json", make_post(publish_at=PARIS_08_00_IN_UTC))
    assert run("schedule", "aware.json")[0] == 0
    window = ("--since", "2031-01-05 08:00", "--until", "2031-01-05 08:00")
    code, out, err = run("list", "--json", *window, TZ="Europe/Paris")
    assert code == 0, err
    assert [p["publish_at"] for p in json.loads(out)] == [PARIS_08_00_IN_UTC]
    assert err.strip() == "times without an offset read in Europe/Paris ($TZ)"


def test_the_setting_wins_over_tz_and_is_named(cli, run, make_post):
    cli.write("naive.json", make_post(publish_at="2031-01-05 08:00"))
    code, out, err = run(
        "schedule", "--json", "naive.json", TZ="Asia/Tokyo", IGAUTOPOST_TIMEZONE="Europe/Paris"
    )
    assert code == 0, err
    assert json.loads(out)[0]["publish_at"] == PARIS_08_00_IN_UTC
    assert "read in Europe/Paris (IGAUTOPOST_TIMEZONE)" in err


def test_times_with_an_offset_say_nothing_about_zones(cli, run, make_post):
    cli.write("aware.json", make_post())
    code, _, err = run("schedule", "aware.json", TZ="Europe/Paris")
    assert code == 0, err
    assert "without an offset" not in err


def test_every_problem_names_its_file_and_line_or_index(cli, run, make_post):
    cli.write("longcap.json", make_post(caption="c" * 3000))
    lines = [make_post(caption=f"{i}") for i in range(4)] + [make_post(caption="#t " * 31)]
    cli.write("bad5.jsonl", _jsonl(lines[:2]) + "\n" + _jsonl(lines[2:]))  # a blank line 3
    cli.write("array.json", [make_post(), make_post(media_type="gif")])
    code, out, err = run("schedule", "longcap.json", "bad5.jsonl", "array.json")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "invalid: longcap.json:1: caption: is 3000 characters long; the limit is 2200",
        "invalid: bad5.jsonl:6: caption: has 31 hashtags; the limit is 30",
        "invalid: array.json[1]: media_type: unknown media type 'gif'; use one of: "
        "image (Photo), reel (Video), story, carousel",
    ]


def test_an_unknown_field_or_a_bad_zone_hides_no_other_problem(cli, run, make_post):
    posts = [
        make_post(colour="red", caption="#t " * 31),
        make_post(timezone="Mars/Olympus", publish_at="2001-01-01 09:00"),
    ]
    cli.write("mixed.jsonl", _jsonl(posts))
    code, _, err = run("validate", "mixed.jsonl")
    assert code == 1
    *named, last = err.splitlines()
    assert named == [
        "invalid: mixed.jsonl:1: colour: is not a known field",
        "invalid: mixed.jsonl:1: caption: has 31 hashtags; the limit is 30",
        "invalid: mixed.jsonl:2: timezone: unknown IANA timezone 'Mars/Olympus' "
        "(e.g. 'Europe/Paris')",
    ]
    assert last.startswith("invalid: mixed.jsonl:2: publish_at: must be in the future (it is ")


def test_a_directory_is_named_as_one(cli, run):
    (cli.data_dir.parent / "posts").mkdir()
    code, _, err = run("schedule", "posts")
    assert code == 1
    assert err.strip() == "error: posts: is a directory; give the files of posts in it"


def test_a_file_run_again_prints_one_summary_line(cli, run, make_post):
    cli.write("keyed.jsonl", _jsonl([make_post(client_key=f"k{i}") for i in range(30)]))
    assert run("schedule", "keyed.jsonl")[0] == 0
    code, out, err = run("schedule", "keyed.jsonl")
    assert code == 0
    assert err.splitlines() == ["30 already stored (same client_key); --verbose lists them"]
    assert out.strip() == "nothing new to schedule (30 already stored)"
    code, _, err = run("schedule", "--verbose", "keyed.jsonl")
    listed = [line for line in err.splitlines() if line.startswith("already stored: post ")]
    assert len(listed) == 30 and "client key 'k29'" in listed[-1]


def test_a_post_without_token_or_stored_account_is_refused(cli, run, make_post):
    orphan = make_post(account="17841400000000077")
    del orphan["access_token"]
    cli.write("orphan.json", orphan)
    code, out, err = run("schedule", "orphan.json")
    assert code == 1 and out == ""
    [line] = err.splitlines()
    assert line.startswith("invalid: orphan.json:1: access_token: is missing and account ")
    assert "`igautopost account add 17841400000000077`" in line
    assert "--allow-missing-account" in line
    assert json.loads(run("list", "--json")[1]) == []

    code, out, err = run("schedule", "--allow-missing-account", "--json", "orphan.json")
    assert code == 0, err
    assert [p["account"] for p in json.loads(out)] == ["17841400000000077"]


def test_a_post_without_token_is_accepted_once_its_account_is_stored(cli, run, make_post):
    cli.write("first.json", make_post(caption="brings the token"))
    assert run("schedule", "first.json")[0] == 0
    tokenless = make_post(caption="uses the stored account")
    del tokenless["access_token"]
    cli.write("second.json", tokenless)
    code, _, err = run("schedule", "second.json")
    assert code == 0, err


def test_the_places_of_a_large_file_cost_a_few_bytes_a_post(tmp_path: Path, make_post):
    from igautopost_cli.inputs import Places, read_posts

    path = tmp_path / "big.jsonl"
    path.write_text(_jsonl([make_post(caption=f"{i}") for i in range(3000)]))
    places = Places()
    assert sum(1 for _ in read_posts([str(path)], places)) == 3000
    assert places.of(2999) == f"{path}:3000"
    assert places.of(3000) is None


# -- publish --now: it talks, it gives up, it says what becomes of the post (item 1) ----------

UNREACHABLE = {  # a closed port: every Graph call fails at once, a transient error
    "IGAUTOPOST_GRAPH_BASE_URL": "http://127.0.0.1:9",
    "IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL": "http://127.0.0.1:9",
}


def test_publish_now_prints_each_retry_and_gives_up_after_its_timeout(cli, run, make_post):
    cli.write("one.json", make_post())
    code, out, err = run("publish", "--now", "--timeout", "3", "one.json", **UNREACHABLE)
    assert code == 124, err
    assert out == ""
    lines = err.splitlines()
    retries = [line for line in lines if "could not reach the Graph API" in line]
    assert retries and "retry 1 at" in retries[0]
    assert lines[-1].startswith("error: gave up after 3 s: post 1 is left scheduled")
    assert "`igautopost cancel 1`" in lines[-1]
    [post] = json.loads(run("list", "--json")[1])
    assert post["status"] == "scheduled"

    code, _, err = run(
        "publish", "--now", "--timeout", "1", "--cancel-on-interrupt", "1", **UNREACHABLE
    )
    assert code == 124
    assert err.splitlines()[-1] == "error: gave up after 1 s: post 1 cancelled"
    assert json.loads(run("list", "--json", "--status", "cancelled")[1])[0]["id"] == 1


@pytest.mark.parametrize("cancel", [False, True])
def test_ctrl_c_says_what_becomes_of_the_post(cli, make_post, cancel):
    import signal

    cli.write("one.json", make_post())
    flags = ["--cancel-on-interrupt"] if cancel else []
    with subprocess.Popen(
        [str(cli.script), "publish", "--now", *flags, "one.json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env(**UNREACHABLE),
        cwd=cli.data_dir.parent,
    ) as running:
        assert running.stderr is not None
        first = running.stderr.readline().decode()
        assert "could not reach the Graph API" in first and "retry 1 at" in first
        running.send_signal(signal.SIGINT)
        rest = running.stderr.read().decode()
        assert running.wait(timeout=30) == 130
    [last] = rest.splitlines()[-1:]
    if cancel:
        assert last == "error: interrupted: post 1 cancelled"
    else:
        assert last.startswith("error: interrupted: post 1 is left scheduled, next step at ")
        assert "a worker (`igautopost worker`) will publish it" in last


@pytest.mark.parametrize("command", [("list",), ("show", "1"), ("reschedule", "1", "--at", "1")])
def test_a_setting_that_names_no_zone_is_an_error_not_a_traceback(run, command):
    code, out, err = run(*command, IGAUTOPOST_TIMEZONE="Mars/Olympus")
    assert code == 1 and out == ""
    assert err.strip() == (
        "error: IGAUTOPOST_TIMEZONE: unknown IANA timezone 'Mars/Olympus' (e.g. 'Europe/Paris')"
    )
