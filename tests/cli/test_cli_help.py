"""`--help` through the installed script, piped (issue 15): no `<bool>`/`<str>` tags,
every option described, nothing cut at 80 columns, and a `--version`."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import version

import pytest
import typer.main
from igautopost_cli.app import _commands, app
from typer.core import TyperOption


def command_paths() -> list[list[str]]:
    """Every command and sub-command, as the words that name it."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def visit(command, path):
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            visit(sub, [*path, name])

    visit(root, [])
    return paths


@pytest.fixture
def help_of(cli):
    def help_of(*path: str) -> str:
        done = subprocess.run(
            [str(cli.script), *path, "--help"],
            capture_output=True,
            text=True,
            env=cli.env(COLUMNS=""),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return help_of


@pytest.mark.parametrize("path", command_paths(), ids=lambda path: " ".join(path) or "root")
def test_options_have_no_type_tags_and_nothing_is_cut(help_of, path):
    text = help_of(*path)
    options = text[text.index("Options:") :]
    assert not re.search(r"<(bool|str|int|float|int range|float range|list\[str\])>", options)
    assert "…" not in text


def test_every_option_is_described():
    undescribed = [
        f"{command.name} {param.opts[0]}"
        for command in _commands(typer.main.get_command(app))
        for param in command.params
        if isinstance(param, TyperOption) and not param.help
    ]
    assert undescribed == []


def test_long_option_names_and_help_are_whole_when_piped(help_of):
    text = help_of("serve")
    assert "--forwarded-allow-ips IPS" in text
    assert "--no-proxy-headers" in text
    [line] = [line for line in text.splitlines() if "X-Forwarded-For" in line]
    assert line.rstrip().endswith("[default: proxy-headers]")  # the whole help, on one line
    assert "[default: (one per CPU core, at most 4); x>=1]" in text  # not eaten as markup


def test_version(cli):
    done = subprocess.run(
        [str(cli.script), "--version"], capture_output=True, text=True, env=cli.env(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"igautopost {version('igautopost')}\n"
