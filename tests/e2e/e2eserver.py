"""What the dashboard's end-to-end tests run against: a real `igautopost serve --sandbox` in a
subprocess, its users made with the CLI, and Debian's Chromium driven by Playwright.

The browser is found through ``IGAUTOPOST_CHROMIUM`` or at ``/usr/bin/chromium`` (Debian's
``chromium`` package: `.ci/run` installs it). Playwright's own browser downloads are never
used: this project's machines reach only the package registries.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

VENV_BIN = Path(sys.executable).parent
BROWSER_VARIABLE = "IGAUTOPOST_CHROMIUM"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
# /work/.library/env/machines/python-svc.md, "Known to work". Without the background-networking
# flags Chromium keeps trying hosts this closed network refuses. Playwright adds --headless and
# gives every launch a fresh, empty --user-data-dir of its own (it refuses one in `args`).
CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root in CI, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
SANDBOX_ACCOUNT = {"alice": "17841400000000001", "bob": "17841400000000002"}
STARTUP_SECONDS = 30
VIEWER_ZONE = "Europe/Paris"  # the browser's zone, not the server's UTC: times must follow it


def chromium_path() -> str | None:
    """The Chromium to drive, or None when this machine has none."""
    named = os.environ.get(BROWSER_VARIABLE)
    if named:
        return named if Path(named).is_file() else None
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).is_file() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Operator:
    """A user of the server: the name and password to log in with, an API token to check
    what the page did through /api/v1, and the Instagram account connected for them."""

    name: str
    api_key: str
    account: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}"}


@dataclass
class DashboardServer:
    """`igautopost serve --sandbox` on a free port with a data directory of its own."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    sandbox_url: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "serve.log"

    @property
    def env(self) -> dict[str, str]:
        """Nothing of the caller's IGAUTOPOST_* settings; the sandbox's own database named
        explicitly, so that the CLI calls below open the one `serve --sandbox` chose."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
        env.update(
            IGAUTOPOST_DATA_DIR=str(self.data_dir),
            IGAUTOPOST_DATABASE_URL=f"sqlite:///{self.data_dir / 'sandbox.db'}",
            IGAUTOPOST_MEDIA_CHECK="false",  # the posts name example.com: never fetched
            NO_COLOR="1",
            COLUMNS="200",  # Rich wraps at 80 columns when not on a terminal
        )
        return env

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(VENV_BIN / "igautopost"),
            *("serve", "--sandbox", "--workers", "1", "--port", str(self.port)),
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=subprocess.DEVNULL, stderr=log, text=True
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._healthy():
            if self.process.poll() is not None:
                raise AssertionError(f"serve --sandbox exited:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer in {STARTUP_SECONDS} s:\n{self.logs}")
            time.sleep(0.1)
        found = re.search(r"sandbox Graph API at (http://\S+?);", self.logs)
        assert found, f"serve --sandbox did not say where its sandbox is:\n{self.logs}"
        self.sandbox_url = found.group(1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200
        except requests.RequestException:  # refused, or queued while its process starts
            return False

    # -- the CLI and the API, as an operator would use them ---------------------------------

    def cli(self, *args: str, input: str | None = None, status: int = 0) -> str:
        """`igautopost ARGS` on this server's database; its standard output (or error, for
        an expected failure)."""
        done = subprocess.run(
            [str(VENV_BIN / "igautopost"), *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == status, f"igautopost {' '.join(args)}: {done.stderr}"
        return done.stdout if status == 0 else done.stderr

    def cli_problem(self, post: dict[str, Any]) -> str:
        """What `igautopost validate` says of `post` (one problem expected)."""
        path = self.data_dir / "post.json"
        path.write_text(json.dumps(post), encoding="utf-8")
        said = self.cli("validate", str(path), status=1)
        found = re.search(r"post\.json:1: (.+)", said)
        assert found, said
        return found.group(1).strip()

    def create_operator(self, name: str) -> Operator:
        """A user made with `igautopost user create`, their API token (api-token-auth, as a
        client gets one), and a sandbox Instagram account of theirs."""
        self.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
        answer = requests.post(
            f"{self.url}/api/v1/api-token-auth/",
            data={"username": name, "password": PASSWORD},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        operator = Operator(name, answer.json()["token"], SANDBOX_ACCOUNT[name])
        self.connect(operator, operator.account)
        return operator

    def connect(self, operator: Operator, account: str, username: str | None = None) -> None:
        """Store `account`'s token for `operator` (POST /api/v1/accounts/); the sandbox
        takes any token."""
        body = {"ig_user_id": account, "access_token": f"sandbox-token-{account}"}
        if username:
            body["username"] = username
        found = requests.post(
            f"{self.url}/api/v1/accounts/", headers=operator.headers, json=body, timeout=10
        )
        assert found.status_code in (200, 201), found.text

    def revoke(self, account: str) -> None:
        """The sandbox stops taking `account`'s token, as Instagram does after a password
        change: its next publish finds the account needs reconnecting."""
        answer = requests.post(
            f"{self.sandbox_url}/_sandbox/tokens/revoke",
            json={"token": f"sandbox-token-{account}", "reason": "password_changed"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def api(
        self, method: str, path: str, operator: Operator, *, expect: int = 200, **kwargs: Any
    ) -> Any:
        answer = requests.request(
            method, f"{self.url}/api/v1{path}", headers=operator.headers, timeout=10, **kwargs
        )
        assert answer.status_code == expect, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def schedule(
        self,
        operator: Operator,
        publish_at: datetime,
        *,
        caption: str,
        url: str = "",
        account: str = "",
    ) -> dict[str, Any]:
        """A photo post made through the API (the posts the page is to act on)."""
        body = {
            "user_id": account or operator.account,
            "url": url or "https://example.com/e2e/photo.jpg",
            "content_type": "Photo",
            "caption": caption,
            "date_pub": int(publish_at.timestamp()),
        }
        post: dict[str, Any] = self.api("POST", "/posts/", operator, json=body, expect=201)
        return post

    def upload(
        self, operator: Operator, publish_at: datetime, *, caption: str, picture: bytes
    ) -> dict[str, Any]:
        """A photo post whose JPEG travels in the request (multipart, docs/api.md), so the
        calendar has a real thumbnail to show."""
        fields = {
            "user_id": operator.account,
            "content_type": "Photo",
            "caption": caption,
            "date_pub": str(int(publish_at.timestamp())),
        }
        files = {"media_url": ("photo.jpg", picture, "image/jpeg")}
        post: dict[str, Any] = self.api(
            "POST", "/posts/", operator, data=fields, files=files, expect=201
        )
        return post

    def post(self, operator: Operator, post_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.api("GET", f"/posts/{post_id}/", operator)
        return found

    def wait_for_status(
        self, operator: Operator, post_id: int, wanted: str, timeout: float = 20
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            post = self.post(operator, post_id)
            if post["status"] == wanted or time.monotonic() > deadline:
                assert post["status"] == wanted, json.dumps(post)
                return post
            time.sleep(0.2)

    def fail_media_urls(self, *patterns: str) -> None:
        """Media URLs matching one of `patterns` end in ERROR in the sandbox (docs/sandbox.md,
        failing_url_patterns); none given: every URL works again."""
        answer = requests.patch(
            f"{self.sandbox_url}/_sandbox/config",
            json={"failing_url_patterns": list(patterns)},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text


def require_browser() -> None:
    """Skip the calling test when this machine cannot run a browser, saying why; under
    ``CI=true`` fail it instead, so that CI cannot pass by running none of them."""
    import pytest

    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the dashboard's browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        where = os.environ.get(BROWSER_VARIABLE) or DEBIAN_CHROMIUM
        return (
            f"no Chromium at {where}: apt-get install chromium (Debian), or set "
            f"{BROWSER_VARIABLE} to a Chromium or Chrome executable"
        )
    return None


def picture(hue: int, size: int = 640) -> bytes:
    """A square JPEG: a sky of `hue` (0-255) darkening downwards, and a pale sun."""
    from io import BytesIO

    from PIL import Image, ImageDraw, ImageOps

    def colour(saturation: int, value: int) -> tuple[int, int, int]:
        pixel = Image.new("HSV", (1, 1), (hue, saturation, value)).convert("RGB").getpixel((0, 0))
        assert isinstance(pixel, tuple)
        return int(pixel[0]), int(pixel[1]), int(pixel[2])

    sky = ImageOps.colorize(
        Image.linear_gradient("L").resize((size, size)),
        black=colour(110, 250),
        white=colour(200, 90),
    )
    sun = (size * 0.55, size * 0.2, size * 0.8, size * 0.45)
    ImageDraw.Draw(sky).ellipse(sun, fill=(255, 244, 214))
    out = BytesIO()
    sky.save(out, "JPEG", quality=70)
    return out.getvalue()


def copy_screenshots(source: Path, target: Path) -> list[Path]:
    """The screenshots taken in `source` copied over docs/images' (see conftest)."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for shot in sorted(source.glob("dashboard-*.png")):
        shutil.copyfile(shot, target / shot.name)
        copied.append(target / shot.name)
    return copied
