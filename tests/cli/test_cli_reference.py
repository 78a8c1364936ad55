"""docs/cli.md names every command and every setting, so that its reference stays true
(issue 15, item 10: it left out half the commands and had no settings section)."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from igautopost_cli.app import app

from igautopost.config import Settings

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    root = typer.main.get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    return names


def test_every_command_is_in_the_table() -> None:
    rows = [
        re.split(r"(?<!\\)\|", line)[1]
        for line in PAGE.splitlines()
        if line.startswith("| `igautopost ")
    ]
    missing = []
    for name in _commands():
        group, _, sub = name.partition(" ")
        mine = [row for row in rows if re.match(rf" `igautopost {re.escape(group)}\b", row)]
        if not mine or (sub and not any(re.search(rf"\b{re.escape(sub)}\b", r) for r in mine)):
            missing.append(name)
    assert missing == []


def test_every_setting_is_in_the_settings_section() -> None:
    section = PAGE.split("## Settings", 1)[1].split("\n## ", 1)[0]
    missing = [
        f"IGAUTOPOST_{name.upper()}"
        for name in Settings.model_fields
        if f"IGAUTOPOST_{name.upper()}`" not in section
    ]
    assert missing == []


def test_publish_without_now_says_why_it_is_needed(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("publish", "examples/post.json")
    assert result.exit_code == 2
    assert "--now says you mean it" in result.output and "igautopost schedule" in result.output
