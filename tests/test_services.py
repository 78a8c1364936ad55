"""The composition root: what `igautopost.services` builds from the settings is what the
CLI, the HTTP app, the Celery workers and the tests' worlds run with.

The second half runs each world builder of the suite (the `store` fixture, the API's and the
accounts' `make_api`, the accounts' and the reliability suite's `make_world`, the Celery
`make_cluster`) through one schedule -> publish round trip against the sandbox.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import igautopost
from igautopost import services
from igautopost.clock import Clock, FakeClock
from igautopost.config import Settings
from igautopost.crypto import TokenCipher
from igautopost.engine.leases import engine_policy
from igautopost.engine.simulation import Simulation
from igautopost.graph.transport import Transport
from igautopost.models import Status
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from services import environment, settings_for

# The world builders live beside their tests, in modules that pytest puts on sys.path when it
# loads those directories' conftests; a fixture bound to a name here is one of this module.
for _folder in ("accounts", "api", "celery", "reliability"):
    if str(Path(__file__).parent / _folder) not in sys.path:
        sys.path.append(str(Path(__file__).parent / _folder))

import accountstest  # noqa: E402
import apitest  # noqa: E402
import cluster  # noqa: E402
import reliabilitytest  # noqa: E402

make_api = apitest.make_api
make_account_api = accountstest.make_api
make_account_world = accountstest.make_world
make_sim_world = reliabilitytest.make_world
make_cluster = cluster.make_cluster


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
def settings_store(settings: Settings) -> Iterator[SqlStore]:
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
    settings: Settings, settings_store: SqlStore
) -> None:
    clock = FakeClock()
    publisher = services.publisher(settings, settings_store, clock=clock)
    try:
        assert publisher.store is settings_store
        assert publisher.clock is clock
        assert publisher.policy.lease == timedelta(seconds=20)
        assert publisher.policy.step_limit == timedelta(seconds=400)
        assert publisher.instagram_base_url == "http://instagram.test"
    finally:
        publisher.client.close()


def test_the_account_upkeep_uses_the_publishers_store_client_clock_and_host(
    settings: Settings, settings_store: SqlStore
) -> None:
    publisher = services.publisher(settings, settings_store)
    upkeep = services.account_upkeep(publisher)
    try:
        assert upkeep.store is settings_store.accounts
        assert upkeep.client is publisher.client
        assert upkeep.clock is publisher.clock
        assert upkeep.instagram_base_url == "http://instagram.test"
    finally:
        publisher.client.close()


def test_the_account_service_has_the_app_credentials_and_the_instagram_host(
    settings: Settings, settings_store: SqlStore
) -> None:
    with services.graph_client(settings) as client:
        accounts = services.accounts(settings, settings_store, client=client)
        assert accounts.client is client
        assert accounts.app_id == "app-1"
        assert accounts.app_secret == "app-secret"
        assert accounts.instagram_base_url == "http://instagram.test"


def test_users_live_in_the_stores_database(settings: Settings, settings_store: SqlStore) -> None:
    services.users(settings, settings_store).create("alice", "a long enough password")

    assert [u.username for u in services.users(settings, settings_store).store.users()] == ["alice"]


def test_a_pooled_store_opens_the_settings_database_and_leaves_the_data_directory_alone(
    settings: Settings, settings_store: SqlStore
) -> None:
    settings_store.close()  # `open_store` made the data directory (the key file lives there)
    settings.data_dir.rmdir()
    pooled = services.pooled_store(settings, pool_size=2, max_overflow=2)
    try:
        assert pooled.engine.url == settings_store.engine.url
        assert not settings.data_dir.exists()
    finally:
        pooled.close()


# -- the tests' worlds: settings in, a working store and publisher out --------------------------

CAPTION = "a round trip through igautopost.services"


def shown(sandbox: SandboxServer, caption: str = CAPTION) -> int:
    """How many media Instagram (the sandbox) shows with this caption."""
    state = sandbox.state
    return state.with_lock(lambda: sum(m.caption == caption for m in state.media.values()))


def publish_due(store: SqlStore, clock: Clock, workdir: Path) -> SandboxServer:
    """Two simulated hours of `services.publisher` on `store`, against a sandbox on `clock`."""
    assert isinstance(clock, FakeClock)
    with SandboxServer(SandboxConfig(), clock=clock) as sandbox:
        engine = services.publisher(
            settings_for(workdir, sandbox_url=sandbox.url), store, clock=clock
        )
        try:
            Simulation(engine, clock).run_for(timedelta(hours=2))
        finally:
            engine.client.close()
    return sandbox


def test_settings_for_a_world_ignore_the_shells_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGAUTOPOST_LEASE_SECONDS", "99")
    monkeypatch.setenv("IGAUTOPOST_GRAPH_BASE_URL", "https://graph.facebook.com")

    settings = settings_for(tmp_path, sandbox_url="http://127.0.0.1:9")

    assert settings.lease_seconds == Settings.model_fields["lease_seconds"].default
    assert settings.graph_base_url == settings.graph_instagram_base_url == "http://127.0.0.1:9"


def test_a_worker_process_reads_the_worlds_settings_from_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        sandbox_url="http://127.0.0.1:9",
        broker_url="redis://127.0.0.1:6379/0",
        lease_seconds=12.5,
        app_secret="app-secret",
    )
    for name, value in environment(settings).items():
        monkeypatch.setenv(name, value)

    assert Settings().model_dump() == settings.model_dump()
    assert Settings().app_secret == settings.app_secret


def test_the_store_fixture_is_published_from_by_an_engine_from_services(
    store: SqlStore, make_post: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2035, 6, 1, 8, 30, tzinfo=UTC))  # make_post's: 9:00
    post = igautopost.schedule(store, [make_post(caption=CAPTION)], now=clock.now()).created[0]

    sandbox = publish_due(store, clock, tmp_path / "engine")

    assert store.get(post.id).status is Status.PUBLISHED
    assert shown(sandbox) == 1


def test_the_api_worlds_store_publishes_a_post_created_over_http(
    make_api: Callable[..., apitest.Api], tmp_path: Path
) -> None:
    api = make_api()
    headers = api.login()
    created = api.create(headers, caption=CAPTION)

    sandbox = publish_due(api.store, api.clock, tmp_path / "engine")

    listed = api.client.get("/api/v1/posts/?status=published", headers=headers).json()
    assert [p["id"] for p in listed] == [created["id"]]
    assert shown(sandbox) == 1


def test_the_accounts_api_worlds_store_publishes_a_post_created_over_http(
    make_account_api: Callable[..., Any], tmp_path: Path
) -> None:
    api = make_account_api()
    headers = api.login("alice")
    publish_at = api.clock.now() + timedelta(hours=1)
    body = apitest.old_post(caption=CAPTION, date_pub=int(publish_at.timestamp()))
    created = api.client.post("/api/v1/posts/", json=body, headers=headers)
    assert created.status_code == 201, created.text

    sandbox = publish_due(api.store, api.clock, tmp_path / "engine")

    assert api.store.get(created.json()["id"]).status is Status.PUBLISHED
    assert shown(sandbox) == 1


def test_the_accounts_world_runs_the_engine_and_accounts_services_build(
    make_account_world: Callable[..., accountstest.AccountWorld],
) -> None:
    world = make_account_world()
    world.accounts.add(
        None, accountstest.ALICE_IG, accountstest.ALICE_TOKEN
    )  # an Instagram Login token
    post = world.schedule(accountstest.ALICE_IG, caption=CAPTION)

    world.run_for(hours=2)

    assert world.get(post).status is Status.PUBLISHED
    assert shown(world.sandbox) == 1
    assert world.publisher.policy == engine_policy(world.settings)
    assert world.publisher.instagram_base_url == world.sandbox.url
    assert world.accounts.client is world.publisher.client
    assert world.accounts.app_id == world.settings.app_id


@pytest.mark.parametrize("wrapped", [False, True], ids=["services", "wrapped transport"])
def test_the_reliability_world_publishes_with_the_settings_policy(
    make_sim_world: Callable[..., reliabilitytest.SimWorld], wrapped: bool
) -> None:
    kinds: list[str] = []

    def wrap(transport: Transport) -> Transport:
        return reliabilitytest.Interceptor(transport, lambda kind, _request: kinds.append(kind))

    world = make_sim_world(wrap=wrap if wrapped else None)
    post = world.schedule(caption=CAPTION)

    world.run_for(hours=2)

    assert world.store.get(post.id).status is Status.PUBLISHED
    assert len(world.media_captioned(CAPTION)) == 1
    assert world.policy == engine_policy(world.settings)
    assert ("publish" in kinds) is wrapped


def test_the_celery_clusters_workers_publish_with_the_clusters_settings(
    make_cluster: cluster.MakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers, store = make_cluster()
    for name, value in workers.env().items():
        monkeypatch.setenv(name, value)
    assert Settings().model_dump() == workers.settings.model_dump(), "what a worker reads"
    workers.start_worker(threads=4, beat=True)

    cluster.schedule(store, cluster.posts_over(3, datetime.now(UTC) + timedelta(seconds=5), 2))

    published = cluster.wait_until(lambda: store.counts() == {"published": 3}, timeout=90)
    assert published, (store.counts(), workers.logs())
    assert workers.report()["duplicates"] == []
