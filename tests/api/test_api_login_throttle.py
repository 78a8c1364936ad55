"""The login throttle: failures count per client address and username, in the database that
every server process shares, and an attempt is counted in the same step that lets it through.
Bad usernames are refused before anything is counted or hashed."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from apitest import CHEAP, NOW, PASSWORD, Api
from argon2 import PasswordHasher

from igautopost.auth.throttle import address_key
from igautopost.auth.users import User, Users
from igautopost.clock import FakeClock
from igautopost.crypto import TokenCipher
from igautopost.errors import InvalidCredentials, LoginThrottled
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.logins import ADDRESS_ALONE, LoginFailureStore
from igautopost.storage.sql.users import SqlUserStore
from services import postgres_schemas

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette prefers httpx2 (see apitest.py)
    from starlette.testclient import TestClient

LOGIN = "/api/v1/api-token-auth/"
WRONG = "not the password"
STRANGER = "203.0.113.7"
OPERATOR = "198.51.100.2"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new empty database that several stores (as several processes would) can open."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    with postgres_schemas() as schemas:
        yield schemas.new()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([TokenCipher.generate_key()])


def from_address(api: Api, host: str) -> TestClient:
    """A client of the same app whose requests come from `host`."""
    return TestClient(api.client.app, client=(host, 50000))


def login(client: TestClient, password: str, username: str = "alice") -> int:
    return client.post(LOGIN, json={"username": username, "password": password}).status_code


def test_a_strangers_wrong_passwords_do_not_lock_the_user_out_from_another_address(
    api: Api,
) -> None:
    api.users.create("alice", PASSWORD)
    stranger, operator = from_address(api, STRANGER), from_address(api, OPERATOR)

    assert [login(stranger, WRONG) for _ in range(7)] == [400] * 5 + [429] * 2
    assert login(stranger, PASSWORD) == 429, "the stranger's address stays throttled"
    assert login(operator, PASSWORD) == 200


def test_one_address_guessing_many_names_is_throttled_for_all_of_them(api: Api) -> None:
    stranger = from_address(api, STRANGER)
    statuses = [login(stranger, WRONG, username=f"user{n}") for n in range(21)]
    assert statuses == [400] * 20 + [429]
    assert login(from_address(api, OPERATOR), WRONG, username="user99") == 400


def test_a_right_password_takes_back_its_own_count_only(api: Api) -> None:
    api.users.create("alice", PASSWORD)
    store = LoginFailureStore(api.store.engine)
    operator = from_address(api, OPERATOR)
    assert [login(operator, WRONG) for _ in range(4)] == [400] * 4
    assert login(operator, WRONG, username="bob") == 400

    assert login(operator, PASSWORD) == 200
    assert store.failures("alice", OPERATOR) == 0
    assert store.failures(ADDRESS_ALONE, OPERATOR) == 5, "the wrong ones still count"
    assert store.failures("bob", OPERATOR) == 1


def test_an_ipv6_client_is_counted_by_its_64_network(api: Api) -> None:
    api.users.create("alice", PASSWORD)
    hosts = [f"2001:db8:0:7::{n:x}" for n in range(1, 7)]
    assert [login(from_address(api, host), WRONG) for host in hosts] == [400] * 5 + [429]
    assert login(from_address(api, "2001:db8:0:8::1"), PASSWORD) == 200
    assert address_key("::ffff:203.0.113.7") == STRANGER
    assert address_key(None) == address_key("") != address_key(STRANGER)


def test_the_window_ends_retry_after_seconds_later(api: Api) -> None:
    api.users.create("alice", PASSWORD)
    stranger = from_address(api, STRANGER)
    for _ in range(5):
        login(stranger, WRONG)
    api.clock.advance(timedelta(minutes=10))
    refused = stranger.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(5 * 60)
    api.clock.advance(timedelta(minutes=5))
    assert login(stranger, PASSWORD) == 200


class SlowHasher(PasswordHasher):
    """Checking a password takes a while, as argon2's real parameters do: long enough for
    every parallel attempt to have been let through by a check that does not count it."""

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        time.sleep(0.2)
        return super().verify(hash, password)


def users_on(
    url: str, cipher: TokenCipher, hasher: PasswordHasher = CHEAP, clock: FakeClock | None = None
) -> Users:
    store = SqlStore.open(url, cipher=cipher)  # its own engine: as another process would
    return Users(SqlUserStore(store.engine), cipher, clock or FakeClock(NOW), hasher=hasher)


def test_parallel_wrong_guesses_are_each_counted_before_their_password_is_checked(
    database_url: str, cipher: TokenCipher
) -> None:
    users = users_on(database_url, cipher, SlowHasher(time_cost=1, memory_cost=8, parallelism=1))
    users.create("alice", PASSWORD)
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def guess() -> None:
        start.wait()
        try:
            outcomes.append(repr(users.login("alice", WRONG, STRANGER)))
        except LoginThrottled:
            outcomes.append("throttled")

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["None"] * 5 + ["throttled"] * 7
    users.store.engine.dispose()


def test_two_apps_on_one_database_see_each_others_failures(
    database_url: str, cipher: TokenCipher
) -> None:
    first, second = users_on(database_url, cipher), users_on(database_url, cipher)
    first.create("alice", PASSWORD)
    for _ in range(5):
        assert first.login("alice", WRONG, STRANGER) is None
    with pytest.raises(LoginThrottled):
        second.login("alice", PASSWORD, STRANGER)
    assert isinstance(second.login("alice", PASSWORD, OPERATOR), User)
    assert LoginFailureStore(first.store.engine).failures("alice", OPERATOR) == 0
    for users in (first, second):
        users.store.engine.dispose()


def test_two_http_apps_on_one_database_share_the_counts(make_api: Callable[..., Api]) -> None:
    one = make_api()
    other = make_api(store=SqlStore.open(str(one.store.engine.url), cipher=one.store.cipher))
    one.users.create("alice", PASSWORD)
    assert [login(from_address(one, STRANGER), WRONG) for _ in range(5)] == [400] * 5
    assert login(from_address(other, STRANGER), PASSWORD) == 429
    other.store.close()


@pytest.mark.parametrize("length", [151, 1_000_000])
def test_a_username_over_the_limit_is_refused_before_it_is_counted(
    make_api: Callable[..., Api], length: int
) -> None:
    api = make_api(max_body_bytes=2_000_000)
    response = api.client.post(LOGIN, json={"username": "a" * length, "password": WRONG})
    assert response.status_code == 400
    assert response.json() == {"username": ["Ensure this field has no more than 150 characters."]}
    with api.store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM login_failures").scalar() == 0
    with pytest.raises(InvalidCredentials, match="username: at most 150"):
        api.users.login("a" * length, WRONG, STRANGER)
    assert login(api.client, WRONG, username="a" * 150) == 400  # the longest name is counted
    assert LoginFailureStore(api.store.engine).failures("a" * 150, "testclient") == 1


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_lone_surrogate_in_the_login_is_a_400_naming_its_field(api: Api, field: str) -> None:
    api.users.create("alice", PASSWORD)
    body = {"username": "alice", "password": "hunter2-secret", field: "x\ud800hunter2-secret"}
    response = api.client.post(  # json.dumps writes the lone surrogate as the escape \ud800
        LOGIN, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert "hunter2" not in response.text


def test_counts_of_an_ended_window_are_deleted(database_url: str, cipher: TokenCipher) -> None:
    clock = FakeClock(NOW)
    users = users_on(database_url, cipher, clock=clock)
    engine = users.store.engine
    users.login("alice", WRONG, STRANGER)
    clock.advance(timedelta(minutes=15))
    users.login("bob", WRONG, OPERATOR)

    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT address, username FROM login_failures").all()
    assert sorted(tuple(row) for row in rows) == [(OPERATOR, ""), (OPERATOR, "bob")]
    engine.dispose()
