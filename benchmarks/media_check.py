"""`igautopost validate` with media checks on 1,000 posts whose media URLs are distinct and
point at a local HTTP server (issue 16: under 10 s).

Makes real media (JPEGs with Pillow, H.264/AAC faststart MP4s with PyAV), serves them under
1,000 distinct names (hard links) from a threaded HTTP server in this process, writes 700
feed images and 300 reels as JSON Lines, then runs the console script `igautopost validate`
with IGAUTOPOST_MEDIA_CHECK=true and IGAUTOPOST_MEDIA_ALLOW_PRIVATE_URLS=true (the server is
on 127.0.0.1), and once with --no-media-check for the baseline. Each URL costs a HEAD and a
ranged GET of its first 64 KB: 2,000 requests.

    .venv/bin/python benchmarks/media_check.py                  # 1,000 posts, 3 runs
    .venv/bin/python benchmarks/media_check.py --posts 5000 --runs 1 --concurrency 64
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "media"))

from makers import MediaServer, make_image, make_video

BIN = Path(sys.executable).parent
IMAGE_SHAPES = [(1080, 1350), (1080, 1080), (1440, 1000), (1200, 1500), (800, 800)]
VIDEO_SHAPES = [(720, 1280), (1080, 1920), (540, 960)]


def make_media(root: Path, posts: int) -> list[tuple[str, str]]:
    """(media type, file name) for each post: 70% images, 30% reels, each its own name."""
    originals = root / "originals"
    images = [
        make_image(originals / f"image{n}.jpg", w, h) for n, (w, h) in enumerate(IMAGE_SHAPES)
    ]
    videos = [
        make_video(originals / f"video{n}.mp4", w, h, 5.0) for n, (w, h) in enumerate(VIDEO_SHAPES)
    ]
    served = root / "served"
    served.mkdir()
    chosen = []
    for n in range(posts):
        reel = n % 10 >= 7
        source = videos[n % len(videos)] if reel else images[n % len(images)]
        name = f"m{n:05d}{source.suffix}"
        os.link(source, served / name)
        chosen.append(("reel" if reel else "image", name))
    return chosen


def write_posts(path: Path, media: list[tuple[str, str]], server: MediaServer) -> None:
    with path.open("w") as out:
        for n, (media_type, name) in enumerate(media):
            post = {
                "account": "17841400000000001",
                "access_token": "EAAB-bench-token",
                "media_type": media_type,
                "media_url": server.url(name),
                "caption": f"Benchmark post {n}",
                "publish_at": 2_000_000_000 + 3600 * n,
            }
            out.write(json.dumps(post) + "\n")


def run_validate(posts: Path, env: dict[str, str], *extra: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "igautopost"), "validate", *extra, str(posts)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"validate failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return wall, cpu, result.stdout.strip() + result.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=None, help="default: the setting's")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="media-bench-") as tmp:
        root = Path(tmp)
        made = time.perf_counter()
        media = make_media(root, args.posts)
        print(f"made the media in {time.perf_counter() - made:.1f} s")
        env = {
            **os.environ,
            "IGAUTOPOST_DATA_DIR": str(root / "data"),
            "IGAUTOPOST_MEDIA_CHECK": "true",
            "IGAUTOPOST_MEDIA_ALLOW_PRIVATE_URLS": "true",
        }
        env.pop("IGAUTOPOST_DATABASE_URL", None)
        if args.concurrency:
            env["IGAUTOPOST_MEDIA_CHECK_CONCURRENCY"] = str(args.concurrency)
        with MediaServer(root / "served") as server:
            posts = root / "posts.jsonl"
            write_posts(posts, media, server)
            base_wall, base_cpu, _ = run_validate(posts, env, "--no-media-check")
            print(f"--no-media-check: {base_wall:.2f} s wall, {base_cpu:.2f} s CPU")
            walls, cpus = [], []
            for run in range(args.runs):
                server.requests.clear()
                wall, cpu, output = run_validate(posts, env)
                walls.append(wall)
                cpus.append(cpu)
                print(
                    f"run {run + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU (validate process), "
                    f"{server.total_requests()} requests; {output.splitlines()[-1]}"
                )
        print(
            f"media checks, {args.posts} posts: median {statistics.median(walls):.2f} s wall, "
            f"{statistics.median(cpus):.2f} s CPU; {len(media)} distinct URLs"
        )
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
