"""`igautopost schedule` and `validate` in-process: every input shape, JSON output, idempotency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def jsonl(posts: list[dict]) -> str:
    return "\n".join(json.dumps(p) for p in posts) + "\n"


def three(make_post) -> list[dict]:
    return [make_post(caption=f"post {i}", client_key=f"k{i}") for i in range(3)]


def test_schedule_a_json_object(cli, make_post):
    result = cli("schedule", "--json", cli.write("post.json", make_post(caption="hello")))
    assert result.exit_code == 0, result.output
    [shown] = json.loads(result.stdout)
    assert (shown["status"], shown["caption"]) == ("scheduled", "hello")
    assert [p["id"] for p in cli.posts()] == [shown["id"]]


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("posts.json", json.dumps),
        ("posts.jsonl", jsonl),
        ("pretty.json", lambda v: json.dumps(v, indent=2)),
    ],
)
def test_schedule_an_array_or_json_lines(cli, make_post, name, render):
    posts = three(make_post)
    result = cli("schedule", "--json", cli.write(name, render(posts)))
    assert result.exit_code == 0, result.output
    assert [p["caption"] for p in json.loads(result.stdout)] == ["post 0", "post 1", "post 2"]
    assert len(cli.posts()) == 3


def test_json_lines_with_blank_lines_and_a_bom(cli, make_post):
    text = "\ufeff" + jsonl(three(make_post)).replace("\n", "\n\n", 1)
    result = cli("schedule", cli.write("bom.jsonl", text.encode("utf-8")))
    assert result.exit_code == 0, result.output
    assert len(cli.posts()) == 3


def test_schedule_from_standard_input(cli, make_post):
    result = cli("schedule", "--json", "-", input=jsonl(three(make_post)))
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3
    assert len(cli.posts()) == 3


def test_schedule_several_files_at_once(cli, make_post):
    first = cli.write("a.json", make_post(caption="a"))
    second = cli.write("b.jsonl", jsonl([make_post(caption="b"), make_post(caption="c")]))
    result = cli("schedule", "--json", first, second)
    assert result.exit_code == 0, result.output
    assert [p["caption"] for p in cli.posts()] == ["a", "b", "c"]


def test_schedule_prints_a_table_with_local_times(cli, make_post, monkeypatch):
    monkeypatch.setenv("IGAUTOPOST_TIMEZONE", "Europe/Paris")
    result = cli("schedule", cli.write("p.json", make_post(publish_at="2035-06-01T09:00:00Z")))
    assert result.exit_code == 0, result.output
    assert "1 scheduled" in result.stdout
    assert "2035-06-01 11:00:00 CEST" in result.stdout
    [stored] = cli.posts()
    assert str(stored["id"]) in result.stdout


def test_json_output_parses_with_a_long_caption(cli, make_post):
    caption = " ".join(["word"] * 440)[:2200]
    result = cli("schedule", "--json", cli.write("long.json", make_post(caption=caption)))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["caption"] == caption


def test_output_never_contains_the_token(cli, make_post):
    token = make_post()["access_token"]
    for args in (["--json"], []):
        result = cli("schedule", *args, cli.write("p.json", make_post(caption=str(args))))
        assert result.exit_code == 0
        assert token not in result.output


def test_same_client_key_twice_is_reported_not_stored(cli, make_post):
    path = cli.write("p.json", make_post(client_key="launch"))
    assert cli("schedule", path).exit_code == 0
    again = cli("schedule", "--json", "--verbose", path)
    assert again.exit_code == 0
    assert json.loads(again.stdout) == []
    [stored] = cli.posts()
    assert f"post {stored['id']}" in again.stderr and "launch" in again.stderr
    assert len(cli.posts()) == 1


def test_a_near_duplicate_is_stored_with_a_warning(cli, make_post):
    assert cli("schedule", cli.write("a.json", make_post())).exit_code == 0
    twin = make_post(publish_at="2035-06-01T09:30:00+00:00")
    result = cli("schedule", cli.write("b.json", twin))
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "same media and caption" in result.stderr
    assert len(cli.posts()) == 2


def test_validate_checks_without_storing(cli, make_post):
    result = cli("validate", cli.write("posts.json", three(make_post)))
    assert result.exit_code == 0, result.output
    assert "3 post(s) valid" in result.stdout
    assert cli.posts() == []


def test_validate_lists_every_problem(cli, make_post):
    posts = [make_post(), make_post(caption="#x " * 31), make_post(media_type="gif")]
    path = cli.write("posts.json", posts)
    result = cli("validate", path)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"invalid: {path}[1]: caption:")
    assert lines[1].startswith(f"invalid: {path}[2]: media_type:")
    assert cli.posts() == []


def test_every_example_validates(cli):
    files = sorted(str(p) for p in EXAMPLES.glob("*.json*"))
    assert files, "examples/ has no JSON files"
    result = cli("validate", *files)
    assert result.exit_code == 0, result.output
    assert "post(s) valid" in result.stdout
