"""Instagram's media rules, as data: one `MediaRules` per place a file can go (`Target`).

Source: Meta's Content Publishing reference (the "Image specifications", "Reels
specifications" and "Story specifications" of the IG User Media endpoint), as summarised in
the project's graph-api.md, "Media rules" and "Parameters per media type". The API has the
last word: these checks catch what would certainly fail, at scheduling time rather than at
publishing time. Where Meta gives no figure, no check is made (a story image's aspect ratio:
9:16 is best, any is taken). Carousel items follow the feed image rules and, for videos, the
reel rules with a 60 s limit (Meta: carousel videos "up to 60 seconds"). An image's width
(320 .. 1440 px in the table) is not checked: Meta's reference says an image outside it is
scaled to fit, not refused.

`broken_rules` compares what a file holds (`igautopost.media.probe.MediaFacts`) with a
target's rules and says, in words, each rule it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from .probe import MediaFacts

MB = 1024 * 1024


class Target(StrEnum):
    """Where a media file goes: each has its own rules."""

    FEED_IMAGE = "feed image"
    STORY_IMAGE = "story image"
    REEL = "reel"
    REEL_COVER = "reel cover"
    STORY_VIDEO = "story video"
    CAROUSEL_IMAGE = "carousel image"
    CAROUSEL_VIDEO = "carousel video"


@dataclass(frozen=True)
class Ratio:
    """An aspect ratio as Instagram writes it (``"4:5"``, ``"1.91:1"``), compared exactly."""

    text: str

    @property
    def value(self) -> Fraction:
        width, _, height = self.text.partition(":")
        return Fraction(width) / Fraction(height)


@dataclass(frozen=True)
class MediaRules:
    """What Instagram takes for one `Target`; ``None`` where it sets no limit."""

    target: Target
    plural: str  # "feed images": how messages name the target
    is_video: bool
    formats: tuple[str, ...]  # probe's format names: "JPEG"; "MPEG-4" (MP4 and MOV)
    formats_text: str  # "JPEG only", "MP4 or MOV"
    max_bytes: int
    aspect: tuple[Ratio, Ratio] | None = None  # narrowest .. widest, width:height
    width: tuple[int | None, int | None] | None = None  # px, either end open
    duration: tuple[float, float] | None = None  # seconds
    video_codecs: tuple[str, ...] = ()
    audio_codecs: tuple[str, ...] = ()
    moov_first: bool = False

    def allows_ratio(self, width: int, height: int) -> bool:
        """Whether a ``width`` x ``height`` picture's ratio is within `aspect` (ends included)."""
        if self.aspect is None:
            return True
        low, high = self.aspect
        return low.value <= Fraction(width, height) <= high.value


def _image(target: Target, plural: str, *, feed_shape: bool) -> MediaRules:
    """JPEG only, at most 8 MB; in the feed and carousels, 4:5 .. 1.91:1. No width limit:
    Instagram scales an image outside 320 .. 1440 px wide to fit, it does not refuse it."""
    return MediaRules(
        target, plural, is_video=False, formats=("JPEG",), formats_text="JPEG only",
        max_bytes=8 * MB,
        aspect=(Ratio("4:5"), Ratio("1.91:1")) if feed_shape else None,
    )  # fmt: skip


def _video(
    target: Target, plural: str, *, max_mb: int, narrowest: str, longest: float
) -> MediaRules:
    """MP4 or MOV with its moov atom first, H.264 or HEVC, AAC audio, at most 1920 px wide."""
    return MediaRules(
        target, plural, is_video=True, formats=("MPEG-4",), formats_text="MP4 or MOV",
        max_bytes=max_mb * MB, aspect=(Ratio(narrowest), Ratio("10:1")), width=(None, 1920),
        duration=(3, longest), video_codecs=("AVC", "HEVC"), audio_codecs=("AAC",),
        moov_first=True,
    )  # fmt: skip


