"""Make the sample media of the local-file examples: ``reel.mp4`` (committed) and, on
demand, ``sunrise.jpg`` (made when an example runs, never committed).

    python examples/media/make_samples.py            # writes reel.mp4 and sunrise.jpg here

The reel is committed because PyAV (which carries FFmpeg and x264) is a development
dependency only: a user running the examples from an installed igautopost has Pillow but
maybe not PyAV. It meets Instagram's reel rules (docs/media.md, "Rules") while staying small:
H.264 and AAC in an MP4 with its moov atom first, 720 x 1280 (9:16), 3.5 seconds, a dark
gradient that slowly brightens at 10 frames a second, encoded at a low quality (under 100 KB).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT, SECONDS, FPS = 720, 1280, 3.5, 10
SAMPLE_RATE = 44_100


def make_reel(path: Path) -> Path:
    """The sample reel at `path` (needs PyAV: ``pip install av``)."""
    import av

    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"preset": "veryslow", "crf": "38"}
        sound = out.add_stream("aac", rate=SAMPLE_RATE)
        sound.bit_rate = 24_000
        frames = round(SECONDS * FPS)
        for n in range(frames):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            luma, *chroma = frame.planes
            rows = bytearray()
            for y in range(HEIGHT):  # a vertical gradient, brighter at each frame
                rows += bytes([min(255, 40 + y * 120 // HEIGHT + n * 3)]) * luma.line_size
            luma.update(bytes(rows))
            for plane in chroma:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        total, step = round(SECONDS * SAMPLE_RATE), 1024  # silence, as a track Instagram wants
        for start in range(0, total, step):
            chunk = av.AudioFrame(format="fltp", layout="mono", samples=step)
            for sound_plane in chunk.planes:
                sound_plane.update(bytes(sound_plane.buffer_size))
            chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
            chunk.time_base = Fraction(1, SAMPLE_RATE)
            for packet in sound.encode(chunk):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    return path


def make_sunrise(path: Path, width: int = 1080, height: int = 1350) -> Path:
    """A 4:5 JPEG (a feed image's tallest shape): an orange sky over a dark sea."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = height * 2 // 3
    for y in range(horizon):
        warmth = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(60 + 195 * warmth), int(40 + 110 * warmth), 90))
    draw.rectangle([(0, horizon), (width, height)], fill=(20, 30, 60))
    radius = width // 8
    draw.ellipse(
        [(width // 2 - radius, horizon - radius), (width // 2 + radius, horizon + radius)],
        fill=(255, 200, 80),
    )
    image.save(path, format="JPEG", quality=85)
    return path


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    reel = make_reel(folder / "reel.mp4")
    sunrise = make_sunrise(folder / "sunrise.jpg")
    for made in (reel, sunrise):
        print(f"{made}: {made.stat().st_size:,} bytes")
