"""Operations on posts that the CLI, the HTTP API and library users share.

Each takes the store and the current time explicitly; none reads a clock. The zone times
without an offset are read in is an argument too; only when it is not given is the
environment's (`igautopost.zones.default_zone`) used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from .engine.policy import LeadTimes
from .errors import InvalidPost, InvalidTransition, PostChanged, Problem
from .media_intake import local_files_refused
from .models import Post, PostSpec, Status
from .storage.protocols import PendingPosts, Store
from .validation import check_post, check_publish_at, parse_post
from .zones import default_zone

if TYPE_CHECKING:
    from .media_intake import BaseDir, MediaIntake
    from .stored_posts import StoredPosts

DUPLICATE_WINDOW = timedelta(hours=1)
LOOKUP_BATCH = 1000  # posts whose near duplicates one query looks up
CONTAINER_USABLE = timedelta(hours=23, minutes=50)  # a container expires 24 h after creation
DEFAULT_LEADS = LeadTimes()
EDITABLE = frozenset({Status.SCHEDULED, Status.PROCESSING, Status.READY, Status.FAILED})


@dataclass(frozen=True)
class ScheduleResult:
    """What `schedule` did: posts stored now, posts already stored under the same client key,
    warnings (e.g. a likely duplicate of a scheduled post), and the media items that could
    not be checked (a network failure, a timeout: not a reason to refuse the post)."""

    # A bulk schedule (`bulk.schedule_stream`) reads its posts back when wanted: a file of
    # 170,000 posts run again holds 170,000 ids, not 170,000 posts (issue 14).
    created: list[Post] | StoredPosts = field(default_factory=list)
    existing: list[Post] | StoredPosts = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    media_unchecked: list[Problem] = field(default_factory=list)


def parse_posts(
    items: Iterable[Any], *, now: datetime, zone: tzinfo | None = None
) -> list[PostSpec]:
    """Parse and check every item; raise one `InvalidPost` naming every problem of every item.
    A post without `timezone` takes `zone` (default: `default_zone()`), and its times
    without an offset are read in it."""
    return list(checked_posts(items, now=now, zone=zone))


def checked_posts(
    items: Iterable[Any], *, now: datetime, zone: tzinfo | None = None
) -> Iterator[PostSpec]:
    """`parse_posts` one item at a time: each valid post as it is read (until the first
    problem: then none will be stored), and at the end one `InvalidPost` naming every
    problem of every item. The items may come from a stream; none is kept once parsed."""
    reader_zone = zone if zone is not None else default_zone()
    problems: list[Problem] = []
    for index, item in enumerate(items):
        if isinstance(item, PostSpec):
            found = check_post(item, now=now)
            problems.extend(Problem(p.field, p.message, index) for p in found)
            if not problems:
                yield item
            continue
        try:
            spec = parse_post(item, now=now, index=index, zone=reader_zone)
        except InvalidPost as exc:
            problems.extend(exc.problems)
            continue
        if not problems:
            yield spec  # after a problem, nothing will be stored: only the others are wanted
    if problems:
        raise InvalidPost(problems)


NO_ACCOUNT = (
    "is missing and account {account} is not stored: a post is published with its own "
    "token or its stored account's; add the account first (or allow a missing account "
    "explicitly, to add it before the post is due)"
)


def missing_accounts(store: Store, specs: list[PostSpec], owner_id: int | None) -> list[Problem]:
    """A problem for each post that has no token and whose account is not stored: it could
    only fail at its publish time. Each account is looked up once; one that another post of
    the batch brings a token for will be stored with it (`attach_tokens`)."""
    known = {spec.account: True for spec in specs if spec.token_value() is not None}
    problems: list[Problem] = []
    for index, spec in enumerate(specs):
        if spec.token_value() is not None:
            continue
        if spec.account not in known:
            known[spec.account] = store.accounts.find(owner_id, spec.account) is not None
        if not known[spec.account]:
            problems.append(Problem("access_token", NO_ACCOUNT.format(account=spec.account), index))
    return problems


def schedule(
    store: Store,
    items: Iterable[Any],
    *,
    now: datetime,
    owner_id: int | None = None,
    leads: LeadTimes = DEFAULT_LEADS,
    zone: tzinfo | None = None,
    allow_missing_account: bool = False,
    media: MediaIntake | None = None,
    base_dir: BaseDir | None = None,
) -> ScheduleResult:
    """Validate every post, then store all of them or none.

    `media` checks every post's media (when it has a checker) and takes local files in: a
    post's ``media_path`` is read relative to `base_dir` (default: the working directory),
    checked, and copied into the media store (`igautopost.media_intake`). Without it, a post
    naming a local file is refused: stored, it could never be published.

    A post without `timezone` takes `zone` (default: `default_zone()`). A post with no
    token whose account is not stored is refused (`InvalidPost` on ``access_token``)
    unless `allow_missing_account`: the account must then be added before the post is due.
    A post whose client key is already stored for its account is not stored again: it comes
    back in `existing`. A post that looks like one already scheduled (same account, media and
    caption within an hour) is stored with a warning, since double posting gets accounts flagged.
    """
    specs = parse_posts(items, now=now, zone=zone)
    return schedule_parsed(
        store,
        specs,
        now=now,
        owner_id=owner_id,
        leads=leads,
        allow_missing_account=allow_missing_account,
        media=media,
        base_dir=base_dir,
    )


def schedule_parsed(
    store: Store,
    specs: list[PostSpec],
    *,
    now: datetime,
    owner_id: int | None = None,
    leads: LeadTimes = DEFAULT_LEADS,
    allow_missing_account: bool = False,
    media: MediaIntake | None = None,
    base_dir: BaseDir | None = None,
) -> ScheduleResult:
    """`schedule` of posts that `parse_posts` returned for the same `now`: they are not
    checked again. The API parses a post itself, to name its fields in errors the way the
    client named them; checking it twice cost a POST about 100 us (docs/benchmarks.md)."""
    return plan_schedule(
        store,
        specs,
        now=now,
        owner_id=owner_id,
        leads=leads,
        allow_missing_account=allow_missing_account,
        media=media,
        base_dir=base_dir,
    ).store_posts()


@dataclass
class SchedulePlan:
    """What `schedule` will store, worked out by `plan_schedule`: every read is done, the
    write is `store_posts`. Between the two another writer may store a post with the same
    client key; `store_posts` then refuses it (`InvalidPost` on ``client_key``)."""

    store: Store
    fresh: PendingPosts
    existing: list[Post]
    warnings: list[str]
    unchecked: list[Problem]

    def store_posts(self) -> ScheduleResult:
        created = self.fresh.store()
        return ScheduleResult(
            created=created,
            existing=self.existing,
            warnings=self.warnings,
            media_unchecked=self.unchecked,
        )


def plan_schedule(
    store: Store,
    specs: list[PostSpec],
    *,
    now: datetime,
    owner_id: int | None = None,
    leads: LeadTimes = DEFAULT_LEADS,
    allow_missing_account: bool = False,
    media: MediaIntake | None = None,
    base_dir: BaseDir | None = None,
) -> SchedulePlan:
    """`schedule_parsed` up to its write: the checks that read the store (accounts, client
    keys, near duplicates), an account stored for a post's token if it had none. The API's
    writer thread plans the POSTs queued together before it takes the write gate, which
    then stays held only for their inserts (`api.writer`)."""
    unchecked: list[Problem] = []
    if media is None:
        problems = local_files_refused(specs)
    else:
        intake = media.take(specs, base_dir=base_dir)
        problems, unchecked = intake.problems, intake.unchecked
        specs = intake.specs or specs
    if not allow_missing_account:
        problems.extend(missing_accounts(store, specs, owner_id))
    if problems:
        raise InvalidPost(sorted(problems, key=lambda problem: problem.index or 0))
    fresh, existing = _split_known(store, specs, owner_id)
    warnings = _duplicate_warnings(store, fresh)
    pending = store.prepare_add(
        fresh,
        now=now,
        owner_id=owner_id,
        prepare_at=[leads.prepare_at(s) for s in fresh],
        ciphertexts=attach_tokens(store, fresh, owner_id, now),
    )
    return SchedulePlan(store, pending, existing, warnings, unchecked)


def attach_tokens(
    store: Store, specs: Iterable[PostSpec], owner_id: int | None, now: datetime
) -> dict[str, str]:
    """The old form (a token on each post): the owner gets an account record for the
    account if it had none, with that token. A post's token never replaces an account's
    stored token; the post itself is published with its own. Returns the ciphertexts
    already stored for these tokens, which the posts' rows may reuse."""
    pairs = [(owner_id, s.account, t) for s in specs if (t := s.token_value()) is not None]
    return store.accounts.attach(pairs, now=now) if pairs else {}


