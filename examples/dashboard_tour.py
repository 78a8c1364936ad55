"""Try the operator's web page (docs/dashboard.md) on the sandbox, with a week of posts.

Starts `igautopost serve --sandbox` in a temporary data directory, makes a user ``tour`` with
a random password (`igautopost user create`), connects a sandbox Instagram account for it,
and schedules posts over the coming days: photos drawn here and uploaded, one published at
once, and one whose media the sandbox refuses, so that the calendar, the queue and the
accounts have something to show. Then it reads the pages as a browser would (logging in
through the form) and says what they show.

Run: python examples/dashboard_tour.py            # the tour, then the server stops
     python examples/dashboard_tour.py --serve    # then keeps serving: open the URL it
                                                  # prints, log in as it says, Ctrl-C stops
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "media"))
from make_samples import make_sunrise  # noqa: E402  (a JPEG drawn with Pillow)

IGAUTOPOST = Path(sys.executable).with_name("igautopost")
USER = "tour"
ACCOUNT = "17841400000000001"  # the sandbox takes any id and any token
CAPTIONS = [
    "Fresh sourdough, out at 7 #bakery",
    "Harbour at dawn",
    "New seasonal menu #autumn",
    "Weekend brunch is back #brunch",
    "Latte art Thursday #coffee",
]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--serve", action="store_true", help="keep serving after the tour")
    options.add_argument("--port", type=int, default=None, help="default: 8000 with --serve")
    asked = options.parse_args()
    port = asked.port if asked.port is not None else (8000 if asked.serve else 0)

    with tempfile.TemporaryDirectory(prefix="igautopost-tour-") as folder:
        data = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
        env.update(
            IGAUTOPOST_DATA_DIR=str(data),
            IGAUTOPOST_DATABASE_URL=f"sqlite:///{data / 'sandbox.db'}",
            NO_COLOR="1",
            COLUMNS="200",
        )
        log = data / "serve.log"
        with log.open("w") as log_file:
            command = [str(IGAUTOPOST), "serve", "--sandbox", "--workers", "1", "--port", str(port)]
            server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            url, sandbox = wait_for_banner(server, log)
            password = secrets.token_urlsafe(12)
            run_cli(env, "user", "create", USER, "--password-stdin", input=password + "\n")
            fill(url, sandbox, password)
            tour(url, password)
            if asked.serve:
                print(f"\nOpen {url}/ and log in as {USER!r} with password {password!r}.")
                print("Ctrl-C stops the server (and forgets everything: a temporary directory).")
                with contextlib.suppress(KeyboardInterrupt):
                    server.wait()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def wait_for_banner(server: subprocess.Popen[bytes], log: Path) -> tuple[str, str]:
    """The server's and its sandbox's URLs, once it answers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"igautopost serve stopped:\n{log.read_text()}")
        said = log.read_text()
        api = re.search(r"igautopost API at (http://\S+?)/api/v1/", said)
        sandbox = re.search(r"sandbox Graph API at (http://\S+?);", said)
        if api and sandbox:
            try:
                requests.get(f"{api.group(1)}/api/v1/health", timeout=2).raise_for_status()
                return api.group(1), sandbox.group(1)
            except requests.RequestException:
                pass
        time.sleep(0.2)
    sys.exit(f"igautopost serve did not answer in 30 s:\n{log.read_text()}")


def run_cli(env: dict[str, str], *args: str, input: str | None = None) -> str:
    done = subprocess.run(
        [str(IGAUTOPOST), *args], env=env, input=input, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"igautopost {args[0]} {args[1]}: {done.stderr}")
    return done.stdout


def fill(url: str, sandbox: str, password: str) -> None:
    """The account and a few days of posts, through the HTTP API."""
    key = requests.post(
        f"{url}/api/v1/api-token-auth/", data={"username": USER, "password": password}, timeout=10
    ).json()["token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Token {key}"
    account = {"ig_user_id": ACCOUNT, "access_token": "sandbox", "username": "tour.cafe"}
    api.post(f"{url}/api/v1/accounts/", json=account, timeout=10).raise_for_status()
    # media URLs with "refused" in them end in ERROR (docs/sandbox.md, failing_url_patterns)
    refused = {"failing_url_patterns": ["refused"]}
    requests.patch(f"{sandbox}/_sandbox/config", json=refused, timeout=10).raise_for_status()

    photo = make_sunrise(Path(tempfile.mkdtemp()) / "sunrise.jpg", 540, 675).read_bytes()
    now = datetime.now(UTC)
    for number, caption in enumerate(CAPTIONS):
        when = now + timedelta(days=1 + number, hours=number % 3 * 4)
        fields = {"user_id": ACCOUNT, "content_type": "Photo", "caption": caption}
        fields["date_pub"] = str(int(when.timestamp()))
        upload = {"media_url": ("sunrise.jpg", photo, "image/jpeg")}
        api.post(f"{url}/api/v1/posts/", data=fields, files=upload, timeout=10).raise_for_status()
    for caption, media in (("Open now!", "photo.jpg"), ("Refused by Instagram", "refused.jpg")):
        body = {"user_id": ACCOUNT, "content_type": "Photo", "caption": caption}
        body |= {"url": f"https://example.com/{media}", "date_pub": int(now.timestamp())}
        api.post(f"{url}/api/v1/posts/", json=body, timeout=10).raise_for_status()


def tour(url: str, password: str) -> None:
    """Log in through the form, as a browser does, and say what each page shows."""
    browser = requests.Session()
    form = browser.get(f"{url}/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    if csrf is None:
        sys.exit("the login form has no CSRF token")
    login = {"username": USER, "password": password, "csrf_token": csrf.group(1)}
    browser.post(f"{url}/login", data=login, timeout=10).raise_for_status()

    deadline = time.monotonic() + 30
    while True:  # the post due now is published within seconds, its permalink 5 s later
        queue = browser.get(f"{url}/queue", headers={"Accept": "text/html"}, timeout=10).text
        statuses = re.findall(r'<tr id="post-\d+" data-status="(\w+)"', queue)
        permalinks = queue.count('class="permalink"')
        if (permalinks and "failed" in statuses) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    week = browser.get(f"{url}/calendar?view=week", timeout=10).text
    month = browser.get(f"{url}/calendar?view=month", timeout=10).text
    accounts = browser.get(f"{url}/accounts", timeout=10).text
    counted = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
    print(f"dashboard at {url}/ (user {USER!r})")
    print(f"  calendar: {week.count('data-post-id=')} post(s) this week on the page, ", end="")
    print(f"{month.count('data-post-id=')} this month")
    print(f"  queue: {counted}; {permalinks} permalink(s) shown")
    print(f"  accounts: {accounts.count('<tr id=' + chr(34) + 'account-')} connected")


if __name__ == "__main__":
    main()
