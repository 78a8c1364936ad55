"""Media URLs: fetched as Instagram would (HEAD, then the first bytes), public addresses only,
and a failure to learn reported as "could not check", never as invalid."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from makers import MediaServer

from igautopost.errors import Problem
from igautopost.media.fetch import is_public, resolve_host
from igautopost.media.preflight import MediaChecker, MediaCheckPolicy, MediaReport, check_media
from posts import carousel, post

LOCAL = MediaCheckPolicy(allow_private_urls=True, timeout=10.0)


def check(*specs: object, policy: MediaCheckPolicy = LOCAL) -> MediaReport:
    return check_media(specs, policy=policy)  # type: ignore[arg-type]


def messages(found: list[Problem]) -> list[str]:
    return [p.message for p in found]


def test_good_media_at_urls_passes(library_server: MediaServer) -> None:
    url = library_server.url
    report = check(
        post("image", url("feed.jpg")),
        post("reel", url("reel.mp4"), cover_url=url("story.jpg")),
        post("story", url("clip.mov")),
        carousel(url("square.jpg"), url("reel.mp4")),
    )
    assert (report.problems, report.unchecked, report.sources) == ([], [], 5)
    # each URL: one HEAD and one GET of its first 64 KB, not the whole file
    assert library_server.count("reel.mp4", "HEAD") == library_server.count("reel.mp4") == 1
    assert library_server.bytes_sent <= 5 * 64 * 1024


def test_the_rules_are_judged_from_a_urls_first_bytes(library_server: MediaServer) -> None:
    url = library_server.url
    report = check(
        post("image", url("pano.jpg")),
        post("reel", url("short.mp4")),
        post("reel", url("late_moov.mp4")),
        post("reel", url("reel.mp4"), cover_url=url("photo.png")),
        post("image", url("big.jpg")),
    )
    assert [(p.index, p.field, p.message.split(":")[0]) for p in report.problems] == [
        (0, "media_url", "aspect ratio 3.00"),
        (1, "media_url", "reel is 2.0 s long"),
        (2, "media_url", "has its index (the moov atom) after the media data"),
        (3, "cover_url", "is a PNG"),
        (4, "media_url", "is 9.0 MB"),
    ]
    assert library_server.bytes_sent < 6 * 64 * 1024  # 9 MB of big.jpg were not downloaded


def test_private_and_loopback_addresses_are_refused_unless_allowed(
    library_server: MediaServer,
) -> None:
    report = check(post("image", library_server.url("feed.jpg")), policy=MediaCheckPolicy())
    assert messages(report.problems) == [
        "host '127.0.0.1' is at a private, loopback or reserved address (127.0.0.1), "
        "which Instagram cannot reach"
    ]
    assert library_server.total_requests() == 0  # refused before any request


def test_localhost_is_a_loopback_address_and_served_when_private_ones_are_allowed(
    library_server: MediaServer,
) -> None:
    url = library_server.url("feed.jpg").replace("127.0.0.1", "localhost")
    refused = check(post("image", url), policy=MediaCheckPolicy())
    assert [m.split(" (")[0] for m in messages(refused.problems)] == [
        "host 'localhost' is at a private, loopback or reserved address"
    ]
    allowed = check(post("image", url))  # this module's policy allows private addresses
    assert allowed.problems == [] and allowed.unchecked == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata address
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_a_reserved_name_is_a_problem_and_no_lookup_is_made() -> None:
    report = check(post("image", "https://nonexistent.invalid/a.jpg"))
    assert messages(report.problems) == [
        "host 'nonexistent.invalid' cannot exist (a reserved name)"
    ]


def test_a_name_not_found_could_not_be_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", not_found)
    report = check(post("image", "https://cdn.photos-nowhere.org/a.jpg"))
    assert report.problems == []
    assert messages(report.unchecked) == [
        "host 'cdn.photos-nowhere.org' could not be looked up (Name or service not known)"
    ]
    with pytest.raises(Exception, match="could not be looked up"):
        resolve_host("cdn.photos-nowhere.org", 443)


@pytest.mark.parametrize(
    "url",
    ["https://example.com/a.jpg", "https://cdn.example.org/a.jpg", "http://EXAMPLE.NET./x.mp4"],
)
def test_a_documentation_domain_could_not_be_checked_and_is_never_asked(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples' domains (RFC 2606) read the same with DNS and without: on a machine
    with DNS, example.com answers a placeholder page that would refuse every example."""

    def asked(*args: object, **kwargs: object) -> None:
        raise AssertionError("looked up a documentation domain")

    monkeypatch.setattr(socket, "getaddrinfo", asked)
    report = check(post("image", url))
    assert report.problems == []
    assert [m.split(":")[0] for m in messages(report.unchecked)] == [
        f"host {urlsplit(url).hostname!r} is a documentation domain (RFC 2606)"
    ]


