"""`/_sandbox/*`: the call log, stats, publishes and duplicates, never a token."""

from __future__ import annotations

from collections.abc import Callable

from sandboxtest import ACCOUNT, IMAGE, TOKEN, Graph

from igautopost.sandbox.tokens import token_hash


def test_every_call_is_logged_with_times_and_outcome(graph: Graph) -> None:
    container = graph.image()
    graph.advance(60)
    graph.publish(container)
    calls = graph.client.get("/_sandbox/calls").json()["calls"]
    assert [c["endpoint"] for c in calls] == ["create_container", "publish"]
    first, second = calls
    assert first["sandbox_time"] == "2030-01-01T00:00:00+00:00"
    assert second["sandbox_time"] == "2030-01-01T00:01:00+00:00"
    assert first["wall_time"] and first["status"] == 200 and first["account_id"] == ACCOUNT
    assert first["socket_time"] is first["tcp_time"] is None  # a TestClient: no socket
    assert second["object_id"] == container and first["seq"] < second["seq"]


def test_errors_are_logged_with_code_and_subcode(graph: Graph) -> None:
    graph.publish("17890000000099999")
    call = graph.client.get("/_sandbox/calls", params={"status": "400"}).json()["calls"][0]
    assert (call["error_code"], call["error_subcode"]) == (24, 2207006)


def test_tokens_never_appear_only_their_hash(graph: Graph) -> None:
    graph.client.post(f"/v25.0/{ACCOUNT}/media", params={"image_url": IMAGE, "access_token": TOKEN})
    graph.image()
    everything = "".join(
        graph.client.get(f"/_sandbox/{page}").text
        for page in ("calls", "stats", "publishes", "objects", "config", "tokens")
    )
    assert TOKEN not in everything
    calls = graph.client.get("/_sandbox/calls").json()["calls"]
    assert calls[0]["token_in_url"] is True and calls[1]["token_in_url"] is False
    assert calls[0]["path"].endswith("access_token=[REDACTED]")
    assert {c["token_hash"] for c in calls} == {token_hash(TOKEN)}
    assert graph.client.get("/_sandbox/stats").json()["tokens_in_url"] == 1


def test_configured_tokens_are_hashed_in_the_config_view(
    make_graph: Callable[..., Graph],
) -> None:
    graph = make_graph(tokens={"secret-token": ACCOUNT})
    config = graph.client.get("/_sandbox/config").json()
    assert config["tokens"] == {token_hash("secret-token"): ACCOUNT}


def test_publishes_per_container_and_caption_with_duplicates(graph: Graph) -> None:
    first = graph.image(caption="Same words")
    graph.publish(first)
    graph.publish(first)  # refused, but a client bug worth seeing
    graph.publish(graph.image(caption="Same words"))  # a second live post: a duplicate
    graph.publish(graph.image(caption="Other"))
    report = graph.client.get("/_sandbox/publishes").json()
    assert len(report["publishes"]) == 3
    assert len(report["by_container"]) == 3
    kinds = sorted((d["kind"], len(d["media_ids"])) for d in report["duplicates"])
    assert kinds == [("caption", 2), ("container", 1)]
    container_dup = next(d for d in report["duplicates"] if d["kind"] == "container")
    assert container_dup == {
        "kind": "container",
        "container_id": first,
        "media_ids": [graph.state.containers[first].published_media_id],
        "rejected_attempts": 1,
    }


def test_stats_count_per_endpoint_and_status(graph: Graph) -> None:
    container = graph.image()
    graph.publish(container)
    graph.publish(container)
    stats = graph.client.get("/_sandbox/stats").json()
    assert stats["calls"] == 3 and stats["publishes"] == 1 and stats["duplicates"] == 1
    assert stats["per_endpoint"]["publish"] == {"200": 1, "400": 1}


def test_calls_filter_and_limit(graph: Graph) -> None:
    for _ in range(3):
        graph.image()
    calls = graph.client.get("/_sandbox/calls", params={"limit": 2}).json()["calls"]
    assert [c["seq"] for c in calls] == [2, 3]


def test_call_log_is_bounded(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(max_logged_calls=2)
    for _ in range(4):
        graph.image()
    assert len(graph.client.get("/_sandbox/calls").json()["calls"]) == 2
    assert graph.client.get("/_sandbox/stats").json()["calls"] == 4


def test_objects_view(graph: Graph) -> None:
    container = graph.image()
    graph.publish(container)
    objects = graph.client.get("/_sandbox/objects").json()
    assert objects["containers"][0]["status_code"] == "PUBLISHED"
    assert objects["media"][0]["container_id"] == container


def test_reset_forgets_everything_and_can_change_config(graph: Graph) -> None:
    graph.publish(graph.image())
    graph.client.post("/_sandbox/reset", json={"publishing_quota": 7})
    assert graph.client.get("/_sandbox/stats").json()["calls"] == 0
    assert not graph.state.containers and not graph.state.media
    assert graph.client.get("/_sandbox/config").json()["publishing_quota"] == 7


def test_clock_view_and_advance_moves_sandbox_time(graph: Graph) -> None:
    container = graph.image()
    assert graph.client.get("/_sandbox/clock").json() == {"now": "2030-01-01T00:00:00+00:00"}
    answer = graph.client.post("/_sandbox/clock/advance", json={"seconds": 86400}).json()
    assert answer == {"now": "2030-01-02T00:00:00+00:00"}
    assert graph.status(container) == "EXPIRED"
