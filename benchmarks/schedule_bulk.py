"""Benchmark: `igautopost schedule` of a 10,000-post JSON Lines file, and `igautopost --help`.

Targets (issue 2): schedule 10,000 posts in <= 3 s (validation and storage included, through
the installed console script, into a fresh SQLite database); `--help` in <= 0.3 s.

Run: .venv/bin/python benchmarks/schedule_bulk.py [--posts 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).with_name("igautopost")


def write_posts(path: Path, count: int) -> None:
    with path.open("w") as handle:
        for i in range(count):
            post = {
                "account": str(17841400000000000 + i % 50),
                "access_token": f"EAAB-bench-token-{i % 50}",
                "media_type": "image",
                "media_url": f"https://example.com/media/{i}.jpg",
                "caption": f"Post number {i} #bench #igautopost",
                "publish_at": f"2031-{1 + i % 12:02d}-{1 + i % 28:02d}"
                f"T{i % 24:02d}:{i % 60:02d}:00Z",
                "client_key": f"bench-{i}",
            }
            handle.write(json.dumps(post) + "\n")


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="igautopost-bench-"))
    source = workdir / "posts.jsonl"
    write_posts(source, args.posts)
    schedule_times = []
    for run in range(args.runs):
        data_dir = workdir / f"data-{run}"
        env = {**os.environ, "IGAUTOPOST_DATA_DIR": str(data_dir)}
        env.pop("IGAUTOPOST_DATABASE_URL", None)
        subprocess.run([str(BIN), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        schedule_times.append(timed([str(BIN), "schedule", str(source)], env))
    help_times = [timed([str(BIN), "--help"], dict(os.environ)) for _ in range(5)]
    shutil.rmtree(workdir)
    print(
        f"schedule {args.posts} posts: median {statistics.median(schedule_times):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in schedule_times)}; target <= 3 s)"
    )
    print(
        f"--help: median {statistics.median(help_times):.3f} s "
        f"(runs: {', '.join(f'{t:.3f}' for t in help_times)}; target <= 0.3 s)"
    )


if __name__ == "__main__":
    main()