def test_an_unreachable_server_could_not_be_checked() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    report = check(post("image", f"http://127.0.0.1:{port}/a.jpg"))
    assert report.problems == []
    assert messages(report.unchecked) == ["could not connect (connection refused or no route)"]


def test_a_slow_server_could_not_be_checked_within_the_timeout(
    library_server: MediaServer,
) -> None:
    library_server.behave("feed.jpg", delay=1.0)
    quick = MediaCheckPolicy(allow_private_urls=True, timeout=0.2)
    report = check(post("image", library_server.url("feed.jpg")), policy=quick)
    assert report.problems == []
    assert messages(report.unchecked) == ["did not answer within 0.2 s"]


def test_404_is_a_problem_500_could_not_be_checked(library_server: MediaServer) -> None:
    library_server.behave("feed.jpg", status=500)
    report = check(
        post("image", library_server.url("gone.jpg")), post("image", library_server.url("feed.jpg"))
    )
    assert report.problems == [
        Problem("media_url", "answered 404 Not Found: Instagram could not fetch it", 0)
    ]
    assert report.unchecked == [Problem("media_url", "answered 500 Internal Server Error", 1)]


def test_a_page_served_instead_of_media_is_a_problem(library_server: MediaServer) -> None:
    library_server.behave("feed.jpg", content_type="text/html; charset=utf-8")
    report = check(post("image", library_server.url("feed.jpg")))
    assert messages(report.problems) == ["is served as text/html, not as an image or a video"]


@pytest.mark.parametrize("ranges", [True, False])
def test_too_big_by_the_size_the_server_gives(library_server: MediaServer, ranges: bool) -> None:
    library_server.behave("big.jpg", ranges=ranges)
    report = check(post("image", library_server.url("big.jpg")))
    assert messages(report.problems) == ["is 9.0 MB: feed images must be at most 8 MB"]
    assert library_server.bytes_sent < 2 * 1024 * 1024  # the rest of the file was left


def test_a_server_without_head_is_read_with_get(library_server: MediaServer) -> None:
    library_server.behave("feed.jpg", head=False)
    report = check(post("image", library_server.url("feed.jpg")))
    assert (report.problems, report.unchecked) == ([], [])


def test_redirects_are_followed_and_each_host_checked(library_server: MediaServer) -> None:
    library_server.behave("old.jpg", redirect_to="/feed.jpg")
    library_server.behave("away.jpg", redirect_to="https://nowhere.invalid/feed.jpg")
    library_server.behave("loop.jpg", redirect_to="/loop.jpg")
    report = check(
        post("image", library_server.url("old.jpg")),
        post("image", library_server.url("away.jpg")),
        post("image", library_server.url("loop.jpg")),
    )
    assert [(p.index, p.message) for p in report.problems] == [
        (1, "host 'nowhere.invalid' cannot exist (a reserved name)"),
        (2, "redirects more than 5 times"),
    ]


def test_the_same_url_is_fetched_once_per_batch(library_server: MediaServer) -> None:
    url = library_server.url("feed.jpg")
    report = check(*[post("image", url) for _ in range(20)], carousel(url, url))
    assert (report.problems, report.sources) == ([], 1)
    assert library_server.count("feed.jpg", "HEAD") == 1


def test_a_checker_remembers_a_url_for_a_while_on_its_clock(library_server: MediaServer) -> None:
    from datetime import timedelta

    from igautopost.clock import FakeClock

    clock = FakeClock()
    url, gone = library_server.url("feed.jpg"), library_server.url("gone.jpg")
    with MediaChecker(LOCAL, clock=clock) as checker:
        for _ in range(3):
            assert checker.check_post(post("image", url)).ok
            assert not checker.check_post(post("image", gone)).ok
        assert (
            library_server.count("feed.jpg", "HEAD")
            == library_server.count("gone.jpg", "HEAD")
            == 1
        )
        clock.advance(timedelta(seconds=LOCAL.cache_seconds))
        assert checker.check_post(post("image", url)).ok
        assert library_server.count("feed.jpg", "HEAD") == 2


def test_a_failure_to_learn_is_not_remembered(library_server: MediaServer) -> None:
    url = library_server.url("feed.jpg")
    library_server.behave("feed.jpg", status=503)
    with MediaChecker(LOCAL) as checker:
        assert checker.check_post(post("image", url)).unchecked
        library_server.behaviours.clear()
        report = checker.check_post(post("image", url))
    assert (report.problems, report.unchecked) == ([], [])


def test_a_local_path_and_a_url_in_one_batch(library_server: MediaServer, library: Path) -> None:
    report = check_media(
        [post("image", "feed.jpg"), post("image", library_server.url("photo.png"))],
        base_dir=library,
        policy=LOCAL,
    )
    assert [(p.index, p.field) for p in report.problems] == [(1, "media_url")]