def cancel(store: Store, post_id: int, *, now: datetime, owner_id: int | None = None) -> Post:
    """Unschedule a post. Cancelling a cancelled post changes nothing; a published one cannot be."""
    post = store.get(post_id, owner_id=owner_id)
    if post.status is Status.CANCELLED:
        return post
    check_editable(post, now=now)
    return store.transition(
        post_id,
        Status.CANCELLED,
        now=now,
        detail="cancelled",
        expect=EDITABLE,
        check=lambda current: check_editable(current, now=now),
    )


def reschedule(
    store: Store,
    post_id: int,
    publish_at: datetime,
    *,
    now: datetime,
    owner_id: int | None = None,
    leads: LeadTimes = DEFAULT_LEADS,
) -> Post:
    """Move a post to a new publish time. A failed post is scheduled again.

    A container already prepared is kept while it stays valid; the engine checks its age
    before publishing and prepares a new one when needed.
    """

    def change() -> Post:
        post = store.get(post_id, owner_id=owner_id)
        check_editable(post, now=now)
        problems = check_publish_at(publish_at, now=now)
        if problems:
            raise InvalidPost(problems)
        spec = post.spec.model_copy(update={"publish_at": publish_at})
        to = Status.SCHEDULED if post.status is Status.FAILED else post.status
        next_at = _next_step(post, spec, leads)
        if post.status is Status.FAILED and may_be_published(post):
            to, next_at = Status.PROCESSING, now  # ask Instagram about its container first
        return store.transition(
            post_id,
            to,
            now=now,
            detail=f"rescheduled from {post.publish_at.isoformat()} to {publish_at.isoformat()}",
            expect=EDITABLE,
            changes={
                "spec": spec,
                "next_attempt_at": next_at,
                "error_message": None,
                "error_code": None,
                "error_subcode": None,
            },
            check=unchanged_since(post, now=now),
        )

    return replanned(change)


