"""`list --status` in any case (issue 15): `Scheduled`, as `list` prints it in a table
heading's style, means `scheduled`."""

from __future__ import annotations

import json
import subprocess

import pytest


@pytest.mark.parametrize("typed", ["Scheduled", "SCHEDULED", "scheduled"])
def test_status_in_any_case(cli, make_post, typed):
    def run(*args: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [str(cli.script), *args], capture_output=True, text=True, env=cli.env(), timeout=60
        )
        return done.returncode, done.stdout, done.stderr

    code, out, err = run("schedule", "--json", cli.write("p.json", make_post()))
    assert code == 0, err
    [created] = json.loads(out)

    code, out, err = run("list", "--json", "--status", typed)

    assert code == 0, err
    assert [post["id"] for post in json.loads(out)] == [created["id"]]


def test_an_unknown_status_is_still_refused(cli):
    result = cli("list", "--status", "Publishing")
    assert result.exit_code == 2
    assert "status must be one of: scheduled" in result.stderr
