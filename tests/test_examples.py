"""Every example in examples/ runs: the JSON posts validate and publish against the sandbox,
and the Python scripts run to completion (they start their own sandbox)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BIN = Path(sys.executable).with_name("igautopost")
POST_FILES = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".json", ".jsonl"))
# run against a real `igautopost serve` by tests/api/test_serve_subprocess.py
NEEDS_SERVER = {"api_client.py"}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in NEEDS_SERVER)


def run(args: list[str], tmp_path: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IGAUTOPOST_DATA_DIR": str(tmp_path)}
    env.pop("IGAUTOPOST_DATABASE_URL", None)
    return subprocess.run(
        args,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=EXAMPLES.parent,
        check=False,
    )


def test_every_post_file_is_valid(tmp_path: Path) -> None:
    result = run([str(BIN), "validate", *(f"examples/{name}" for name in POST_FILES)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok: 29 post(s) valid" in result.stdout


@pytest.mark.parametrize("name", ["post.json", "reel.json", "story.json", "carousel.json"])
def test_post_file_publishes_against_the_sandbox(name: str, tmp_path: Path) -> None:
    result = run(
        [str(BIN), "publish", f"examples/{name}", "--now", "--sandbox", "--json"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert '"status": "published"' in result.stdout
    assert "https://www.instagram.com/p/" in result.stdout
    assert "EAAB-example-token" not in result.stdout + result.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs(name: str, tmp_path: Path) -> None:
    result = run([sys.executable, f"examples/{name}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "an example says what it did"