RULES: dict[Target, MediaRules] = {
    rules.target: rules
    for rules in (
        _image(Target.FEED_IMAGE, "feed images", feed_shape=True),
        _image(Target.STORY_IMAGE, "story images", feed_shape=False),
        _image(Target.REEL_COVER, "reel covers", feed_shape=False),
        _image(Target.CAROUSEL_IMAGE, "carousel images", feed_shape=True),
        _video(Target.REEL, "reels", max_mb=300, narrowest="0.01:1", longest=15 * 60),
        _video(Target.STORY_VIDEO, "story videos", max_mb=100, narrowest="0.1:1", longest=60),
        _video(
            Target.CAROUSEL_VIDEO, "carousel videos", max_mb=100, narrowest="0.01:1", longest=60
        ),
    )
}

# How a file's format is named in messages ("is a PNG").
FORMAT_NAMES = {"MPEG-4": "MP4/MOV", "WEBP": "WebP", "MPO": "JPEG (MPO)"}


def format_ratio(width: int, height: int) -> str:
    """``3.00:1`` for 3000 x 1000: two decimals, as `Ratio` texts are written."""
    return f"{width / height:.2f}:1"


def format_bytes(size: int) -> str:
    if size % MB == 0:
        return f"{size // MB} MB"
    return f"{size / MB:.1f} MB" if size >= MB / 10 else f"{size / 1024:.0f} KB"


def format_seconds(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s" if seconds % 1 else f"{seconds:.0f} s"


def broken_rules(facts: MediaFacts, rules: MediaRules) -> list[str]:
    """Each rule of ``rules`` that ``facts`` break, in words; what the facts do not know
    (a duration not read, a size not given) is not judged."""
    if facts.is_video is not None and facts.is_video != rules.is_video:
        found = "a video" if facts.is_video else "an image"
        wanted = "videos" if rules.is_video else "images"
        return [f"is {found}: {rules.plural} must be {wanted}"]
    problems = _format_problems(facts, rules)
    if facts.size is not None and facts.size > rules.max_bytes:
        problems.append(
            f"is {format_bytes(facts.size)}: {rules.plural} must be at most "
            f"{format_bytes(rules.max_bytes)}"
        )
    problems += _shape_problems(facts, rules)
    if rules.is_video:
        problems += _video_problems(facts, rules)
    return problems


def _format_problems(facts: MediaFacts, rules: MediaRules) -> list[str]:
    if facts.format is None or facts.format in rules.formats:
        return []
    if facts.format == "MPO" and "JPEG" in rules.formats:
        return []  # a phone's JPEG with a second picture: a JPEG to every reader
    name = FORMAT_NAMES.get(facts.format, facts.format)
    return [f"is a {name}: Instagram takes {rules.formats_text} for {rules.plural}"]


def _shape_problems(facts: MediaFacts, rules: MediaRules) -> list[str]:
    width, height = facts.width, facts.height
    if not width or not height:
        return []
    problems = []
    if not rules.allows_ratio(width, height) and rules.aspect is not None:
        low, high = rules.aspect
        problems.append(
            f"aspect ratio {format_ratio(width, height)} ({width}x{height}) is outside "
            f"{low.text} .. {high.text} for {rules.plural}"
        )
    if rules.width is not None:
        least, most = rules.width
        if (least is not None and width < least) or (most is not None and width > most):
            span = f"{least} .. {most} px" if least is not None else f"at most {most} px"
            problems.append(f"is {width} px wide: {rules.plural} must be {span} wide")
    return problems


def _video_problems(facts: MediaFacts, rules: MediaRules) -> list[str]:
    problems = []
    if rules.moov_first and facts.moov_first is False:
        problems.append(
            "has its index (the moov atom) after the media data: Instagram needs it first "
            "(re-mux with `ffmpeg -i IN -c copy -movflags +faststart OUT`)"
        )
    if rules.duration is not None and facts.duration is not None:
        shortest, longest = rules.duration
        if not shortest <= facts.duration <= longest:
            problems.append(
                f"{rules.target.value} is {facts.duration:.1f} s long: {rules.plural} must be "
                f"{format_seconds(shortest)} .. {format_seconds(longest)}"
            )
    if facts.video_codec is not None and facts.video_codec not in rules.video_codecs:
        problems.append(
            f"video codec is {facts.video_codec}: {rules.plural} must be H.264 (AVC) or HEVC"
        )
    if facts.audio_codec is not None and facts.audio_codec not in rules.audio_codecs:
        problems.append(f"audio codec is {facts.audio_codec}: {rules.plural} take AAC audio only")
    return problems
