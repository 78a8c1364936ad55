"""Container lifecycle, publishing rules and quotas, all on the fake clock."""

from __future__ import annotations

from collections.abc import Callable

from sandboxtest import ACCOUNT, IMAGE, VIDEO, Graph, error_of

DAY = 24 * 3600


def test_video_is_in_progress_until_processed(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(video_processing_seconds=30)
    reel = graph.create_id(media_type="REELS", video_url=VIDEO)
    status = graph.get(f"/{reel}", fields="status_code,status").json()
    assert status == {
        "status_code": "IN_PROGRESS",
        "status": "In Progress: Media is still being processed.",
    }
    assert error_of(graph.publish(reel)) == (9007, 2207027)
    graph.advance(30)
    assert graph.status(reel) == "FINISHED"
    assert graph.publish(reel).status_code == 200
    media_id = graph.state.containers[reel].published_media_id
    media = graph.get(f"/{media_id}", fields="media_type,media_product_type").json()
    assert media == {"media_type": "VIDEO", "media_product_type": "REELS"}


def test_image_delay_is_configurable(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(image_processing_seconds=2)
    container = graph.image()
    assert graph.status(container) == "IN_PROGRESS"
    graph.advance(2)
    assert graph.status(container) == "FINISHED"


def test_failing_media_urls_end_in_error(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(
        failing_url_patterns=(r"broken",), failure_subcode=2207026, video_processing_seconds=5
    )
    reel = graph.create_id(media_type="REELS", video_url="https://example.com/broken.mp4")
    assert graph.status(reel) == "IN_PROGRESS"
    graph.advance(5)
    status = graph.get(f"/{reel}", fields="status_code,status").json()
    assert status == {
        "status_code": "ERROR",
        "status": "Error: Media upload has failed with error code 2207026",
    }
    assert error_of(graph.publish(reel)) == (9007, 2207027)


def test_collaborator_with_leading_at_fails_processing_2207018(graph: Graph) -> None:
    container = graph.image(collaborators='["@ana"]')
    assert "2207018" in graph.get(f"/{container}", fields="status").json()["status"]


def test_containers_expire_24_hours_after_creation(graph: Graph) -> None:
    container = graph.image()
    graph.advance(DAY - 1)
    assert graph.status(container) == "FINISHED"
    graph.advance(1)
    assert graph.status(container) == "EXPIRED"
    assert error_of(graph.publish(container)) == (-2, 2207020)


def test_publishing_twice_is_refused_and_status_is_published(graph: Graph) -> None:
    container = graph.image()
    first = graph.publish(container)
    assert first.status_code == 200
    assert graph.status(container) == "PUBLISHED"
    second = graph.publish(container)
    assert second.status_code == 400 and error_of(second) == (9007, 2207027)
    assert len(graph.state.media) == 1
    graph.advance(2 * DAY)
    assert graph.status(container) == "PUBLISHED"  # a live post never expires


def test_publishing_quota_over_a_rolling_day(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(publishing_quota=2)
    graph.publish(graph.image())
    graph.advance(3600)
    graph.publish(graph.image())
    blocked = graph.publish(graph.image())
    assert blocked.status_code == 400 and error_of(blocked) == (9, 2207042)
    other_account = graph.image(account="17841400000000999")
    assert graph.publish(other_account, account="17841400000000999").status_code == 200
    graph.advance(DAY - 3600)  # the first publish leaves the window
    assert graph.publish(graph.image()).status_code == 200
    limit = graph.get(f"/{ACCOUNT}/content_publishing_limit", fields="quota_usage,config")
    assert limit.json()["data"][0] == {
        "quota_usage": 2,
        "config": {"quota_total": 2, "quota_duration": 86400},
    }


def test_a_carousel_counts_once_against_the_quota(graph: Graph) -> None:
    items = ",".join(graph.image(is_carousel_item="true") for _ in range(3))
    graph.publish(graph.create_id(media_type="CAROUSEL", children=items))
    usage = graph.get(f"/{ACCOUNT}/content_publishing_limit").json()
    assert usage == {"data": [{"quota_usage": 1}]}


def test_container_creation_cap_per_rolling_day(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(container_cap=3)
    for _ in range(3):
        graph.image()
    assert error_of(graph.create(image_url=IMAGE)) == (4, None)
    graph.advance(DAY)
    assert graph.create(image_url=IMAGE).status_code == 200


def test_default_container_cap_is_400(graph: Graph) -> None:
    assert graph.state.config.container_cap == 400
