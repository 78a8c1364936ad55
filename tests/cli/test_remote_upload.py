"""`igautopost schedule --server URL post.json` with ``"media_path"`` against a real
`igautopost serve --sandbox` process (issue 16): the file goes up as multipart in
``media_url``, the server checks it, stores its copy and publishes it through the sandbox,
which fetches the image from the server's own /media route."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from test_serve_processes import SCRIPT, free_port, healthy

sys.path.append(str(Path(__file__).parents[1] / "media"))  # tests/media/makers.py
from makers import make_image

pytest.importorskip("fastapi")


def test_schedule_server_uploads_a_local_file_that_serve_stores_and_publishes(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path / "server"), NO_COLOR="1")
    command = [str(SCRIPT), "serve", "--sandbox", "--port", str(port)]
    with (tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        assert process.stdout is not None
        found = re.search(r"Authorization: Token ([0-9a-f]{40})", process.stdout.readline())
        assert found, (tmp_path / "serve.log").read_text()
        deadline = time.monotonic() + 30
        while not healthy(url):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.1)

        folder = tmp_path / "posts"
        make_image(folder / "sunrise.jpg", 1080, 1350)
        publish_at = datetime.now(UTC) + timedelta(seconds=3)
        post = {
            "account": "17841400000000001",
            "access_token": "sandbox-demo-token",
            "media_type": "image",
            "media_path": "sunrise.jpg",
            "caption": "from a local file, through the server",
            "publish_at": publish_at.isoformat(),
        }
        (folder / "post.json").write_text(json.dumps(post))
        client_env = {
            **env,
            "IGAUTOPOST_DATA_DIR": str(tmp_path / "client"),
            "IGAUTOPOST_API_TOKEN": found.group(1),
        }
        scheduled = subprocess.run(
            [str(SCRIPT), "schedule", "--server", url, str(folder / "post.json"), "--json"],
            env=client_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert scheduled.returncode == 0, scheduled.stderr
        [created] = json.loads(scheduled.stdout)

        headers = {"Authorization": f"Token {found.group(1)}"}
        deadline = time.monotonic() + 30
        while True:
            body = requests.get(f"{url}/api/v1/posts/{created['id']}/", headers=headers).json()
            if body["status"] not in ("scheduled", "processing", "ready"):
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.2)
        assert body["status"] == "published", body
        assert body["media_path"] == "sunrise.jpg" and body["url"] == ""
        copies = list((tmp_path / "server" / "media").glob("*.jpg"))
        assert len(copies) == 1 and copies[0].read_bytes() == (folder / "sunrise.jpg").read_bytes()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
        if process.stdout:
            process.stdout.close()
