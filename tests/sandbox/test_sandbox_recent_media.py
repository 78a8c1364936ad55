"""`GET /{ig-user-id}/media`: the account's feed posts and reels, newest first, as Meta lists
them (carousel items and stories left out), with the fields asked for."""

from __future__ import annotations

from sandboxtest import ACCOUNT, IMAGE, VIDEO, Graph, error_of


def published(graph: Graph, container_id: str) -> str:
    graph.advance(60)  # processed
    response = graph.publish(container_id)
    assert response.status_code == 200, response.json()
    media_id: str = response.json()["id"]
    return media_id


def test_recent_media_are_listed_newest_first_without_items_and_stories(graph: Graph) -> None:
    first = published(graph, graph.image(caption="first"))
    items = ",".join(graph.image(is_carousel_item="true") for _ in range(2))
    album = published(graph, graph.create_id(media_type="CAROUSEL", children=items, caption="a"))
    published(graph, graph.create_id(media_type="STORIES", image_url=IMAGE))
    reel = published(graph, graph.create_id(media_type="REELS", video_url=VIDEO, caption="r"))

    listed = graph.get(f"/{ACCOUNT}/media", fields="id,caption,media_type,timestamp").json()

    assert [m["id"] for m in listed["data"]] == [reel, album, first]
    assert [m["media_type"] for m in listed["data"]] == ["VIDEO", "CAROUSEL_ALBUM", "IMAGE"]
    assert listed["data"][2]["caption"] == "first"
    assert listed["data"][0]["timestamp"].endswith("+0000")


def test_recent_media_honour_the_limit_and_answer_only_ids_without_fields(graph: Graph) -> None:
    ids = [published(graph, graph.image(caption=f"post {i}")) for i in range(3)]

    listed = graph.get(f"/{ACCOUNT}/media", limit="2").json()

    assert listed == {"data": [{"id": ids[2]}, {"id": ids[1]}]}
    assert error_of(graph.get(f"/{ACCOUNT}/media", limit="0"))[0] == 100
    assert error_of(graph.get(f"/{ACCOUNT}/media", limit="٣"))[0] == 100


def test_recent_media_of_another_account_are_not_listed(graph: Graph) -> None:
    published(graph, graph.image(caption="mine"))

    listed = graph.get("/17841400000000002/media", fields="id,caption")

    assert listed.json() == {"data": []}
