"""The AccountKeeper on simulated time: refresh before expiry, warnings, expiry, probes."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from accountstest import ALICE_IG, ALICE_TOKEN, BOB_IG, BOB_TOKEN, AccountWorld, WorldFactory

from igautopost.accounts.upkeep import AccountKeeper, Chore, KeeperPolicy
from igautopost.models import Health, Status


def run_days(world: AccountWorld, keeper: AccountKeeper, days: float) -> list[dict[str, Chore]]:
    """Simulated time: the engine runs between the keeper's passes, as in a worker."""
    passes = []
    end = world.clock.now() + timedelta(days=days)
    while world.clock.now() < end:
        world.sim.run_until(min(end, world.clock.now() + keeper.policy.interval))
        passes.append(keeper.run_once())
    return passes


def test_instagram_tokens_are_refreshed_well_before_expiry(make_world: WorldFactory) -> None:
    world = make_world(token_lifetime_seconds=60 * 86400)
    account = world.accounts.add(None, ALICE_IG, ALICE_TOKEN, login="instagram", exchange=True)
    assert account.expires_at == world.clock.now() + timedelta(days=60)
    keeper = AccountKeeper(
        world.store.accounts,
        world.client,
        world.clock,
        policy=KeeperPolicy(interval=timedelta(hours=6)),
    )

    run_days(world, keeper, 29)
    assert world.store.accounts.get(None, ALICE_IG).last_refresh_at is None, "not needed yet"
    run_days(world, keeper, 2)
    refreshed = world.store.accounts.get(None, ALICE_IG)
    assert refreshed.last_refresh_at is not None
    assert refreshed.expires_at is not None
    assert refreshed.expires_at - world.clock.now() > timedelta(days=58)

    run_days(world, keeper, 100)  # beyond the first token's life: refreshed again, still ok
    post = world.schedule(ALICE_IG)
    world.run_for(hours=2)
    assert world.get(post).status is Status.PUBLISHED
    assert world.store.accounts.get(None, ALICE_IG).health is Health.OK


def test_a_refresh_waits_until_the_token_is_a_day_old(make_world: WorldFactory) -> None:
    world = make_world()
    world.accounts.add(None, ALICE_IG, ALICE_TOKEN, login="instagram")  # expiry unknown
    keeper = AccountKeeper(world.store.accounts, world.client, world.clock)
    assert keeper.run_once() == {}
    world.clock.advance(timedelta(hours=25))
    assert keeper.run_once() == {ALICE_IG: Chore.REFRESH}
    account = world.store.accounts.get(None, ALICE_IG)
    assert account.last_refresh_at == world.clock.now() and account.expires_at is not None


def test_facebook_tokens_warn_ahead_of_expiry_once_a_day(
    make_world: WorldFactory, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world()
    world.accounts.add(None, BOB_IG, BOB_TOKEN, login="facebook")
    world.store.accounts.set_times(
        world.store.accounts.get(None, BOB_IG), expires_at=world.clock.now() + timedelta(days=10)
    )
    keeper = AccountKeeper(
        world.store.accounts,
        world.client,
        world.clock,
        policy=KeeperPolicy(interval=timedelta(hours=6)),
    )
    with caplog.at_level(logging.WARNING, logger="igautopost.accounts.service"):
        passes = run_days(world, keeper, 5)
    warnings = [r.getMessage() for r in caplog.records if "expires in" in r.getMessage()]
    assert 2 <= len(warnings) <= 3, warnings  # from 7 days before expiry, once a day
    assert BOB_IG in warnings[0] and "log in again" in warnings[0]
    assert sum(1 for p in passes if p.get(BOB_IG) is Chore.WARN) == len(warnings)

    run_days(world, keeper, 6)  # past expiry: marked without a call
    account = world.store.accounts.get(None, BOB_IG)
    assert account.health is Health.NEEDS_RECONNECT and "expired" in (account.health_reason or "")


def test_a_token_that_works_again_resumes_its_posts(make_world: WorldFactory) -> None:
    world = make_world()
    world.accounts.add(None, ALICE_IG, ALICE_TOKEN)
    post = world.schedule(ALICE_IG)
    world.sandbox.state.revoke_token(ALICE_TOKEN, "invalid")
    keeper = AccountKeeper(world.store.accounts, world.client, world.clock)
    run_days(world, keeper, 0.1)
    assert world.get(post).status is Status.SCHEDULED
    assert world.store.accounts.get(None, ALICE_IG).needs_reconnect

    world.sandbox.state.add_token(ALICE_TOKEN, ALICE_IG)  # Meta un-revokes it
    run_days(world, keeper, 0.1)

    assert world.store.accounts.get(None, ALICE_IG).health is Health.OK
    assert world.get(post).status is Status.PUBLISHED
