"""A refused token pauses its account's posts, only those, until a working token is stored."""

from __future__ import annotations

from accountstest import ALICE_IG, ALICE_TOKEN, BOB_IG, BOB_TOKEN, WorldFactory

from igautopost.models import Health, Status
from igautopost.sandbox.tokens import token_hash


def test_a_revoked_token_pauses_only_that_accounts_posts(make_world: WorldFactory) -> None:
    world = make_world()
    world.accounts.add(None, ALICE_IG, ALICE_TOKEN)
    world.accounts.add(None, BOB_IG, BOB_TOKEN)
    alice = [world.schedule(ALICE_IG) for _ in range(3)]
    bob = [world.schedule(BOB_IG) for _ in range(2)]
    world.sandbox.state.revoke_token(ALICE_TOKEN, "password_changed")

    world.run_for(hours=6)

    for post in alice:
        stored = world.get(post)
        assert stored.status is Status.SCHEDULED, "waiting, not failed"
        assert stored.error is not None and stored.error.code == 190
        assert f"account {ALICE_IG} needs reconnecting" in stored.error.message
        assert stored.next_attempt_at is not None and stored.next_attempt_at > world.clock.now()
    assert all(world.get(p).status is Status.PUBLISHED for p in bob)
    account = world.store.accounts.get(None, ALICE_IG)
    assert account.health is Health.NEEDS_RECONNECT
    assert "password" in (account.health_reason or "")
    assert world.store.accounts.get(None, BOB_IG).health is Health.OK
    calls = world.sandbox.state.with_lock(lambda: list(world.sandbox.state.inspector.calls))
    refused = [c for c in calls if ALICE_IG in c.path and c.error_code == 190]
    assert len(refused) == 1, "one refused call, then the account's posts wait"


def test_a_replaced_token_resumes_the_waiting_posts(make_world: WorldFactory) -> None:
    world = make_world()
    world.accounts.add(None, ALICE_IG, ALICE_TOKEN)
    posts = [world.schedule(ALICE_IG) for _ in range(2)]
    world.sandbox.state.revoke_token(ALICE_TOKEN, "expired")
    world.run_for(hours=3)
    assert all(world.get(p).status is Status.SCHEDULED for p in posts)

    new_token = "IGQV-accounts-test-alice-new-55e1"
    world.sandbox.state.add_token(new_token, ALICE_IG)
    world.accounts.add(None, ALICE_IG, new_token, replace=True)
    world.run_for(hours=1)

    for post in posts:
        stored = world.get(post)
        assert stored.status is Status.PUBLISHED, stored.error
        assert stored.error is None
        details = [e.detail for e in world.store.events(post.id)]
        assert any(d.startswith("waiting: account") for d in details)
        assert any("working token again: resuming" in d for d in details)
    assert world.store.accounts.get(None, ALICE_IG).health is Health.OK


def test_the_old_form_gives_an_owner_without_the_account_an_account_record(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    first = world.schedule(ALICE_IG, access_token=ALICE_TOKEN)
    account = world.store.accounts.get(None, ALICE_IG)
    assert account.login == "instagram"
    assert world.store.accounts.token(None, ALICE_IG) == ALICE_TOKEN

    newer = "IGQV-accounts-test-alice-newer-0b2d"
    world.sandbox.state.add_token(newer, ALICE_IG)
    second = world.schedule(ALICE_IG, access_token=newer)  # published with its own token
    named = world.schedule(ALICE_IG)  # names the account only: the account's token
    world.run_for(hours=2)

    assert [world.get(p).status for p in (first, second, named)] == [Status.PUBLISHED] * 3
    assert world.store.accounts.token(None, ALICE_IG) == ALICE_TOKEN, "never replaced"
    calls = world.sandbox.state.with_lock(lambda: list(world.sandbox.state.inspector.calls))
    assert {c.token_hash for c in calls if c.endpoint == "publish"} == {
        token_hash(ALICE_TOKEN),
        token_hash(newer),
    }


def test_a_posts_bad_token_never_replaces_the_accounts_nor_stops_its_posts(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    world.accounts.add(None, ALICE_IG, ALICE_TOKEN)
    before = world.schedule(ALICE_IG)
    bad = world.schedule(ALICE_IG, access_token="IGQV-accounts-test-alice-unknown-9d1e")
    after = world.schedule(ALICE_IG)
    assert world.store.accounts.token(None, ALICE_IG) == ALICE_TOKEN

    world.run_for(hours=2)

    assert [world.get(p).status for p in (before, bad, after)] == [Status.PUBLISHED] * 3
    assert "the token sent with this post was refused" in "\n".join(
        e.detail for e in world.store.events(bad.id)
    )
    assert not world.get(bad).has_token, "it now uses its account's token"
    account = world.store.accounts.get(None, ALICE_IG)
    assert account.health is Health.OK
    assert world.store.accounts.token(None, ALICE_IG) == ALICE_TOKEN
    calls = world.sandbox.state.with_lock(lambda: list(world.sandbox.state.inspector.calls))
    assert len([c for c in calls if c.error_code == 190]) == 1


def test_a_posts_token_that_is_its_accounts_makes_the_account_wait_when_refused(
    make_world: WorldFactory,
) -> None:
    """The old form's first token became the account's: refused, it is the account's token
    that is bad, so the account's posts wait for a reconnection, this one with them."""
    world = make_world()
    sent = world.schedule(ALICE_IG, access_token=ALICE_TOKEN)
    named = world.schedule(ALICE_IG)
    world.sandbox.state.revoke_token(ALICE_TOKEN, "expired")
    world.run_for(hours=2)
    assert [world.get(p).status for p in (sent, named)] == [Status.SCHEDULED] * 2
    assert world.store.accounts.get(None, ALICE_IG).health is Health.NEEDS_RECONNECT

    new_token = "IGQV-accounts-test-alice-new-55e1"
    world.sandbox.state.add_token(new_token, ALICE_IG)
    world.accounts.add(None, ALICE_IG, new_token, replace=True)
    world.run_for(hours=1)

    assert [world.get(p).status for p in (sent, named)] == [Status.PUBLISHED] * 2
