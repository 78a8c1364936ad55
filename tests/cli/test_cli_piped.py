"""Output that is not a terminal (issue 15): the installed script with stdout and stderr
pipes prints whole lines, never wrapped at 80 columns nor cut with `…`."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

import pytest

LONG_IDS = ("17841400000000001", "17841400000000002")


@pytest.fixture
def run(cli):
    def run(*args: str, input: str | None = None, timeout: float = 60, **env: str):
        done = subprocess.run(
            [str(cli.script), *args],
            input=input,
            capture_output=True,
            text=True,
            env=cli.env(COLUMNS="", **env),
            timeout=timeout,
        )
        return done.returncode, done.stdout, done.stderr

    return run


def test_account_list_shows_whole_ids(run):
    for ig_user_id in LONG_IDS:
        code, _, err = run(
            "account",
            "add",
            ig_user_id,
            "--username",
            "a_rather_long_instagram_username",
            "--token-stdin",
            input="EAAB-token\n",
        )
        assert code == 0, err

    code, out, err = run("account", "list")

    assert code == 0, err
    assert "…" not in out
    rows = [line for line in out.splitlines() if "a_rather_long_instagram_username" in line]
    assert [ig_user_id in row for row, ig_user_id in zip(rows, LONG_IDS, strict=True)] == [
        True,
        True,
    ]


def test_a_long_message_stays_on_one_line(run, cli, tmp_path: Path):
    """A message naming a deep data directory: longer than 80 columns."""
    deep = tmp_path / ("d" * 60)
    code, _, err = run("db", "upgrade", IGAUTOPOST_DATA_DIR=str(deep))
    assert code == 0, err
    code, out, err = run("secrets", "rotate", IGAUTOPOST_DATA_DIR=str(deep))
    assert code == 0, err
    [line] = err.strip().splitlines()
    assert line.startswith("new key written to ") and line.endswith("`igautopost secrets prune`)")
    assert len(out.splitlines()) == 1


def test_rotating_one_secret_says_secret(run):
    code, _, err = run("account", "add", LONG_IDS[0], "--token-stdin", input="EAAB-token\n")
    assert code == 0, err

    code, out, err = run("secrets", "rotate")

    assert code == 0, err
    assert out.startswith("re-encrypted 1 secret (")


@pytest.fixture
def root_logger():
    """The root logger's handlers and level, put back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_logs_off_a_terminal_are_one_plain_line_per_record(capsys, root_logger, tmp_path):
    """The worker's and serve's logging, as set up in their process (stderr captured here,
    so not a terminal)."""
    from igautopost_cli.engine import configure_logging

    from igautopost import Settings

    configure_logging(False, Settings(data_dir=tmp_path), "text")
    logging.getLogger("igautopost.test").info("post 1: %s", "word " * 40)

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\S+ \S+ INFO igautopost\.test: post 1: (word ){39}word ", lines[0])


def test_a_bad_log_format_is_a_usage_error(run):
    code, _, err = run("worker", "--log-format", "xml")
    assert code == 2
    assert "--log-format" in err


def test_demo_worker_logs_json_lines_and_says_when_it_is_done(run):
    """The demo's three posts publish 15, 30 and 45 s after it starts."""
    code, _, err = run(
        "worker",
        "--sandbox",
        "--demo",
        "--exit-when-idle",
        "--log-format",
        "json",
        timeout=150,
    )
    assert code == 0, err
    lines = err.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and all(r["level"] and r["logger"] and r["message"] for r in records)
    assert any("published" in r["message"] for r in records)
    plain = [line for line in lines if not line.startswith("{")]
    assert "demo done: 3 of 3 posts published" in plain
    assert all(line.startswith(("sandbox ", "demo", "worker ", "stop")) for line in plain), plain
