"""Instagram's media rules, judged on facts (`MediaFacts`): every limit on both sides, and
the aspect-ratio and size arithmetic as properties."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igautopost.media.probe import MediaFacts
from igautopost.media.rules import MB, RULES, Target, broken_rules, format_ratio

JPEG = MediaFacts(is_video=False, format="JPEG", width=1080, height=1350, size=500_000)
MP4 = MediaFacts(
    is_video=True, format="MPEG-4", width=720, height=1280, duration=30.0,
    video_codec="AVC", audio_codec="AAC", moov_first=True, size=5 * MB,
)  # fmt: skip
IMAGE_TARGETS = [t for t, rules in RULES.items() if not rules.is_video]
VIDEO_TARGETS = [t for t, rules in RULES.items() if rules.is_video]


def broken(facts: MediaFacts, target: Target, **changes: object) -> list[str]:
    return broken_rules(facts.__class__(**{**facts.__dict__, **changes}), RULES[target])


@pytest.mark.parametrize("target", IMAGE_TARGETS)
def test_a_4_5_jpeg_of_half_a_megabyte_passes_every_image_rule(target: Target) -> None:
    assert broken(JPEG, target) == []


@pytest.mark.parametrize("target", VIDEO_TARGETS)
def test_a_30_second_h264_aac_faststart_mp4_passes_every_video_rule(target: Target) -> None:
    assert broken(MP4, target) == []


@pytest.mark.parametrize("target", IMAGE_TARGETS)
@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "HEIC"])
def test_images_must_be_jpeg(target: Target, fmt: str) -> None:
    [problem] = broken(JPEG, target, format=fmt)
    assert problem.startswith("is a ") and "Instagram takes JPEG only for" in problem


def test_a_phones_multi_picture_jpeg_is_a_jpeg() -> None:
    assert broken(JPEG, Target.FEED_IMAGE, format="MPO") == []


@pytest.mark.parametrize(
    ("target", "limit"),
    [
        (Target.FEED_IMAGE, 8 * MB),
        (Target.STORY_IMAGE, 8 * MB),
        (Target.REEL_COVER, 8 * MB),
        (Target.CAROUSEL_IMAGE, 8 * MB),
        (Target.REEL, 300 * MB),
        (Target.STORY_VIDEO, 100 * MB),
        (Target.CAROUSEL_VIDEO, 100 * MB),
    ],
)
def test_size_limits_include_the_limit(target: Target, limit: int) -> None:
    facts = MP4 if RULES[target].is_video else JPEG
    assert broken(facts, target, size=limit) == []
    [problem] = broken(facts, target, size=limit + 1)
    assert problem.endswith(f"must be at most {limit // MB} MB")


def test_the_feed_ratio_message_names_the_ratio_and_the_range() -> None:
    [problem] = broken(JPEG, Target.FEED_IMAGE, width=3000, height=1000)
    assert problem == "aspect ratio 3.00:1 (3000x1000) is outside 4:5 .. 1.91:1 for feed images"


@pytest.mark.parametrize("target", [Target.STORY_IMAGE, Target.REEL_COVER])
def test_story_images_and_covers_take_any_ratio(target: Target) -> None:
    assert broken(JPEG, target, width=3000, height=1000) == []


def test_image_width_is_not_checked_instagram_scales_it() -> None:
    assert broken(JPEG, Target.FEED_IMAGE, width=4000, height=5000) == []
    assert broken(JPEG, Target.FEED_IMAGE, width=200, height=250) == []


@pytest.mark.parametrize(
    ("target", "shortest", "longest", "text"),
    [
        (Target.REEL, 3, 900, "reels must be 3 s .. 15 min"),
        (Target.STORY_VIDEO, 3, 60, "story videos must be 3 s .. 1 min"),
        (Target.CAROUSEL_VIDEO, 3, 60, "carousel videos must be 3 s .. 1 min"),
    ],
)
def test_durations(target: Target, shortest: float, longest: float, text: str) -> None:
    assert broken(MP4, target, duration=shortest) == []
    assert broken(MP4, target, duration=longest) == []
    [too_short] = broken(MP4, target, duration=2.0)
    assert too_short == f"{target.value} is 2.0 s long: {text}"
    [too_long] = broken(MP4, target, duration=longest + 1)
    assert too_long.endswith(text)


@pytest.mark.parametrize("target", VIDEO_TARGETS)
def test_video_codecs_audio_codecs_and_the_moov_atom(target: Target) -> None:
    assert broken(MP4, target, video_codec="HEVC") == []
    assert broken(MP4, target, audio_codec=None) == []  # no sound is fine
    assert "video codec is VP9" in broken(MP4, target, video_codec="VP9")[0]
    assert "audio codec is MPEG Audio" in broken(MP4, target, audio_codec="MPEG Audio")[0]
    assert "moov atom" in broken(MP4, target, moov_first=False)[0]
    assert "is a WebM: Instagram takes MP4 or MOV" in broken(MP4, target, format="WebM")[0]


@pytest.mark.parametrize("target", VIDEO_TARGETS)
def test_videos_at_most_1920_wide_and_10_to_1(target: Target) -> None:
    assert broken(MP4, target, width=1920, height=1080) == []
    [wide] = broken(MP4, target, width=1921, height=1080)
    assert wide.startswith("is 1921 px wide")
    assert any("aspect ratio 11.00:1" in p for p in broken(MP4, target, width=1100, height=100))


def test_story_videos_are_at_least_0_1_to_1_reels_0_01_to_1() -> None:
    assert broken(MP4, Target.REEL, width=100, height=5000) == []
    [narrow] = broken(MP4, Target.STORY_VIDEO, width=100, height=5000)
    assert "is outside 0.1:1 .. 10:1 for story videos" in narrow


def test_an_image_where_a_video_goes_and_the_reverse() -> None:
    assert broken(JPEG, Target.REEL) == ["is an image: reels must be videos"]
    assert broken(MP4, Target.FEED_IMAGE) == ["is a video: feed images must be images"]


def test_unknown_facts_are_not_judged() -> None:
    assert broken_rules(MediaFacts(), RULES[Target.REEL]) == []


# The rule arithmetic, as properties: exact, scale-free, ends included.
sides = st.integers(min_value=1, max_value=20_000)


@given(width=sides, height=sides)
def test_feed_ratio_is_exactly_4_5_to_1_91(width: int, height: int) -> None:
    allowed = RULES[Target.FEED_IMAGE].allows_ratio(width, height)
    assert allowed == (4 * height <= 5 * width and 100 * width <= 191 * height)


@given(width=sides, height=sides, factor=st.integers(min_value=1, max_value=50))
def test_ratio_rules_do_not_depend_on_scale(width: int, height: int, factor: int) -> None:
    for rules in RULES.values():
        scaled = rules.allows_ratio(width * factor, height * factor)
        assert rules.allows_ratio(width, height) == scaled


@given(width=sides, height=sides)
def test_a_ratio_problem_is_reported_exactly_when_the_ratio_is_out(width: int, height: int) -> None:
    problems = broken(JPEG, Target.FEED_IMAGE, width=width, height=height)
    low, high = Fraction(4, 5), Fraction(191, 100)
    out = not low <= Fraction(width, height) <= high
    assert (
        any(p.startswith(f"aspect ratio {format_ratio(width, height)} ") for p in problems) == out
    )


@given(size=st.integers(min_value=1, max_value=400 * MB))
def test_a_size_problem_is_reported_exactly_above_the_limit(size: int) -> None:
    for target, rules in RULES.items():
        facts = MP4 if rules.is_video else JPEG
        problems = broken(facts, target, size=size)
        assert any("must be at most" in p for p in problems) == (size > rules.max_bytes)
