"""Failed logins are throttled per username and per address (429 + Retry-After); passwords
are rehashed when the argon2 parameters change; API keys may expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from accountstest import PASSWORD, Api
from argon2 import PasswordHasher

from igautopost.auth.throttle import LoginThrottle, ThrottlePolicy
from igautopost.errors import LoginThrottled
from igautopost.storage.sql import migrate

LOGIN = "/api/v1/api-token-auth/"


def test_failed_logins_are_throttled_per_username(make_api: Callable[..., Api]) -> None:
    api = make_api()
    api.users.create("alice", PASSWORD)
    for _ in range(5):
        assert (
            api.client.post(LOGIN, json={"username": "alice", "password": "wrong!!!"}).status_code
            == 400
        )
    blocked = api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert blocked.status_code == 429, "even the right password waits"
    retry_after = int(blocked.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert "throttled" in blocked.json()["detail"]

    api.clock.advance(timedelta(seconds=retry_after))
    assert (
        api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD}).status_code == 200
    )


def test_failed_logins_are_throttled_per_address(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from igautopost.storage.sql import create_engine
    from igautopost.storage.sql.logins import LoginFailureStore

    engine = create_engine(f"sqlite:///{tmp_path / 'throttle.db'}")
    migrate.upgrade(engine)
    throttle = LoginThrottle(LoginFailureStore(engine), ThrottlePolicy(per_address=3))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for name in ("a", "b", "c"):  # one address guessing many names
        throttle.attempt(name, "10.0.0.9", now)
    with pytest.raises(LoginThrottled) as raised:
        throttle.attempt("d", "10.0.0.9", now)
    assert raised.value.retry_after == 15 * 60
    throttle.attempt("d", "10.0.0.10", now)  # another address is not
    engine.dispose()


def test_a_password_is_rehashed_at_login_when_parameters_change(
    make_api: Callable[..., Api],
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    api = make_api(hasher=weak)
    api.users.create("alice", PASSWORD)
    old_hash = api.users.store.password_hash("alice")[1]  # type: ignore[index]

    stronger = make_api(
        store=api.store, hasher=PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    )
    assert (
        stronger.client.post(LOGIN, json={"username": "alice", "password": PASSWORD}).status_code
        == 200
    )
    new_hash = api.users.store.password_hash("alice")[1]  # type: ignore[index]
    assert new_hash != old_hash and "m=16,t=2" in new_hash
    assert (
        api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD}).status_code == 200
    )


def test_api_keys_may_expire_and_be_revoked(make_api: Callable[..., Api]) -> None:
    api = make_api()
    api.users.create("alice", PASSWORD)
    token, key = api.users.create_key("alice", expires_in=timedelta(days=1))
    headers = {"Authorization": f"Token {key}"}
    assert token.expires_at == api.clock.now() + timedelta(days=1)
    assert api.client.get("/api/v1/posts/", headers=headers).status_code == 200

    api.clock.advance(timedelta(days=1, seconds=1))
    assert api.client.get("/api/v1/posts/", headers=headers).status_code == 401, "expired"

    _, forever = api.users.create_key("alice")
    headers = {"Authorization": f"Token {forever}"}
    assert api.client.get("/api/v1/posts/", headers=headers).status_code == 200
    api.users.revoke(next(t.id for t in api.users.tokens("alice") if t.expires_at is None))
    assert api.client.get("/api/v1/posts/", headers=headers).status_code == 401
