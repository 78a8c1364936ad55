"""The issue's bad-input cases: one line per problem on stderr, exit 1, the store unchanged."""

from __future__ import annotations

import json

import pytest


def bad_inputs(make_post) -> dict[str, tuple[str | bytes | object, list[str]]]:
    """name -> (file content, what each stderr line names: one line per problem)."""
    carousel = make_post(
        media_type="carousel", children=[{"media_url": f"https://e.com/{i}.jpg"} for i in range(11)]
    )
    del carousel["media_url"]
    return {
        "malformed JSON": ('{"account": "1", "caption": "oops",,}', ["line 1 column"]),
        "truncated array": ('[{"account": "1"}', ["line 1 column"]),
        "bad JSON line": (json.dumps(make_post()) + "\n{nope}\n", ["line 2"]),
        "not JSON at all": ("account=1&caption=hi", ["expected a JSON object"]),
        "empty file": ("  \n", ["is empty"]),
        "wrong types": (
            make_post(caption=["a"], share_to_feed="perhaps", thumb_offset="soon"),
            ["caption", "share_to_feed", "thumb_offset"],
        ),
        "a number instead of a post": ("[42]", ["bad.json[0]: (post)"]),
        "unknown media type": (make_post(media_type="hologram"), ["media_type"]),
        "a past time": (make_post(publish_at="2001-09-09T01:46:40Z"), ["publish_at"]),
        "a 3,000-character caption": (make_post(caption="c" * 3000), ["caption: is 3000"]),
        "31 hashtags": (
            make_post(caption=" ".join(f"#t{i}" for i in range(31))),
            ["caption: has 31 hashtags"],
        ),
        "an 11-item carousel": (carousel, ["children: a carousel needs 2 to 10 items, got 11"]),
        "a binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), ["binary"]),
        "Latin-1 text": ('{"caption": "caf\xe9"}'.encode("latin-1"), ["not UTF-8"]),
        "a lone surrogate": (
            json.dumps(make_post(caption="a\ud800b", first_comment="\udfff")),
            ["caption: is not valid Unicode", "first_comment: is not valid Unicode"],
        ),
        "a publish time of 1e20 seconds": (make_post(publish_at=1e20), ["publish_at"]),
        "a publish time in year 1": (
            make_post(publish_at="0001-01-01T00:00+01:00"),
            ["publish_at: must be between 1970 and 9999"],
        ),
        "tags nested 100,000 deep": (
            make_post(user_tags="[" * 100_000 + "]" * 100_000),
            ["user_tags: is nested too deeply"],
        ),
        "a file nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    }


CASES = [
    "malformed JSON",
    "truncated array",
    "bad JSON line",
    "not JSON at all",
    "empty file",
    "wrong types",
    "a number instead of a post",
    "unknown media type",
    "a past time",
    "a 3,000-character caption",
    "31 hashtags",
    "an 11-item carousel",
    "a binary file",
    "Latin-1 text",
    "a lone surrogate",
    "a publish time of 1e20 seconds",
    "a publish time in year 1",
    "tags nested 100,000 deep",
    "a file nested 100,000 deep",
]


@pytest.mark.parametrize("command", ["schedule", "validate"])
@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_line_by_line_and_nothing_is_stored(cli, make_post, case, command):
    assert cli("schedule", cli.write("good.json", make_post(caption="already here"))).exit_code == 0
    before = cli.posts()

    content, expected = bad_inputs(make_post)[case]
    result = cli(command, cli.write("bad.json", content))

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(expected), lines
    assert all(line.startswith(("invalid: ", "error: ")) for line in lines), lines
    for wanted in expected:
        assert sum(wanted in line for line in lines) == 1, (wanted, lines)
    assert cli.posts() == before


def test_a_bad_post_among_good_ones_stores_none(cli, make_post):
    posts = [make_post(caption=f"{i}") for i in range(20)]
    posts[13]["caption"] = "#x " * 31
    result = cli("schedule", "-", input="\n".join(json.dumps(p) for p in posts))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "invalid: <stdin>:14: caption: has 31 hashtags; the limit is 30"
    ]
    assert cli.posts() == []


def test_a_missing_file(cli, tmp_path):
    result = cli("schedule", str(tmp_path / "nowhere.json"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_bad_stdin(cli):
    result = cli("schedule", "-", input=b"\x00\x01\x02")
    assert result.exit_code == 1
    assert "-: is a binary file" in result.stderr


@pytest.mark.parametrize("text", ["[/b]", "[bold]x[/bold]", "[link=https://evil]y"])
def test_user_text_that_looks_like_markup_is_shown_as_is(cli, make_post, text):
    path = cli.write("m.json", make_post(media_type=text))
    result = cli("schedule", path)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"invalid: {path}:1: media_type:")
    assert repr(text) in line


def test_a_file_name_that_looks_like_markup(cli, tmp_path):
    folder = tmp_path / "[" / "x]"  # the path reads .../[/x]/missing.json
    folder.mkdir(parents=True)
    result = cli("schedule", str(folder / "missing.json"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {folder / 'missing.json'}: no such file"


def test_a_known_client_key_that_looks_like_markup(cli, make_post):
    path = cli.write("p.json", make_post(client_key="[/k]"))
    assert cli("schedule", path).exit_code == 0
    again = cli("schedule", "--verbose", path)
    assert again.exit_code == 0
    assert "'[/k]'" in again.stderr
