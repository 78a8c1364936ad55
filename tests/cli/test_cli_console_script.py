"""The installed `igautopost` console script, run as a separate process."""

from __future__ import annotations

import json
import subprocess

import pytest


@pytest.fixture
def run(cli):
    def run(*args: str, input: str | bytes | None = None, **env: str):
        done = subprocess.run(
            [str(cli.script), *args],
            input=input.encode() if isinstance(input, str) else input,
            capture_output=True,
            env=cli.env(**env),
            timeout=60,
        )
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    return run


def test_schedule_then_list_and_show(cli, run, make_post):
    token = make_post()["access_token"]
    code, out, err = run("schedule", "--json", cli.write("p.json", make_post(caption="via script")))
    assert code == 0, err
    [created] = json.loads(out)
    assert created["caption"] == "via script"

    code, out, _ = run("list", "--json")
    assert code == 0
    assert [p["id"] for p in json.loads(out)] == [created["id"]]

    code, out, err = run("show", str(created["id"]))
    assert code == 0
    assert "via script" in out
    assert token not in out + err


def test_schedule_json_lines_from_stdin_then_reschedule_in_local_time(run, make_post):
    lines = "\n".join(json.dumps(make_post(caption=f"{i}")) for i in range(3))
    code, out, err = run("schedule", "--json", "-", input=lines)
    assert code == 0, err
    created = json.loads(out)
    assert [p["caption"] for p in created] == ["0", "1", "2"]

    code, out, err = run(
        "reschedule",
        str(created[1]["id"]),
        "--at",
        "2036-12-24 18:00",
        IGAUTOPOST_TIMEZONE="Europe/Paris",
    )
    assert code == 0, err
    assert "2036-12-24 18:00:00 CET" in out


def test_bad_input_exits_1_with_one_line_per_problem(cli, run, make_post):
    bad = make_post(caption="#t " * 31, media_type="hologram")
    code, out, err = run("schedule", cli.write("bad.json", bad))
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "media_type" in lines[0]  # parsing stops before rule checks
    code, out, _ = run("list", "--json")
    assert json.loads(out) == []


def test_usage_error_exits_2(run):
    code, _, err = run("show", "not-a-number")
    assert code == 2
    assert "Usage: igautopost show" in err


def test_db_upgrade_twice(run):
    first = run("db", "upgrade")
    second = run("db", "upgrade")
    assert (first[0], second[0]) == (0, 0)
    assert "database at revision" in second[1] and "was" not in second[1]