def check_editable(post: Post, *, now: datetime) -> None:
    """Raise `InvalidTransition` unless the user may still change or cancel the post."""
    if post.status is Status.PUBLISHED:
        raise InvalidTransition(f"post {post.id} is already published; change it on Instagram")
    if post.status not in EDITABLE:
        raise InvalidTransition(f"post {post.id} is {post.status}")
    if post.publish_attempted_at is not None and post.status is not Status.FAILED:
        raise InvalidTransition(
            f"post {post.id} is being published (a publish call may have gone through); "
            "try again in a minute"
        )
    leased = post.lease_until is not None and post.lease_until > now
    if leased and post.status is Status.READY and now >= post.publish_at:
        raise InvalidTransition(f"post {post.id} is being published right now")


def may_be_published(post: Post) -> bool:
    """A publish call for the post's container may have gone through (its answer was lost,
    or the worker died): the container must be asked about before it is replaced."""
    return post.publish_attempted_at is not None and post.container_id is not None


def unchanged_since(read: Post, *, now: datetime) -> Callable[[Post], None]:
    """The check a user's change makes inside its write, on the post as stored then: it
    may still be changed, and nothing the change was planned on has moved since it was
    read (a worker claimed it, stored a publish attempt or a container; another edit)."""

    def check(current: Post) -> None:
        check_editable(current, now=now)
        if _planned_on(current) != _planned_on(read):
            raise PostChanged(read.id)

    return check


def replanned(change: Callable[[], Post], *, tries: int = 3) -> Post:
    """Run `change` (read, plan, write with `unchanged_since`), reading again when the post
    changed under it; a post that keeps changing is refused (`PostChanged`)."""
    for _ in range(tries - 1):
        try:
            return change()
        except PostChanged:
            continue
    return change()


def _planned_on(post: Post) -> tuple[object, ...]:
    return (
        post.status,
        post.spec,
        post.container_id,
        tuple(post.child_container_ids),
        post.container_created_at,
        post.publish_attempted_at,
    )


def _next_step(post: Post, spec: PostSpec, leads: LeadTimes) -> datetime:
    """A ready post waits for its new publish time; others prepare ahead of it."""
    if post.status is Status.READY:
        if (
            post.container_created_at
            and spec.publish_at > post.container_created_at + CONTAINER_USABLE
        ):
            return leads.prepare_at(spec)  # the container will be too old: prepare ahead again
        return spec.publish_at
    if post.status is Status.PROCESSING:
        return post.next_attempt_at or spec.publish_at  # keep polling the container
    return leads.prepare_at(spec)


