"""``/api/v1/accounts/``: each user sees and changes only their own accounts; tokens are
write-only; posts may name a stored account instead of carrying a token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from accountstest import ALICE_IG, ALICE_TOKEN, BOB_TOKEN, START, Api

URL = "/api/v1/accounts/"


def _post(ig_user_id: str, **fields: object) -> dict[str, object]:
    return {
        "user_id": ig_user_id,
        "url": "https://cdn.example.com/a.jpg",
        "content_type": "Photo",
        "caption": "hi",
        "date_pub": int((START + timedelta(hours=1)).timestamp()),
        **fields,
    }


def test_accounts_are_private_to_their_owner(make_api: Callable[..., Api]) -> None:
    api = make_api()
    alice, bob = api.login("alice"), api.login("bob")

    created = api.client.post(
        URL, json={"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN}, headers=alice
    )
    assert created.status_code == 201, created.text
    assert created.json()["ig_user_id"] == ALICE_IG
    assert created.json()["login"] == "instagram" and created.json()["health"] == "ok"

    assert [a["ig_user_id"] for a in api.client.get(URL, headers=alice).json()] == [ALICE_IG]
    assert api.client.get(URL, headers=bob).json() == []
    assert api.client.get(URL).status_code == 401

    # Bob may register the same IG account with his own token: a separate record.
    again = api.client.post(URL, json={"user_id": ALICE_IG, "token": BOB_TOKEN}, headers=bob)
    assert again.status_code == 201
    assert api.store.accounts.token(api.users.store.user("alice").id, ALICE_IG) == ALICE_TOKEN
    assert api.store.accounts.token(api.users.store.user("bob").id, ALICE_IG) == BOB_TOKEN

    replaced = api.client.post(
        URL, json={"ig_user_id": ALICE_IG, "access_token": "IGQV-new-1"}, headers=alice
    )
    assert replaced.status_code == 200
    assert all(ALICE_TOKEN not in body and BOB_TOKEN not in body for body in api.bodies)
    assert all("IGQV-new-1" not in body for body in api.bodies)


def test_a_post_may_name_a_stored_account_instead_of_a_token(make_api: Callable[..., Api]) -> None:
    api = make_api()
    alice, bob = api.login("alice"), api.login("bob")
    refused = api.client.post("/api/v1/posts/", json=_post(ALICE_IG), headers=alice)
    assert refused.status_code == 400 and "token" in refused.text

    api.client.post(URL, json={"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN}, headers=alice)
    accepted = api.client.post("/api/v1/posts/", json=_post(ALICE_IG), headers=alice)
    assert accepted.status_code == 201, accepted.text
    # Alice's account is not Bob's: he still needs a token of his own.
    assert api.client.post("/api/v1/posts/", json=_post(ALICE_IG), headers=bob).status_code == 400


def test_bad_account_bodies_name_each_problem(make_api: Callable[..., Api]) -> None:
    api = make_api()
    alice = api.login("alice")
    response = api.client.post(URL, json={"ig_user_id": "abc", "login": "myspace"}, headers=alice)
    assert response.status_code == 400
    assert set(response.json()) == {"ig_user_id", "access_token", "login"}
