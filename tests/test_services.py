"""The composition root: what `igautopost.services` builds from the settings is what the
CLI, the HTTP app and the Celery workers run with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from igautopost import services
from igautopost.clock import FakeClock
from igautopost.config import Settings
from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'igautopost.db'}",
        secret_key=TokenCipher.generate_key(),
        graph_base_url="http://graph.test",
        graph_instagram_base_url="http://instagram.test",
        graph_version="v99.0",
        graph_timeout=7,
        lease_seconds=20,
        step_seconds=400,
        app_id="app-1",
        app_secret="app-secret",
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[SqlStore]:
    store = services.open_store(settings)
    yield store
    store.close()


def test_the_graph_client_takes_the_settings_hosts_version_and_timeout(
    settings: Settings,
) -> None:
    with services.graph_client(settings) as client:
        assert client.base_url == "http://graph.test"
        assert client.instagram_base_url == "http://instagram.test"
        assert client.version == "v99.0"
        assert client.timeout == 7


def test_the_publisher_runs_on_the_store_with_the_settings_policy_and_host(
    settings: Settings, store: SqlStore
) -> None:
    clock = FakeClock()
    publisher = services.publisher(settings, store, clock=clock)
    try:
        assert publisher.store is store
        assert publisher.clock is clock
        assert publisher.policy.lease == timedelta(seconds=20)
        assert publisher.policy.step_limit == timedelta(seconds=400)
        assert publisher.instagram_base_url == "http://instagram.test"
    finally:
        publisher.client.close()


def test_the_account_upkeep_uses_the_publishers_store_client_clock_and_host(
    settings: Settings, store: SqlStore
) -> None:
    publisher = services.publisher(settings, store)
    upkeep = services.account_upkeep(publisher)
    try:
        assert upkeep.store is store.accounts
        assert upkeep.client is publisher.client
        assert upkeep.clock is publisher.clock
        assert upkeep.instagram_base_url == "http://instagram.test"
    finally:
        publisher.client.close()


def test_the_account_service_has_the_app_credentials_and_the_instagram_host(
    settings: Settings, store: SqlStore
) -> None:
    with services.graph_client(settings) as client:
        accounts = services.accounts(settings, store, client=client)
        assert accounts.client is client
        assert accounts.app_id == "app-1"
        assert accounts.app_secret == "app-secret"
        assert accounts.instagram_base_url == "http://instagram.test"


def test_users_live_in_the_stores_database(settings: Settings, store: SqlStore) -> None:
    services.users(settings, store).create("alice", "a long enough password")

    assert [u.username for u in services.users(settings, store).store.users()] == ["alice"]


def test_a_pooled_store_opens_the_settings_database_and_leaves_the_data_directory_alone(
    settings: Settings, store: SqlStore
) -> None:
    store.close()  # `open_store` made the data directory (the key file lives there)
    settings.data_dir.rmdir()
    pooled = services.pooled_store(settings, pool_size=2, max_overflow=2)
    try:
        assert pooled.engine.url == store.engine.url
        assert not settings.data_dir.exists()
    finally:
        pooled.close()
