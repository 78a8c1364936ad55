"""Schedule a post from Python, list what is stored, and reschedule it.

Run: python examples/library_usage.py   (uses a throwaway SQLite database in a temp dir)
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta

import igautopost


def main() -> None:
    settings = igautopost.Settings(data_dir=tempfile.mkdtemp(prefix="igautopost-example-"))
    store = igautopost.open_store(settings)
    clock = igautopost.SystemClock()
    now = clock.now()

    result = igautopost.schedule(
        store,
        [
            {
                "account": "17841400000000001",
                "access_token": "EAAB-example-token-replace-me",
                "media_type": "image",
                "media_url": "https://example.com/media/sunrise.jpg",
                "caption": "Good morning! #sunrise",
                "publish_at": now + timedelta(days=1),
            }
        ],
        now=now,
    )
    post = result.created[0]
    print(f"scheduled post {post.id} for {post.publish_at.isoformat()} ({post.status})")

    try:
        igautopost.schedule(store, [{"account": "me", "media_type": "gif"}], now=now)
    except igautopost.InvalidPost as exc:
        print("refused, as expected:")
        for problem in exc.problems:
            print(f"  {problem}")

    moved = igautopost.reschedule(store, post.id, post.publish_at + timedelta(hours=2), now=now)
    print(f"moved to {moved.publish_at.astimezone(UTC).isoformat()}")
    for event in store.events(post.id):
        print(f"  {event.at:%H:%M:%S} {event.from_status} -> {event.to_status}: {event.detail}")
    store.close()


if __name__ == "__main__":
    assert datetime.now(UTC).year >= 2024
    main()
