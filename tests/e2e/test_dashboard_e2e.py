"""The operator's web page end to end (issue 17, Acceptance): headless Chromium, driven by
Playwright, against a real `igautopost serve --sandbox` (tests/e2e/conftest.py).

Alice logs in, creates a post through the form, finds it on the calendar and in the queue,
and watches it turn published with its permalink without reloading; she drags another post
to a new day on the calendar, and one to a new hour in the week view, and the API reports
the new time; she retries a post that
failed and cancels one, saying yes when asked; she logs out. Bob then sees none of it. A
form without the CSRF token is refused. Each view is photographed on the way
(docs/dashboard.md shows the pictures).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import requests
from e2eserver import VIEWER_ZONE, DashboardServer, Operator, picture

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Dialog, Page

pytestmark = pytest.mark.slow

ZONE = ZoneInfo(VIEWER_ZONE)
PERMALINK = re.compile(r"^https://www\.instagram\.com/p/[A-Za-z0-9_-]+/?$")
PHONE = {"width": 390, "height": 844}


# -- helpers ---------------------------------------------------------------------------------


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def log_in(context: BrowserContext, operator: Operator) -> Page:
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # no session yet: the login form
    page.get_by_label("User name").fill(operator.name)
    page.get_by_label("Password").fill(operator.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/calendar"))
    expect(page.locator("header .who")).to_have_text(operator.name)
    # laid out in the browser's zone from the first page on (app.js's cookie), so the
    # calendar has no reason to reload itself under the test's next step
    expect(page.locator("#calendar")).to_have_attribute("data-zone", VIEWER_ZONE)
    return page


class Answers:
    """Answers every confirm() a page asks with `yes`, and keeps the questions."""

    def __init__(self, page: Page, yes: bool) -> None:
        self.yes = yes
        self.asked: list[str] = []
        page.on("dialog", self.answer)

    def answer(self, dialog: Dialog) -> None:
        self.asked.append(dialog.message)
        if self.yes:
            dialog.accept()
        else:
            dialog.dismiss()


def local(moment: str) -> datetime:
    """An API time (ISO 8601) in the viewer's zone."""
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(ZONE)


def next_whole_minute(after: timedelta) -> datetime:
    """A time `after` from now in the viewer's zone, on a whole minute (datetime-local)."""
    moment = datetime.now(ZONE) + after
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


IMAGES_SHOWN = """async () => {
  const shown = [...document.images].filter(
    (image) => image.getBoundingClientRect().top < window.innerHeight);
  shown.forEach((image) => { image.loading = "eager"; });
  await Promise.all(shown.map((image) => image.decode().catch(() => null)));
}"""


def shoot(page: Page, screenshots: Path, name: str) -> Path:
    page.evaluate(IMAGES_SHOWN)  # the thumbnails in view loaded and decoded
    path = screenshots / f"dashboard-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 5_000, f"{path.name} is blank"
    return path


