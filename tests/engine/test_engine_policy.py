"""Properties of the engine's timing rules (pure functions of frozen policies)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from igautopost.engine.policy import MAX_LEAD, LeadTimes, PollPolicy, RetryPolicy
from igautopost.models import PostSpec

seconds = st.floats(min_value=0.0, max_value=3600.0, allow_nan=False)
attempts = st.integers(min_value=1, max_value=5000)
jitters = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32)
FLOOR = 0.1  # delay_for never answers less than 0.1 s
EPSILON = 1e-5  # timedelta keeps microseconds


def nominal(policy: RetryPolicy, attempt: int) -> float:
    growth = 2.0 ** min(attempt - 1, 1000)
    return min(policy.base.total_seconds() * growth, policy.longest.total_seconds())


@given(base=seconds, longest=seconds, jitter=jitters, attempt=attempts, seed=seeds)
def test_retry_delay_is_within_the_jitter_bounds_and_capped(
    base: float, longest: float, jitter: float, attempt: int, seed: int
) -> None:
    policy = RetryPolicy(
        base=timedelta(seconds=base), longest=timedelta(seconds=longest), jitter=jitter
    )
    delay = policy.delay_for(attempt, random.Random(seed)).total_seconds()
    middle = nominal(policy, attempt)
    assert max(middle * (1 - jitter), FLOOR) - EPSILON <= delay
    assert delay <= max(middle * (1 + jitter), FLOOR) + EPSILON
    assert delay <= max(longest * (1 + jitter), FLOOR) + EPSILON


@given(small=seconds, extra=seconds, longest=seconds, jitter=jitters, attempt=attempts, seed=seeds)
def test_retry_delay_does_not_decrease_with_the_base(
    small: float, extra: float, longest: float, jitter: float, attempt: int, seed: int
) -> None:
    def delay(base: float) -> timedelta:
        policy = RetryPolicy(
            base=timedelta(seconds=base), longest=timedelta(seconds=longest), jitter=jitter
        )
        return policy.delay_for(attempt, random.Random(seed))

    assert delay(small) <= delay(small + extra)


@given(attempt=attempts, seed=seeds)
def test_retry_delay_does_not_decrease_with_the_attempt_for_the_same_draw(
    attempt: int, seed: int
) -> None:
    policy = RetryPolicy()
    first = policy.delay_for(attempt, random.Random(seed))
    assert first <= policy.delay_for(attempt + 1, random.Random(seed))


@given(
    first=st.floats(min_value=0.0, max_value=600.0, allow_nan=False),
    growth=st.floats(min_value=1.0, max_value=10.0, allow_nan=False),
    longest=st.floats(min_value=0.0, max_value=3600.0, allow_nan=False),
    polls=st.integers(min_value=0, max_value=10_000),
    video=st.booleans(),
)
def test_poll_interval_grows_and_is_capped(
    first: float, growth: float, longest: float, polls: int, video: bool
) -> None:
    policy = PollPolicy(
        image_first=timedelta(seconds=first),
        video_first=timedelta(seconds=first),
        growth=growth,
        longest=timedelta(seconds=longest),
    )
    now = policy.interval(polls, video=video)
    after = policy.interval(polls + 1, video=video)
    assert now <= after
    assert after <= policy.longest
    assert policy.interval(0, video=video) == min(timedelta(seconds=first), policy.longest)


def test_default_polls_are_short_for_images_and_longer_for_video() -> None:
    policy = PollPolicy()
    assert policy.interval(0, video=False) < policy.interval(0, video=True)
    assert policy.interval(100, video=True) == policy.longest


leads = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))


@given(
    image=leads,
    video=leads,
    carousel=leads,
    prepare_ahead=st.none() | st.integers(min_value=0, max_value=10 * 86400),
    media=st.sampled_from(["image", "reel", "story", "carousel"]),
    publish_at=st.datetimes(
        min_value=datetime(2030, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
)
def test_prepare_at_is_never_more_than_20_hours_before_publish_at(
    image: timedelta,
    video: timedelta,
    carousel: timedelta,
    prepare_ahead: int | None,
    media: str,
    publish_at: datetime,
) -> None:
    spec = PostSpec.model_validate(
        {
            "account": "1",
            "media_type": media,
            "publish_at": publish_at,
            "prepare_ahead": prepare_ahead,
            **(
                {
                    "children": [
                        {"media_url": "https://e.com/1.jpg"},
                        {"media_url": "https://e.com/2.mp4"},
                    ]
                }
                if media == "carousel"
                else {"media_url": "https://e.com/a.mp4"}
            ),
        }
    )
    times = LeadTimes(image=image, video=video, carousel=carousel)
    prepare_at = times.prepare_at(spec)
    assert publish_at - MAX_LEAD <= prepare_at <= publish_at
    assert timedelta(hours=20) == MAX_LEAD
    if prepare_ahead is not None:
        assert prepare_at == publish_at - min(timedelta(seconds=prepare_ahead), MAX_LEAD)


@given(
    polls_done=st.integers(min_value=0, max_value=2000),
    video=st.booleans(),
    offset_seconds=st.integers(min_value=-86_400, max_value=86_400),
)
def test_next_poll_never_passes_the_publish_time_and_stays_short_once_late(
    polls_done: int, video: bool, offset_seconds: int
) -> None:
    policy = PollPolicy()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    publish_at = now + timedelta(seconds=offset_seconds)
    at = policy.next_poll(polls_done, video=video, now=now, publish_at=publish_at)
    assert at > now
    if now < publish_at:
        assert at <= publish_at
        assert at - now <= policy.interval(polls_done, video=video)
    else:
        assert at - now <= policy.late_longest
