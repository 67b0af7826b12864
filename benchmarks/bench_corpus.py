"""Corpus build speed: builds a slice of the synthetic speech corpus and prints hours of audio per wall-clock
hour, and what that means for the 5-hour corpus.

    .venv/bin/python benchmarks/bench_corpus.py [--hours 0.25] [--jobs 2] [--seed 0]

The slice is built in a temporary folder and removed afterwards. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from facecast.train.corpus import build_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=0.25, help="hours of audio in the slice (default 0.25)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facecast-bench-corpus-") as out:
        start = time.perf_counter()
        manifest = build_corpus(out, args.hours, seed=args.seed, jobs=args.jobs)
        wall = time.perf_counter() - start
        size = sum(os.path.getsize(os.path.join(out, name)) for name in os.listdir(out))
    audio_hours = manifest["hours"]
    speed = audio_hours / (wall / 3600)
    voices = {item["voice"] for item in manifest["items"]}
    print(f"corpus slice: {audio_hours * 60:.1f} min of audio, {len(manifest['items'])} items, {len(voices)} voices, "
          f"{size / 1e6:.1f} MB, built in {wall:.1f} s on {args.jobs} processes")
    print(f"corpus build speed: {speed:.0f} hours of audio per wall-clock hour ({args.jobs} processes)")
    print(f"extrapolated 5-hour corpus: {5 / speed * 60:.1f} min, about {size / audio_hours * 5 / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
