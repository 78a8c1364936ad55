"""The composition root: from `Settings` to the objects a process runs with.

The CLI, the HTTP app and the Celery workers build their cipher, store, Graph client,
publisher, account upkeep and users service here, and nowhere else:

>>> settings = Settings()                         # IGAUTOPOST_* from the environment
>>> store = open_store(settings)
>>> engine = publisher(settings, store)          # the Graph client and the policy too
>>> upkeep = account_upkeep(engine)              # not started: `.start()` runs its thread
>>> account_service = accounts(settings, store)
>>> api_users = users(settings, store)
>>> intake = media_intake(settings)              # local files: checked, copied (`schedule`)
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .clock import Clock, SystemClock
from .config import Settings
from .crypto import TokenCipher, load_keys
from .storage.sql import SqlStore
from .storage.sql.files import private_directory

if TYPE_CHECKING:  # imported where they are built: `list` needs a store, not the engine
    from argon2 import PasswordHasher

    from .accounts.service import Accounts
    from .accounts.upkeep import AccountKeeper
    from .auth.users import Users
    from .engine.publisher import Publisher
    from .graph.client import GraphClient
    from .graph.transport import Transport
    from .media.protocols import MediaHost, MediaStore
    from .media_intake import MediaIntake
    from .storage.protocols import Store, UserStore


def token_cipher(settings: Settings) -> TokenCipher:
    """The cipher for tokens at rest: ``IGAUTOPOST_SECRET_KEY`` (comma-separated, newest first)
    or the key file in the data directory."""
    if settings.secret_key is not None:
        keys = [k.strip() for k in settings.secret_key.get_secret_value().split(",") if k.strip()]
        return TokenCipher(keys)
    return TokenCipher(load_keys(settings.data_dir), reload=lambda: load_keys(settings.data_dir))


def open_store(settings: Settings | None = None) -> SqlStore:
    """The store the settings name, migrated to the current schema.

    >>> key = TokenCipher.generate_key()
    >>> store = open_store(Settings(database_url="sqlite://", secret_key=key))
    """
    settings = settings or Settings()
    private_directory(settings.data_dir)  # the key file and the default database live there
    return SqlStore.open(settings.resolved_database_url(), cipher=token_cipher(settings))


def pooled_store(
    settings: Settings, *, pool_size: int, max_overflow: int | None = None
) -> SqlStore:
    """The store for a process that sizes its own database pool (Celery workers, the
    sweeper); unlike `open_store`, it leaves the data directory alone."""
    return SqlStore.open(
        settings.resolved_database_url(),
        cipher=token_cipher(settings),
        pool_size=pool_size,
        max_overflow=max_overflow,
    )


def graph_client(settings: Settings, *, transport: Transport | None = None) -> GraphClient:
    """The Graph API client on the settings' hosts, version and timeout; over `transport`
    when given (a `MockTransport`, a wrapper that injects faults), else urllib3."""
    from .graph.client import GraphClient

    return GraphClient(
        base_url=settings.graph_base_url,
        instagram_base_url=settings.graph_instagram_base_url,
        version=settings.graph_version,
        timeout=settings.graph_timeout,
        transport=transport,
    )


def publisher(
    settings: Settings,
    store: Store,
    *,
    clock: Clock | None = None,
    client: GraphClient | None = None,
    rng: random.Random | None = None,
    media_store: MediaStore | None = None,
    media_host: MediaHost | None = None,
) -> Publisher:
    """The engine on `store`, with `client` or a new one from the settings; `rng` draws the
    retry jitter (seed it to replay a run). Posts scheduled from local files are published
    from `media_store` through `media_host` (default: the ones the settings name,
    `igautopost.media.hosting`). A `ConfigurationError` for leases that cannot hold a step
    (`igautopost.engine.leases.engine_policy`)."""
    from .engine.leases import engine_policy
    from .engine.publisher import Publisher
    from .media.hosting import media_host_from, media_store_from

    policy = engine_policy(settings)
    clock = clock or SystemClock()
    media_store = media_store or media_store_from(settings, clock=clock)
    if media_host is None:
        media_host = media_host_from(settings, store=media_store)
    return Publisher(
        store,
        client or graph_client(settings),
        clock,
        policy=policy,
        rng=rng,
        instagram_base_url=settings.graph_instagram_base_url,
        media_store=media_store,
        media_host=media_host,
    )


def media_intake(
    settings: Settings, *, clock: Clock | None = None, check: bool | None = None
) -> MediaIntake:
    """What scheduling takes local files in with (``schedule(..., media=intake)``): the
    settings' media store and host, and the media checker unless `check` is False (default:
    IGAUTOPOST_MEDIA_CHECK). Close it after the run (`with`)."""
    from .media_intake import MediaIntake

    return MediaIntake.from_settings(settings, clock=clock, check=check)


def accounts(
    settings: Settings,
    store: Store,
    *,
    client: GraphClient | None = None,
    clock: Clock | None = None,
) -> Accounts:
    """Adding, checking and refreshing accounts, with the settings' app id and secret (for
    token exchanges) and Instagram Login host; on `client`, or a new one from the settings."""
    from .accounts.service import Accounts

    secret = settings.app_secret.get_secret_value() if settings.app_secret else None
    return Accounts(
        store.accounts,
        client or graph_client(settings),
        clock or SystemClock(),
        app_id=settings.app_id,
        app_secret=secret,
        instagram_base_url=settings.graph_instagram_base_url,
    )


def account_upkeep(engine: Publisher) -> AccountKeeper:
    """Token refreshes and checks for the stored accounts, on the publisher's store, client,
    clock and Instagram Login host; call `.start()` to run it in the background."""
    from .accounts.upkeep import AccountKeeper

    return AccountKeeper(
        engine.store.accounts,
        engine.client,
        engine.clock,
        instagram_base_url=engine.instagram_base_url,
    )


def users(
    settings: Settings,
    store: Store,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> Users:
    """API users and their tokens, beside `store`'s posts: in its database (or its memory),
    their reusable keys encrypted with its cipher. `hasher`: argon2's parameters, when not
    the default ones (tests use cheap ones)."""
    from .auth.users import Users
    from .storage.memory import InMemoryStore, InMemoryUserStore
    from .storage.sql.users import SqlUserStore

    user_store: UserStore
    if isinstance(store, SqlStore):
        user_store = SqlUserStore(store.engine)
    elif isinstance(store, InMemoryStore):
        user_store = InMemoryUserStore(store)
    else:
        raise TypeError(f"no user store goes with a {type(store).__name__}")
    return Users(user_store, store.cipher, clock or SystemClock(), hasher=hasher)


__all__ = [
    "account_upkeep",
    "accounts",
    "graph_client",
    "media_intake",
    "open_store",
    "pooled_store",
    "publisher",
    "token_cipher",
    "users",
]


MAX_POOL = 20  # database connections per Celery worker process, whatever its threads


def celery_publisher(settings: Settings, threads: int) -> Publisher:
    """A Celery worker's Publisher: a database pool as large as its step threads (a thread
    waiting for a pooled connection was most of a step's time in a burst), and kept open:
    with a pool of half that size, connections beyond it were opened and closed again all
    through a burst, and PostgreSQL forked a backend for each. At most `MAX_POOL` + 2
    connections however many threads: most of a burst's threads wait for their publish
    time holding none, and PostgreSQL's max_connections (100 by default) is shared."""
    store = pooled_store(settings, pool_size=max(2, min(threads, MAX_POOL)), max_overflow=2)
    return publisher(settings, store)


def run_celery_worker(
    settings: Settings, *, threads: int = 32, beat: bool = False, loglevel: str = "INFO"
) -> None:
    """A Celery worker in this process until it is stopped, with the sweeper when `beat`
    (`igautopost worker --scheduler celery [--beat]`). Needs the `celery` extra."""
    from .scheduler.celery import run_worker

    run_worker(
        settings,
        publisher=lambda: celery_publisher(settings, threads),
        sweeper_store=(lambda: pooled_store(settings, pool_size=2)) if beat else None,
        threads=threads,
        loglevel=loglevel,
    )
