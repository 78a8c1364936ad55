"""A month of a recurring post in two seconds: the engine on simulated time.

A `FakeClock` drives both the engine and the sandbox; `Simulation` runs every due step and
jumps the clock to the next due time. Here a post recurs every Monday at 09:00 in Paris,
across the end of daylight saving time, and each occurrence lands at 09:00 local time.

Run: python examples/simulate_a_month.py
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import igautopost
from igautopost.sandbox import SandboxServer


def main() -> None:
    clock = igautopost.FakeClock(datetime(2030, 10, 1, tzinfo=UTC))
    settings = igautopost.Settings(data_dir=tempfile.mkdtemp(prefix="igautopost-example-"))
    store = igautopost.open_store(settings)
    with SandboxServer(clock=clock) as sandbox:
        client = igautopost.GraphClient(base_url=sandbox.url)
        publisher = igautopost.Publisher(store, client, clock)
        igautopost.schedule(
            store,
            [
                {
                    "account": sandbox.state.config.default_account_id,
                    "access_token": "demo",
                    "media_type": "image",
                    "media_url": "https://example.com/menu.jpg",
                    "caption": "This week's menu #weekly",
                    "timezone": "Europe/Paris",
                    "publish_at": "2030-10-07 09:00",
                    "recurrence": "0 9 * * MON",
                }
            ],
            now=clock.now(),
        )
        steps = igautopost.Simulation(publisher, clock).run_for(timedelta(days=31))
        client.close()

    paris = ZoneInfo("Europe/Paris")
    published = store.list(igautopost.PostQuery(statuses=frozenset({igautopost.Status.PUBLISHED})))
    print(f"{steps} steps, {len(published)} posts published:")
    for post in published:
        assert post.published_at is not None
        print(f"  {post.published_at.astimezone(paris):%a %Y-%m-%d %H:%M %Z}  {post.permalink}")
    store.close()


if __name__ == "__main__":
    main()
