"""A client of the /api/v1 HTTP API: log in, schedule a photo 20 seconds ahead, follow it.

The post turns `published` on its second, with its media id; its permalink is read from
Instagram by a follow-up step a few seconds later, so the script waits for that too.

Start a server first (`igautopost serve --sandbox` prints a demo token), then:

    IGAUTOPOST_API_TOKEN=<token> python examples/api_client.py
    python examples/api_client.py --username alice --password '...'
"""

from __future__ import annotations

import argparse
import os
import time

import requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--in", dest="delay", type=int, default=20, help="seconds from now")
    options = parser.parse_args()
    api = f"{options.server}/api/v1"
    session = requests.Session()
    key = os.environ.get("IGAUTOPOST_API_TOKEN")
    if options.username:
        answer = session.post(
            f"{api}/api-token-auth/",
            timeout=10,
            data={"username": options.username, "password": options.password},
        )
        answer.raise_for_status()
        key = answer.json()["token"]
    if not key:
        raise SystemExit("give --username/--password or set IGAUTOPOST_API_TOKEN")
    session.headers["Authorization"] = f"Token {key}"

    post = session.post(
        f"{api}/posts/",
        timeout=10,
        json={
            "user_id": "17841400000000001",
            "token": "sandbox-demo-token",
            "url": "https://example.com/demo/photo.jpg",
            "content_type": "Photo",
            "caption": "Scheduled through the HTTP API",
            "date_pub": int(time.time()) + options.delay,
        },
    )
    if post.status_code == 400:
        raise SystemExit(f"invalid: {post.json()}")
    post.raise_for_status()
    post_id = post.json()["id"]
    print(f"post {post_id} scheduled for {post.json()['publish_at']}")
    state, seen = {}, None
    deadline = time.monotonic() + options.delay + 60
    while time.monotonic() < deadline:
        state = session.get(f"{api}/posts/{post_id}/", timeout=10).json()
        if state["status"] != seen:
            seen = state["status"]
            print(f"  {seen}")
        if state["status"] == "failed" or state.get("permalink"):
            break
        time.sleep(1)
    if state.get("status") == "failed":
        raise SystemExit(f"failed: {state['error']}")
    print(state.get("permalink") or "published; no permalink yet (Instagram may be slow)")


if __name__ == "__main__":
    main()
