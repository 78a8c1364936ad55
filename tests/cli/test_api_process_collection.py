"""An API process moves what it loaded out of Python's full collections (issue 14): walking
the app's 136,000 objects took 86 ms, and inside a write it held up both API processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BUILD_APP = """
import gc, sys
from pathlib import Path
from cli.server import api_process_app
from igautopost import Settings
api_process_app(Settings(data_dir=Path(sys.argv[1])), max_body=1_000_000, access_log=False)
print(gc.get_freeze_count())
"""


def test_an_api_process_freezes_the_app_it_built(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", BUILD_APP, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert int(run.stdout) > 50_000  # FastAPI, pydantic and SQLAlchemy are out of the walk
