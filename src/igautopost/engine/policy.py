"""The engine's timing rules as frozen values: pure functions of their inputs, no clock inside.

- `LeadTimes`: how long before `publish_at` the container is created (video needs processing;
  a container lives 24 h, so every lead stays well inside that).
- `PollPolicy`: growing intervals between container status polls.
- `RetryPolicy`: exponential backoff with jitter for transient errors, bounded by a maximum
  lateness after which the post fails as missed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..models import MediaType, PostSpec

MAX_LEAD = timedelta(hours=20)  # a container expires 24 h after creation


@dataclass(frozen=True)
class LeadTimes:
    image: timedelta = timedelta(minutes=2)
    video: timedelta = timedelta(minutes=30)  # reels, video stories, carousels with a video
    carousel: timedelta = timedelta(minutes=5)  # carousels of images only

    def lead_for(self, spec: PostSpec) -> timedelta:
        if spec.prepare_ahead is not None:
            return timedelta(seconds=spec.prepare_ahead)
        if spec.media_type is MediaType.CAROUSEL:
            has_video = any(child.item_kind == "video" for child in spec.children)
            return self.video if has_video else self.carousel
        return self.video if spec.is_video else self.image

    def prepare_at(self, spec: PostSpec) -> datetime:
        return spec.publish_at - min(self.lead_for(spec), MAX_LEAD)


@dataclass(frozen=True)
class PollPolicy:
    """Poll n waits ``first * growth**n``, capped at ``longest``; never past the publish time,
    and at most ``late_longest`` once the post is late (it publishes as soon as it is ready)."""

    image_first: timedelta = timedelta(seconds=1)
    video_first: timedelta = timedelta(seconds=10)
    growth: float = 1.5
    longest: timedelta = timedelta(minutes=2)
    late_longest: timedelta = timedelta(seconds=5)

    def next_poll(
        self, polls_done: int, *, video: bool, now: datetime, publish_at: datetime
    ) -> datetime:
        wait = self.interval(polls_done, video=video)
        if now < publish_at:
            return min(now + wait, publish_at)
        return now + min(wait, self.late_longest)

    def interval(self, polls_done: int, *, video: bool) -> timedelta:
        first = self.video_first if video else self.image_first
        seconds = first.total_seconds() * self.growth ** min(polls_done, 30)
        # Capped as a float: a timedelta of the uncapped value can overflow.
        return timedelta(seconds=min(seconds, self.longest.total_seconds()))


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (from 1) waits ``base * 2**(n-1)`` capped at ``longest``, +-``jitter`` of it."""

    base: timedelta = timedelta(seconds=2)
    longest: timedelta = timedelta(minutes=5)
    jitter: float = 0.2
    max_lateness: timedelta = timedelta(hours=1)  # past publish_at + this, the post is missed
    new_container_attempts: int = 3  # containers created for one post before giving up
    # A container that failed to fetch its media is replaced after this, doubling each time:
    # the media host usually needs minutes, not seconds, to recover.
    new_container_backoff: timedelta = timedelta(minutes=1)

    def delay_for(self, attempt: int, rng: random.Random) -> timedelta:
        # The exponent is bounded: 2 ** 1024 does not fit in a float (the cap applies long before).
        seconds = min(
            self.base.total_seconds() * 2.0 ** min(max(attempt - 1, 0), 64),
            self.longest.total_seconds(),
        )
        spread = seconds * self.jitter
        return timedelta(seconds=max(seconds + rng.uniform(-spread, spread), 0.1))

    def container_delay(self, containers_created: int) -> timedelta:
        return self.new_container_backoff * (1 << min(max(containers_created - 1, 0), 10))

    def deadline(self, publish_at: datetime) -> datetime:
        return publish_at + self.max_lateness


@dataclass(frozen=True)
class EnginePolicy:
    leads: LeadTimes = field(default_factory=LeadTimes)
    polls: PollPolicy = field(default_factory=PollPolicy)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    # A claim's lease, renewed every third of it while the step runs: a dead worker's posts
    # are taken over after at most this (see leases.py).
    lease: timedelta = timedelta(seconds=10)
    # A step still running this long after its claim is no longer renewed, and sends no
    # publish call: another worker takes the post over.
    step_limit: timedelta = timedelta(minutes=5)
    quota_cache: timedelta = timedelta(minutes=5)
    quota_default: int = 50  # when the API's answer cannot be read
    # The permalink and first comment are read and posted this long after publishing, so
    # that they do not compete with other posts due in the same second.
    follow_up_delay: timedelta = timedelta(seconds=5)
    # A ready post is claimed this long before its publish time, and its step waits for
    # the mark with everything else done: the publish call leaves on the second instead of
    # after the claim and the step's own work (see docs/engine.md).
    publish_ahead: timedelta = timedelta(milliseconds=500)
    # A burst takes longer than that to prepare (1-3 ms of Python per post, under the GIL):
    # with many posts due soon, they are claimed earlier, by this much per post due within
    # `burst_ahead`, and at most `burst_ahead` before their time (see `claim_ahead`).
    prepare_cost: timedelta = timedelta(milliseconds=3)
    burst_ahead: timedelta = timedelta(seconds=10)
    # How long a media host's URL for an image from a local file stays valid: Instagram
    # fetches it during the create call and the container's processing (seconds, a few
    # minutes at worst); a new container gets a new URL (see engine/media.py).
    media_url_life: timedelta = timedelta(hours=1)

    def claim_ahead(self, due_soon: int) -> timedelta:
        """How long before its publish time a ready post is claimed when `due_soon` posts
        are due within `burst_ahead`: `publish_ahead`, plus the time to prepare each of
        them, so that every call of a burst is ready when its second comes."""
        wanted = self.publish_ahead + due_soon * self.prepare_cost
        return max(self.publish_ahead, min(wanted, self.burst_ahead))


DEFAULT_POLICY = EnginePolicy()
