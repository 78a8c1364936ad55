"""Benchmark: the CLI's output and input at scale (issue 14).

- `igautopost list --json` of 100,000 stored posts: target under 3 s, peak RSS under 200 MB.
- `igautopost schedule` of a 50 MB JSON Lines file (about 180,000 posts): peak RSS under 400 MB.

Each command runs as a subprocess of the installed console script, on a fresh SQLite database;
its wall time is measured here and its peak RSS read from `getrusage(RUSAGE_CHILDREN)` (the
largest child so far, so each measurement runs in a child of its own). The data is one
account's posts, as a busy account's export would be: captions of varied length with emoji,
hashtags and mentions, a few carousels, client keys, and one token repeated (the old format).

Run: .venv/bin/python benchmarks/cli_output.py [--stored 100000] [--megabytes 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

BIN = Path(sys.executable).with_name("igautopost")
ACCOUNT = "17841400000000001"
TOKEN = "EAAB-bench-token-Zq9xV3kLm2Pw7Rt"
WORDS = [
    "morning",
    "coffee",
    "light",
    "studio",
    "new",
    "drop",
    "summer",
    "sale",
    "behind",
    "the",
    "scenes",
    "our",
    "team",
    "handmade",
    "limited",
    "edition",
    "thank",
    "you",
    "weekend",
    "vibes",
    "recipe",
    "tutorial",
    "launch",
    "today",
    "link",
    "in",
    "bio",
]
EMOJI = ["☕", "🌞", "🔥", "✨", "📸", "🎉", "💛", "🌿", "🇫🇷", "👩‍🍳"]
TAGS = ["#coffee", "#summer", "#igautopost", "#handmade", "#newin", "#bts", "#café", "#旅行"]
START = datetime(2031, 1, 1, tzinfo=UTC)


def caption(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(1, 5))
    parts = [" ".join(words).capitalize(), "".join(rng.choices(EMOJI, k=rng.randint(0, 3)))]
    parts.append(" ".join(rng.sample(TAGS, k=rng.randint(0, 3))))
    if rng.random() < 0.2:
        parts.append(f"@friend{rng.randint(1, 999)}")
    return " ".join(p for p in parts if p)


def posts(seed: int = 14) -> Iterator[dict[str, object]]:
    """Realistic posts of one account, one every 7 minutes from 2031 on, without end."""
    rng = random.Random(seed)
    number = 0
    while True:
        post: dict[str, object] = {
            "account": ACCOUNT,
            "access_token": TOKEN,
            "caption": caption(rng),
            "publish_at": (START + timedelta(minutes=7 * number)).isoformat(),
            "client_key": f"export-{number}",
        }
        if rng.random() < 0.05:
            count = rng.randint(2, 4)
            post["media_type"] = "carousel"
            post["children"] = [
                {"media_url": f"https://cdn.example.com/p/{number}-{i}.jpg"} for i in range(count)
            ]
        else:
            post["media_type"] = "image"
            post["media_url"] = f"https://cdn.example.com/p/{number}.jpg"
        yield post
        number += 1


def write_jsonl(path: Path, *, megabytes: float | None = None, count: int | None = None) -> int:
    """Posts as JSON Lines, until the file reaches `megabytes` or holds `count` posts."""
    limit = int(megabytes * 1_000_000) if megabytes is not None else None
    written = size = 0
    with path.open("w", encoding="utf-8") as handle:
        for post in posts():
            if (limit is not None and size >= limit) or written == count:
                break
            line = json.dumps(post, ensure_ascii=False) + "\n"
            handle.write(line)
            size += len(line.encode())
            written += 1
    return written


def run(command: list[str], env: dict[str, str], stdout: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS in MB and CPU seconds of one command, in a child of its own.
    On a shared machine the CPU time says what the command costs; the wall time, what it
    took among the others' work."""
    measure = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "with open(sys.argv[1], 'wb') as out:\n"
        "    subprocess.run(sys.argv[2:], stdout=out, check=True)\n"
        "wall = time.perf_counter() - start\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", measure, str(stdout), *command],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall, peak, cpu = answer.stdout.split()
    return float(wall), float(peak), float(cpu)


def environment(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "IGAUTOPOST_DATA_DIR": str(data_dir), "TZ": "UTC"}
    env.pop("IGAUTOPOST_DATABASE_URL", None)
    return env


def report(name: str, samples: list[tuple[float, float, float]], target: str) -> None:
    walls = [w for w, _, _ in samples]
    peaks = [p for _, p, _ in samples]
    cpus = [c for _, _, c in samples]
    print(
        f"{name}: median {statistics.median(walls):.2f} s wall, "
        f"{statistics.median(cpus):.2f} s CPU, peak RSS median "
        f"{statistics.median(peaks):.0f} MB (runs, wall/CPU/RSS: "
        + ", ".join(f"{w:.2f} s/{c:.2f} s/{p:.0f} MB" for w, p, c in samples)
        + f"; target {target})"
    )


def bench_list(workdir: Path, stored: int, runs: int) -> None:
    env = environment(workdir / "list-data")
    source = workdir / "stored.jsonl"
    write_jsonl(source, count=stored)
    subprocess.run([str(BIN), "schedule", str(source)], env=env, check=True, capture_output=True)
    output = workdir / "list.json"
    samples = [run([str(BIN), "list", "--json"], env, output) for _ in range(runs)]
    shown = json.loads(output.read_text(encoding="utf-8"))
    assert len(shown) == stored, f"listed {len(shown)} of {stored}"
    report(f"list --json of {stored:,} stored posts", samples, "< 3 s, < 200 MB")
    samples = [run([str(BIN), "list", "--jsonl"], env, output) for _ in range(runs)]
    report(f"list --jsonl of {stored:,} stored posts", samples, "< 3 s, < 200 MB")


def bench_schedule(workdir: Path, megabytes: float, runs: int) -> None:
    source = workdir / "export.jsonl"
    count = write_jsonl(source, megabytes=megabytes)
    samples = []
    for number in range(runs):
        env = environment(workdir / f"schedule-data-{number}")
        subprocess.run([str(BIN), "db", "upgrade"], env=env, check=True, capture_output=True)
        samples.append(run([str(BIN), "schedule", str(source)], env, workdir / "schedule.out"))
    size = source.stat().st_size / 1_000_000
    report(f"schedule of a {size:.1f} MB JSON Lines file ({count:,} posts)", samples, "< 400 MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("list", "schedule"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="igautopost-cli-bench-"))
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
        if args.only in (None, "list"):
            bench_list(workdir, args.stored, args.runs)
        if args.only in (None, "schedule"):
            bench_schedule(workdir, args.megabytes, args.runs)
        print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
