"""A big batch: each distinct URL read once, never more than `concurrency` at a time."""

from __future__ import annotations

from makers import Behaviour, MediaServer

from igautopost.media.preflight import MediaCheckPolicy, check_media
from posts import carousel, post


def test_a_thousand_posts_on_forty_urls_make_forty_fetches_four_at_a_time(
    library_server: MediaServer,
) -> None:
    library_server.default = Behaviour(delay=0.01)  # long enough for the fetches to overlap
    urls = [library_server.url(f"feed.jpg?copy={n}") for n in range(40)]
    specs = [post("image", urls[n % 40]) for n in range(990)]
    specs += [carousel(urls[n], urls[n + 1], library_server.url("photo.png")) for n in range(10)]
    policy = MediaCheckPolicy(allow_private_urls=True, concurrency=4)

    report = check_media(specs, policy=policy)

    assert report.sources == 41
    assert library_server.count("feed.jpg", "HEAD") == 40
    assert library_server.count("photo.png", "HEAD") == 1
    assert 1 < library_server.max_in_flight <= 4
    # the PNG is reported for each carousel that has it, with the post's position
    assert [(p.index, p.field) for p in report.problems] == [
        (990 + n, "children[2].media_url") for n in range(10)
    ]
    assert report.unchecked == []
