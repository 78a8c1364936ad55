"""A client of the /api/v1 HTTP API: log in, schedule a photo 20 seconds ahead, follow it.

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
            "date_pub": int(time.time()) + 20,
        },
    )
    if post.status_code == 400:
        raise SystemExit(f"invalid: {post.json()}")
    post.raise_for_status()
    post_id = post.json()["id"]
    print(f"post {post_id} scheduled for {post.json()['publish_at']}")
    while True:
        state = session.get(f"{api}/posts/{post_id}/", timeout=10).json()
        print(f"  {state['status']}")
        if state["status"] in ("published", "failed"):
            break
        time.sleep(2)
    print(state["permalink"] or state["error"])


if __name__ == "__main__":
    main()