def found(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text`, which must be there."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text[:200]!r}"
    return match.group(1)


def eventually(check: Callable[[], bool], timeout: float = 15) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.2)


# -- the acceptance flow ---------------------------------------------------------------------


def test_a_post_made_in_the_form_is_on_the_calendar_and_in_the_queue_and_turns_published_live(
    context: BrowserContext, server: DashboardServer, alice: Operator, screenshots: Path
) -> None:
    page = log_in(context, alice)
    publish_at = next_whole_minute(timedelta(hours=2))  # within the live view's 24 hours
    caption = "Sunrise over the harbour #e2e @igautopost"

    page.get_by_role("link", name="New post").click()
    expect(page).to_have_url(re.compile(r"/posts/new"))
    page.get_by_label("Account").select_option(alice.account)
    page.get_by_label("Media type").select_option("image")
    page.get_by_label("Media URL").fill("not a URL")
    page.get_by_label("Caption").fill(caption)
    expect(page.locator("#caption-chars")).to_have_text(
        re.compile(rf"^{len(caption)} / 2,?200 characters")
    )
    expect(page.locator("#caption-hashtags")).to_contain_text("1 / 30")
    expect(page.locator("#caption-mentions")).to_contain_text("1 / 20")
    page.get_by_label("Publish time").fill(publish_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule post").click()
    cli_said = server.cli_problem(
        {
            "account": alice.account,
            "access_token": "unused",
            "media_type": "image",
            "media_url": "not a URL",
            "caption": caption,
            "publish_at": publish_at.isoformat(),
        }
    )
    assert cli_said.startswith("media_url: ")
    problem = page.locator("#media_url-error")  # next to its field, in the CLI's words
    expect(problem).to_contain_text(cli_said.removeprefix("media_url: "))
    expect(page.get_by_label("Media URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Caption")).to_have_value(caption)  # the form keeps what was typed
    page.locator("label[for='media_type']").evaluate("label => label.scrollIntoView()")
    shoot(page, screenshots, "new-post-error")  # the field, its message and the counters

    page.get_by_label("Media URL").fill("https://example.com/e2e/sunrise.jpg")
    page.get_by_role("button", name="Schedule post").click()
    expect(page).to_have_url(re.compile(r"/posts/\d+"))
    post_id = int(found(r"/posts/(\d+)", page.url))
    stored = server.post(alice, post_id)
    assert stored["caption"] == caption
    assert local(stored["publish_at"]) == publish_at  # read in the viewer's zone
    assert stored["status"] == "scheduled"

    page.goto(f"/calendar?view=week&date={publish_at.date().isoformat()}")
    card = page.locator(f".cal-post[data-post-id='{post_id}']")
    expect(card).to_be_visible()
    expect(card).to_have_attribute("draggable", "true")
    day = page.locator(f"[data-date='{publish_at.date().isoformat()}']")
    expect(day.locator(f".cal-post[data-post-id='{post_id}']")).to_have_count(1)
    page.goto(f"/calendar?view=month&date={publish_at.date().isoformat()}")
    expect(page.locator(f".cal-post[data-post-id='{post_id}']")).to_be_visible()

    queue = context.new_page()
    queue.goto("/queue")
    row = queue.locator(f"tr#post-{post_id}")
    expect(row).to_have_attribute("data-status", "scheduled")
    expect(row.locator(".status")).to_have_text("scheduled")
    queue.evaluate("window.notReloaded = true")

    answers = Answers(page, yes=True)
    page.goto(f"/posts/{post_id}")
    page.get_by_role("button", name="Publish now").click()
    assert answers.asked, "Publish now did not ask first"

    expect(row).to_have_attribute("data-status", "published", timeout=20_000)
    expect(row.locator(".status")).to_have_text("published")
    # and then its permalink, read by the engine's follow-up step 5 s after publishing
    expect(row.locator("a.permalink")).to_have_attribute("href", PERMALINK, timeout=20_000)
    sandbox_permalink = server.post(alice, post_id)["permalink"]
    expect(row.locator("a.permalink")).to_have_attribute("href", sandbox_permalink)
    assert queue.evaluate("window.notReloaded") is True, "the queue reloaded"

    # The permalink is read in a follow-up step, 5 s after publishing (EnginePolicy); the
    # post's page shows it.
    eventually(lambda: bool(server.post(alice, post_id)["permalink"]))
    page.goto(f"/posts/{post_id}")
    expect(page.locator("a.permalink")).to_have_attribute("href", PERMALINK)
    assert (
        page.locator("a.permalink").get_attribute("href")
        == server.post(alice, post_id)["permalink"]
    )


def test_dragging_a_post_to_another_day_on_the_calendar_moves_its_publish_time(
    context: BrowserContext, server: DashboardServer, alice: Operator
) -> None:
    when = (datetime.now(ZONE) + timedelta(days=3)).replace(
        hour=10, minute=30, second=0, microsecond=0
    )
    post = server.schedule(alice, when, caption="Drag me to another day")
    page = log_in(context, alice)
    page.goto(f"/calendar?view=month&date={when.date().isoformat()}")
    card = page.locator(f".cal-post[data-post-id='{post['id']}']")
    expect(card).to_be_visible()
    target_day = pick_shown_day(page, when.date())
    card.drag_to(page.locator(f"[data-date='{target_day.isoformat()}']").first)

    moved = card_on(page, target_day, post["id"])
    expect(moved).to_have_count(1)
    eventually(lambda: local(server.post(alice, post["id"])["publish_at"]).date() == target_day)
    stored = local(server.post(alice, post["id"])["publish_at"])
    assert (stored.hour, stored.minute) == (10, 30), "the drag kept the time of day"

    past = [day for day in shown_days(page) if day < datetime.now(ZONE).date()]
    if past:  # the month's grid shows a day gone by (always, but on a Monday the 1st)
        card.drag_to(page.locator(f"[data-date='{past[-1].isoformat()}']").first)
        expect(page.locator("#cal-message")).to_have_class(re.compile("cal-error"))
        expect(card_on(page, target_day, post["id"])).to_have_count(1)  # it went back
        assert local(server.post(alice, post["id"])["publish_at"]) == stored


def test_dragging_a_post_to_another_hour_in_the_week_view_moves_it_there_keeping_its_minutes(
    context: BrowserContext, server: DashboardServer, alice: Operator
) -> None:
    when = (datetime.now(ZONE) + timedelta(days=3)).replace(
        hour=8, minute=15, second=0, microsecond=0
    )
    post = server.schedule(alice, when, caption="Drag me to another hour")
    page = log_in(context, alice)
    page.goto(f"/calendar?view=week&date={when.date().isoformat()}")
    overflowing = page.locator(".cal-week .cal-date").evaluate_all(
        "heads => heads.filter(head => head.scrollWidth > head.clientWidth).length"
    )
    assert page.viewport_size and page.viewport_size["width"] >= 1280
    assert overflowing == 0, "a day's heading is wider than its column"
    card = page.locator(f".cal-post[data-post-id='{post['id']}']")
    home = page.locator(f"[data-slot='{when.date().isoformat()}T08:00']")
    expect(home.locator(".cal-post")).to_have_count(1)
    target_day = when.date() + timedelta(days=1 if when.weekday() < 6 else -1)  # same week
    slot = page.locator(f"[data-slot='{target_day.isoformat()}T14:00']")
    home.evaluate("slot => slot.scrollIntoView({block: 'start'})")  # both in view: no scroll
    card.drag_to(slot)  # while dragging

    expect(slot.locator(f".cal-post[data-post-id='{post['id']}']")).to_have_count(1)
    expect(card.locator(".cal-time")).to_have_text("14:15")
    expect(page.locator("#cal-message")).not_to_have_class(re.compile("cal-error"))
    wanted = datetime.combine(target_day, when.time(), ZONE).replace(hour=14)
    eventually(lambda: local(server.post(alice, post["id"])["publish_at"]) == wanted)


def shown_days(page: Page) -> list[date]:
    texts = page.locator(".cal-day[data-date]").evaluate_all(
        "days => days.map(day => day.dataset.date)"
    )
    return sorted(date.fromisoformat(text) for text in texts)


def pick_shown_day(page: Page, day: date) -> date:
    """A day next to `day` that the page shows (the month's edge may hide one of them), not
    in the past."""
    for candidate in (day + timedelta(days=1), day - timedelta(days=1)):
        if page.locator(f"[data-date='{candidate.isoformat()}']").count():
            return candidate
    raise AssertionError(f"the calendar shows neither neighbour of {day}")


def card_on(page: Page, day: date, post_id: int) -> Any:
    return page.locator(f"[data-date='{day.isoformat()}'] .cal-post[data-post-id='{post_id}']")


def test_a_failed_post_is_retried_from_its_page(
    context: BrowserContext, server: DashboardServer, alice: Operator, screenshots: Path
) -> None:
    server.fail_media_urls("e2e-refused")
    try:
        post = server.schedule(
            alice,
            datetime.now(ZONE),
            caption="Instagram refuses this one",
            url="https://example.com/e2e-refused/photo.jpg",
        )
        failed = server.wait_for_status(alice, post["id"], "failed")
    finally:
        server.fail_media_urls()  # the retry is to work
    assert failed["error"]["subcode"] == 2207026

    page = log_in(context, alice)
    page.goto(f"/posts/{post['id']}")
    expect(page.locator("main")).to_contain_text("2207026")  # Instagram's code, in plain words
    page.goto("/queue?status=failed")
    row = page.locator(f"tr#post-{post['id']}")
    expect(row.locator(".error-cell")).to_contain_text("2207026")

    page.goto(f"/posts/{post['id']}")
    Answers(page, yes=True)
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("#post-status")).not_to_have_text("failed")
    published = server.wait_for_status(alice, post["id"], "published")
    assert published["error"] is None


def test_cancelling_asks_first_and_only_a_yes_cancels(
    context: BrowserContext, server: DashboardServer, alice: Operator
) -> None:
    when = datetime.now(ZONE) + timedelta(days=5)
    post = server.schedule(alice, when, caption="Cancel me")
    page = log_in(context, alice)
    page.goto(f"/posts/{post['id']}")

    answers = Answers(page, yes=False)
    page.get_by_role("button", name="Cancel post").click()
    page.wait_for_timeout(300)  # a refused confirm sends nothing: nothing to wait for
    assert answers.asked, "Cancel post did not ask first"
    assert page.url.endswith(f"/posts/{post['id']}")
    assert server.post(alice, post["id"])["status"] == "scheduled"

    answers.yes = True
    page.get_by_role("button", name="Cancel post").click()
    expect(page.locator(".flash")).to_be_visible()
    assert len(answers.asked) == 2
    cancelled = server.api("GET", "/posts/?status=cancelled", alice)
    assert post["id"] in [found["id"] for found in cancelled]


def test_after_logging_out_another_user_sees_none_of_it(
    context: BrowserContext,
    browser_context_factory: Callable[[], BrowserContext],
    server: DashboardServer,
    alice: Operator,
    bob: Operator,
    screenshots: Path,
) -> None:
    post = server.schedule(alice, datetime.now(ZONE) + timedelta(days=1), caption="Alice only")
    page = log_in(context, alice)
    page.goto("/accounts")
    expect(page.locator(f"#account-{alice.account}")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/queue")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fqueue"))

    other = log_in(browser_context_factory(), bob)
    alices = [p["id"] for p in server.api("GET", "/posts/?status=" + ALL_STATUSES, alice)]
    assert post["id"] in alices
    for path in ("/queue", "/calendar?view=month", "/accounts"):
        other.goto(path)
        html = other.content()
        for post_id in alices:
            assert f'id="post-{post_id}"' not in html, path
            assert f'data-post-id="{post_id}"' not in html, path
        assert alice.account not in html, path
    answer = other.goto(f"/posts/{post['id']}")
    assert answer is not None and answer.status == 404


ALL_STATUSES = "scheduled,processing,ready,published,failed,cancelled"


def test_a_form_without_the_csrf_token_is_refused(
    context: BrowserContext, server: DashboardServer, alice: Operator
) -> None:
    post = server.schedule(alice, datetime.now(ZONE) + timedelta(days=6), caption="Keep me")
    page = log_in(context, alice)
    page.goto("/queue")
    with page.expect_navigation() as sent:
        page.evaluate(
            """(target) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = target;
                document.body.appendChild(form);
                form.submit();
            }""",
            f"/posts/{post['id']}/cancel",
        )
    answer = sent.value
    assert answer is not None and answer.status == 403
    expect(page.locator("main")).to_contain_text("CSRF")
    assert server.post(alice, post["id"])["status"] == "scheduled"

    fetched = page.evaluate(
        """async () => (await fetch("/logout", {method: "POST", body: new URLSearchParams()}))
            .status"""
    )
    assert fetched == 403
    page.goto("/queue")
    expect(page).to_have_url(re.compile(r"/queue"))  # still logged in


def test_behind_a_trusted_proxy_over_https_the_cookies_are_secure(
    server: DashboardServer, alice: Operator
) -> None:
    """serve trusts a proxy on the same machine (--forwarded-allow-ips' default): its
    X-Forwarded-Proto: https makes the cookies Secure; plain HTTP leaves them without."""
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    form = requests.get(f"{server.url}/login", headers=proxied, timeout=10)
    login_cookie = form.headers["set-cookie"]
    assert re.search(r"HttpOnly.*SameSite=strict; Secure", login_cookie), login_cookie
    token = found(r'name="csrf_token" value="([^"]+)"', form.text)
    answer = requests.post(
        f"{server.url}/login",
        data={"username": alice.name, "password": alice.password, "csrf_token": token},
        headers={**proxied, "Cookie": f"igautopost_login={token}"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    session = [c for c in answer.raw.headers.getlist("set-cookie") if "igautopost_session=" in c]
    assert session and "HttpOnly" in session[0] and "Secure" in session[0], session
    plain = requests.get(f"{server.url}/login", timeout=10).headers["set-cookie"]
    assert "Secure" not in plain and "HttpOnly" in plain


def test_the_pages_fit_a_phone(
    browser_context_factory: Callable[..., BrowserContext],
    server: DashboardServer,
    alice: Operator,
) -> None:
    post = server.schedule(alice, datetime.now(ZONE) + timedelta(days=2), caption="On a phone")
    phone = browser_context_factory(viewport=PHONE, is_mobile=True, has_touch=True)
    page = log_in(phone, alice)
    pages = ["/queue", "/calendar?view=week", "/calendar?view=month", "/accounts"]
    for path in [*pages, "/posts/new", f"/posts/{post['id']}"]:
        page.goto(path)
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wider <= 1, f"{path} is {wider} px wider than the phone's screen"


CONTRAST_CHECK = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button")]
  .filter((control) => control.offsetParent !== null)
  .filter((control) => !(control.labels && control.labels.length)
    && !control.getAttribute("aria-label") && !control.getAttribute("aria-labelledby")
    && !(control.tagName === "BUTTON" && control.textContent.trim()))
  .map((control) => control.outerHTML.slice(0, 100))"""


def test_every_page_has_labelled_controls_readable_text_and_a_skip_link(
    context: BrowserContext, server: DashboardServer, alice: Operator
) -> None:
    """Accessible (the issue): each control has a name, each text WCAG AA contrast, and the
    keyboard's first stop is "Skip to content"."""
    post = server.schedule(alice, datetime.now(ZONE) + timedelta(days=2), caption="Contrast")
    page = log_in(context, alice)
    pages = ["/calendar?view=week", "/calendar?view=month", "/queue", "/accounts"]
    for path in [*pages, "/posts/new", f"/posts/{post['id']}"]:
        page.goto(path)
        assert page.evaluate(UNLABELLED_CONTROLS) == [], path
        assert page.evaluate(CONTRAST_CHECK) == [], path
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content", path

    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', "
        "'<p style=\"color: #aaa\">faint</p>')"
    )
    assert [problem for problem in page.evaluate(CONTRAST_CHECK) if "faint" in problem]


# -- the pictures of docs/dashboard.md ------------------------------------------------------

BAKERY = "17841400000000003"  # alice's second account, whose token the sandbox revokes
SHOWN_CAPTIONS = [
    "Fresh sourdough, out at 7 #bakery #sourdough",
    "Harbour at dawn @harbour.cafe",
    "New seasonal menu #autumn",
    "Behind the counter with @maria.bakes",
    "Weekend brunch is back #brunch",
    "Latte art Thursday #coffee",
    "Rainy day, warm soup",
    "Thank you for 10k! #community",
]


def test_each_view_photographed_with_a_week_of_posts(
    browser_context_factory: Callable[..., BrowserContext],
    server: DashboardServer,
    alice: Operator,
    screenshots: Path,
) -> None:
    """The pictures docs/dashboard.md shows, of a week with posts of two accounts: thumbnails
    of uploaded photos, a published post, a failed one and an account that needs
    reconnecting. They are taken last, over what the tests above left too."""
    server.connect(alice, alice.account, "harbour.cafe")
    server.connect(alice, BAKERY, "harbour.bakery")
    server.revoke(BAKERY)
    today = datetime.now(ZONE).replace(second=0, microsecond=0)
    for number, caption in enumerate(SHOWN_CAPTIONS):
        day = today.date() + timedelta(days=1 + number % 6)
        when = datetime.combine(day, today.time(), ZONE).replace(
            hour=(8, 12, 18)[number % 3], minute=30
        )
        server.upload(alice, when, caption=caption, picture=picture(number * 31 % 256))
    server.fail_media_urls("not-a-jpeg")
    try:
        failed = server.schedule(
            alice,
            datetime.now(ZONE),
            caption="Poster for Friday",
            url="https://example.com/not-a-jpeg/p.jpg",
        )
        server.wait_for_status(alice, failed["id"], "failed")
    finally:
        server.fail_media_urls()
    waiting = server.schedule(alice, datetime.now(ZONE), caption="Open on Sunday", account=BAKERY)
    eventually(lambda: needs_reconnect(server, alice, BAKERY))
    assert server.post(alice, waiting["id"])["status"] != "published"

    page = log_in(browser_context_factory(), alice)
    page.goto(f"/calendar?view=week&date={(today + timedelta(days=3)).date().isoformat()}")
    expect(page.locator(".cal-post img").first).to_be_visible()
    shoot(page, screenshots, "calendar-week")
    page.goto(f"/calendar?view=month&date={today.date().isoformat()}")
    shoot(page, screenshots, "calendar-month")
    page.goto("/queue")
    shoot(page, screenshots, "queue")
    page.goto("/accounts")
    shoot(page, screenshots, "accounts")
    page.goto(f"/posts/{failed['id']}")
    expect(page.locator("#post-error")).to_be_visible()
    shoot(page, screenshots, "post-detail")

    phone = log_in(browser_context_factory(viewport=PHONE, is_mobile=True, has_touch=True), alice)
    phone.goto(f"/calendar?view=week&date={(today + timedelta(days=3)).date().isoformat()}")
    shoot(phone, screenshots, "phone")


def needs_reconnect(server: DashboardServer, operator: Operator, account: str) -> bool:
    accounts = server.api("GET", "/accounts/", operator)
    return any(a["ig_user_id"] == account and a["health"] != "ok" for a in accounts)
