"""Media that could not be checked: a warning per URL for the first 20, then one line for
the rest (issue 14). 169,000 posts naming a documentation domain printed 169,000 lines and
spent 40 s of CPU on them. Run as the console script, stderr apart from stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "igautopost"
REASON = "host 'cdn.example.com' is a documentation domain (RFC 2606): nothing there to check"


def posts_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "posts.jsonl"
    lines = [
        {
            "account": "17841400000000001",
            "access_token": "EAAB-test-token-Zq9xV3kLm2Pw7Rt",
            "media_type": "image",
            "media_url": f"https://cdn.example.com/p/{n}.jpg",  # never fetched: no network
            "publish_at": "2035-06-01T09:00:00Z",
            "caption": f"post {n}",
        }
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(
        IGAUTOPOST_DATA_DIR=str(tmp_path / "data"),
        IGAUTOPOST_MEDIA_CHECK="true",
        NO_COLOR="1",
        COLUMNS="300",
    )
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("command", ["validate", "schedule"])
def test_the_first_twenty_are_named_then_one_line_sums_up_the_rest(
    tmp_path: Path, command: str
) -> None:
    path = posts_file(tmp_path, 45)

    done = run(tmp_path, command, str(path))

    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("could not check:")]
    assert warnings[:20] == [
        f"could not check: {path}:{n}: media_url: {REASON}" for n in range(1, 21)
    ]
    assert warnings[20:] == [
        f"could not check: 25 more media URL(s) or file(s): {REASON} (--verbose lists each)"
    ]


def test_verbose_names_every_one(tmp_path: Path) -> None:
    path = posts_file(tmp_path, 45)

    done = run(tmp_path, "schedule", "--verbose", str(path))

    warnings = [line for line in done.stderr.splitlines() if line.startswith("could not check:")]
    assert len(warnings) == 45
    assert warnings[-1] == f"could not check: {path}:45: media_url: {REASON}"


def test_twenty_or_fewer_need_no_summing_up(tmp_path: Path) -> None:
    path = posts_file(tmp_path, 20)

    done = run(tmp_path, "validate", str(path))

    warnings = [line for line in done.stderr.splitlines() if line.startswith("could not check:")]
    assert len(warnings) == 20
    assert "more media" not in done.stderr