def _split_known(
    store: Store, specs: list[PostSpec], owner_id: int | None
) -> tuple[list[PostSpec], list[Post]]:
    keyed: dict[str, set[str]] = {}
    for spec in specs:
        if spec.client_key is not None:
            keyed.setdefault(spec.account, set()).add(spec.client_key)
    known = {
        (account, key): post_id
        for account, keys in keyed.items()
        for key, post_id in store.client_keys(account, keys, owner_id=owner_id).items()
    }
    fresh: list[PostSpec] = []
    existing: list[Post] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        ident = (spec.account, spec.client_key) if spec.client_key is not None else None
        if ident is not None and ident in known:
            existing.append(store.get(known[ident], owner_id=owner_id))
        elif ident is not None and ident in seen:
            raise InvalidPost(
                [Problem("client_key", f"{spec.client_key!r} appears twice in the input")]
            )
        else:
            if ident is not None:
                seen.add(ident)
            fresh.append(spec)
    return fresh, existing


def _duplicate_warnings(store: Store, specs: list[PostSpec]) -> list[str]:
    """The near-duplicate warnings of `specs`, looked up `LOOKUP_BATCH` posts at a time: a
    bulk file's fingerprints would not fit in one statement."""
    warnings: list[str] = []
    for start in range(0, len(specs), LOOKUP_BATCH):
        warnings.extend(_warnings_of_batch(store, specs[start : start + LOOKUP_BATCH]))
    return warnings


def _warnings_of_batch(store: Store, specs: list[PostSpec]) -> list[str]:
    """One indexed lookup per account over the batch's time span: only stored posts with the
    same content fingerprint come back, however many others share the hour."""
    warnings = []
    by_account: dict[str, list[tuple[PostSpec, str]]] = {}
    for spec in specs:
        by_account.setdefault(spec.account, []).append((spec, spec.content_fingerprint()))
    for account, group in by_account.items():
        start = min(s.publish_at for s, _ in group) - DUPLICATE_WINDOW
        end = max(s.publish_at for s, _ in group) + DUPLICATE_WINDOW
        stored: dict[str, list[tuple[int, datetime]]] = {}
        fingerprints = {fingerprint for _, fingerprint in group}
        # One post (the API, a single file): any match in its window is the answer, however
        # many copies of it the hour holds.
        limit = 1 if len(group) == 1 else None
        for post_id, publish_at, fingerprint in store.similar_posts(
            account, fingerprints, start, end, limit=limit
        ):
            stored.setdefault(fingerprint, []).append((post_id, publish_at))
        for spec, fingerprint in group:
            for other_id, other_at in stored.get(fingerprint, []):
                if abs(other_at - spec.publish_at) <= DUPLICATE_WINDOW:
                    warnings.append(
                        f"account {account}: post {other_id} with the same media and caption is "
                        f"already scheduled within an hour of this one ({other_at.isoformat()})"
                    )
                    break
    return warnings


def retry(store: Store, post_id: int, *, now: datetime, owner_id: int | None = None) -> Post:
    """Put a failed post back to scheduled, to be tried again now.

    A publish time already past moves to now, so the post gets a full retry window. A post
    whose publish attempt may have gone through keeps its container and goes to processing:
    the engine asks Instagram about that container first, so a retry cannot publish twice.
    """

    def change() -> Post:
        post = store.get(post_id, owner_id=owner_id)
        if post.status is not Status.FAILED:
            raise InvalidTransition(
                f"post {post_id} is {post.status}; only failed posts can be retried"
            )
        spec = post.spec
        if spec.publish_at < now:
            spec = spec.model_copy(update={"publish_at": now})
        return store.transition(
            post_id,
            Status.PROCESSING if may_be_published(post) else Status.SCHEDULED,
            now=now,
            detail="retry requested",
            expect=frozenset({Status.FAILED}),
            check=unchanged_since(post, now=now),
            changes={
                "spec": spec,
                "next_attempt_at": now,
                "attempts": 0,
                "containers_created": 0,
                "error_message": None,
                "error_code": None,
                "error_subcode": None,
            },
        )

    return replanned(change)
