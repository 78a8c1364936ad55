"""Tokens: open mode, per-account tokens, revocation and expiry at run time."""

from __future__ import annotations

from collections.abc import Callable

from sandboxtest import ACCOUNT, IMAGE, Graph, error_of

OTHER = "17841400000000999"


def test_any_non_empty_token_is_valid_by_default(graph: Graph) -> None:
    graph.token = "whatever"
    assert graph.create(image_url=IMAGE).status_code == 200


def test_missing_token_is_104(graph: Graph) -> None:
    response = graph.client.post(f"/v25.0/{ACCOUNT}/media", data={"image_url": IMAGE})
    assert error_of(response) == (104, None)
    assert response.json()["error"]["type"] == "OAuthException"


def test_configured_tokens_belong_to_their_account(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(tokens={"tok-a": ACCOUNT, "tok-b": OTHER})
    graph.token = "tok-a"
    assert graph.create(image_url=IMAGE).status_code == 200
    assert error_of(graph.create(OTHER, image_url=IMAGE)) == (100, 33)
    graph.token = "unknown"
    response = graph.create(image_url=IMAGE)
    assert response.status_code == 400 and error_of(response) == (190, None)
    assert response.json()["error"]["message"].startswith("Invalid OAuth access token")


def test_me_resolves_to_the_tokens_account(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(tokens={"tok-b": OTHER})
    graph.token = "tok-b"
    container = graph.create_id("me", image_url=IMAGE)
    assert graph.state.containers[container].account_id == OTHER


def test_objects_of_another_account_are_invisible(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(tokens={"tok-a": ACCOUNT, "tok-b": OTHER})
    graph.token = "tok-a"
    container = graph.image()
    graph.token = "tok-b"
    assert error_of(graph.get(f"/{container}", fields="status_code")) == (100, 33)


def test_revoked_token_pauses_only_that_account(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(tokens={"tok-a": ACCOUNT, "tok-b": OTHER})
    graph.token = "tok-a"
    container = graph.image()
    graph.state.revoke_token("tok-a", "expired")
    response = graph.publish(container)
    assert error_of(response) == (190, 463)
    assert "Session has expired" in response.json()["error"]["message"]
    graph.token = "tok-b"
    assert graph.create(OTHER, image_url=IMAGE).status_code == 200
    graph.state.add_token("tok-a", ACCOUNT)  # reconnected
    graph.token = "tok-a"
    assert graph.publish(container).status_code == 200


def test_revoke_every_token_of_an_account_through_control(
    make_graph: Callable[..., Graph],
) -> None:
    graph = make_graph(tokens={"tok-a": ACCOUNT, "tok-a2": ACCOUNT, "tok-b": OTHER})
    answer = graph.client.post(
        "/_sandbox/tokens/revoke", json={"account_id": ACCOUNT, "reason": "password_changed"}
    )
    assert answer.json() == {"revoked": 2}
    graph.token = "tok-a2"
    assert error_of(graph.create(image_url=IMAGE)) == (190, 460)


def test_revoke_in_open_mode_and_reasons(graph: Graph) -> None:
    for reason, subcode in [("deauthorized", 458), ("invalid", 467), ("expired", 463)]:
        graph.client.post("/_sandbox/tokens/revoke", json={"token": reason, "reason": reason})
        graph.token = reason
        assert error_of(graph.create(image_url=IMAGE)) == (190, subcode)


def test_add_token_through_control_and_list_hashes_only(
    make_graph: Callable[..., Graph],
) -> None:
    graph = make_graph(tokens={"tok-a": ACCOUNT})
    listing = graph.client.post("/_sandbox/tokens", json={"token": "new-tok", "account_id": OTHER})
    assert "new-tok" not in listing.text and "tok-a" not in listing.text
    assert OTHER in listing.text
    graph.token = "new-tok"
    assert graph.create(OTHER, image_url=IMAGE).status_code == 200


def test_tokens_added_by_config_update(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(tokens={"tok-a": ACCOUNT})
    graph.state.update_config({"tokens": {"tok-a": ACCOUNT, "tok-c": OTHER}})
    graph.token = "tok-c"
    assert graph.create(OTHER, image_url=IMAGE).status_code == 200
