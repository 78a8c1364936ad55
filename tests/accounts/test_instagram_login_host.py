"""An Instagram Login account's calls go to the Instagram Login host; a Facebook Login
account's to the Facebook Login host: one worker serves both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import igautopost
from igautopost.engine.tokens import TokenGate
from igautopost.sandbox import SandboxServer


def test_each_account_is_published_through_its_login_types_host(tmp_path: Path) -> None:
    clock = igautopost.FakeClock(datetime(2030, 6, 1, 8, tzinfo=UTC))
    settings = igautopost.Settings(
        data_dir=tmp_path, secret_key=igautopost.TokenCipher.generate_key()
    )
    store = igautopost.open_store(settings)
    now = clock.now()
    store.accounts.put(None, "17841400000000011", "IGAA-ig-login-token", now=now, login="instagram")
    store.accounts.put(None, "17841400000000022", "EAAB-fb-login-token", now=now, login="facebook")
    with SandboxServer(clock=clock) as facebook, SandboxServer(clock=clock) as instagram:
        client = igautopost.GraphClient(base_url=facebook.url)
        publisher = igautopost.Publisher(store, client, clock, instagram_base_url=instagram.url)
        at = now + timedelta(hours=1)
        items = [
            {
                "account": account,
                "media_type": "image",
                "caption": caption,
                "publish_at": at,
                "media_url": "https://example.com/a.jpg",
            }
            for account, caption in (
                ("17841400000000011", "via instagram"),
                ("17841400000000022", "via facebook"),
            )
        ]
        posts = igautopost.schedule(store, items, now=now).created
        igautopost.Simulation(publisher, clock).run_for(timedelta(hours=2))
        client.close()
        by_host = {
            "facebook": [p.caption for p in facebook.state.inspector.publishes],
            "instagram": [p.caption for p in instagram.state.inspector.publishes],
        }
    assert by_host == {"facebook": ["via facebook"], "instagram": ["via instagram"]}
    assert all(store.get(p.id).status is igautopost.Status.PUBLISHED for p in posts)
    store.close()


def test_a_steps_host_follows_the_login_type_of_its_token(tmp_path: Path) -> None:
    settings = igautopost.Settings(
        data_dir=tmp_path, secret_key=igautopost.TokenCipher.generate_key()
    )
    store = igautopost.open_store(settings)
    now = datetime(2030, 6, 1, 8, tzinfo=UTC)
    # The account says it logged in with Instagram Login, whatever its token looks like.
    store.accounts.put(None, "17841400000000011", "EAAB-ig-login", now=now, login="instagram")
    store.accounts.put(None, "17841400000000022", "EAAB-fb-login", now=now, login="facebook")
    instagram = store.accounts.credentials(None, "17841400000000011")
    facebook = store.accounts.credentials(None, "17841400000000022")
    host = "https://graph.instagram.com"
    assert TokenGate.host_for("EAAB-ig-login", instagram, host) == host
    assert TokenGate.host_for("EAAB-fb-login", facebook, host) is None
    assert TokenGate.host_for("EAAB-ig-login", instagram, None) is None
    # A post's own token (not the account's) is placed by its prefix.
    assert TokenGate.host_for("IGAA-own", facebook, host) == host
    assert TokenGate.host_for("EAAB-own", instagram, host) is None
    assert TokenGate.host_for("IGAA-own", None, host) == host
    store.close()
