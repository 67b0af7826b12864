"""Batch throughput: dialogue lines per minute and times real time, plus the cost of each export format.

    .venv/bin/python benchmarks/bench_batch.py [--lines 50] [--jobs 2] [--animator energy] [--formats csv,glb]

Lines are 2 to 5 s cuts of the shared speech clips (../shared/data/speech, else the repo's assets). Prints one
line per figure; the batch figure is a fresh run (nothing to skip) on this machine with --jobs workers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from facecast.animators import get_animator
from facecast.audio import load_audio
from facecast.dialogue_batch import BatchOptions, animate_lines, read_lines
from facecast.exports import export

ROOT = Path(__file__).resolve().parents[1]


def make_lines(folder: Path, count: int) -> float:
    """Write ``count`` speech lines into ``folder``; returns their total duration in seconds."""
    speech = ROOT.parent / "shared" / "data" / "speech"
    sources = sorted(speech.glob("*.wav")) if speech.is_dir() else sorted((ROOT / "assets").glob("speech_*.wav"))
    clips = [load_audio(p).samples for p in sources]
    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(count):
        samples = clips[i % len(clips)]
        length = min(len(samples), int(16000 * rng.uniform(2.0, 5.0)))
        start = int(rng.integers(0, len(samples) - length + 1))
        sf.write(folder / f"line_{i:03d}.wav", samples[start:start + length], 16000)
        total += length / 16000
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--animator", default="energy")
    parser.add_argument("--formats", default="csv,glb,usda,fcclip")
    args = parser.parse_args()
    formats = [f".{f.strip()}" for f in args.formats.split(",")]
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "lines"
        folder.mkdir()
        audio_seconds = make_lines(folder, args.lines)
        options = BatchOptions(out_dir=str(Path(work) / "out"), formats=formats, animator=args.animator,
                               workers=args.jobs)
        started = time.perf_counter()
        report = animate_lines(read_lines(folder), options)
        wall = time.perf_counter() - started
        print(f"batch: {args.lines} lines, {audio_seconds:.0f} s of speech, formats {args.formats}, "
              f"animator {args.animator}, {args.jobs} jobs: {report['counts']['done']} done in {wall:.1f} s = "
              f"{60 * args.lines / wall:.0f} lines/min, {audio_seconds / wall:.1f}x real time")

        clip = get_animator(args.animator).animate(load_audio(folder / "line_000.wav"))
        for ext in (".csv", ".fcclip", ".json", ".glb", ".gltf", ".usda", ".usdc", ".fbx"):
            path = Path(work) / f"one{ext}"
            try:
                export(clip, path)  # warm-up: imports and the test head's cache
                started = time.perf_counter()
                export(clip, path)
                seconds = time.perf_counter() - started
            except Exception as e:  # a missing optional tool (Blender) skips that format only
                print(f"export {ext}: skipped ({e})")
                continue
            print(f"export {ext}: {1000 * seconds:.0f} ms for a {clip.duration:.1f} s line, "
                  f"{path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
