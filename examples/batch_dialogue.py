"""Animate a game's dialogue lines into engine-ready files with the facecast Python API.

    .venv/bin/python examples/batch_dialogue.py DIALOGUE_DIR OUT_DIR [--server 127.0.0.1:50051]

DIALOGUE_DIR holds one audio file per line (``guard_01.wav``; a ``guard_01.txt`` transcript beside it is used by
animators that take text). Lines whose name contains an emotion word (``guard_01_angry.wav``) get that emotion.
Every line becomes ``OUT_DIR/NAME.glb`` (plays in any glTF viewer), ``NAME.usda`` (Omniverse, Audio2Face
pipelines) and ``NAME.csv`` (Live Link Face take for Unreal). Run it again after adding or re-recording lines:
only those are redone. The same run from the shell is::

    facecast batch DIALOGUE_DIR -o OUT_DIR --format glb,usda,csv
"""

from __future__ import annotations

import argparse
import sys

from facecast.dialogue_batch import BatchOptions, animate_lines, read_lines

EMOTIONS = ("happy", "sad", "angry", "surprised", "disgusted", "fearful")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dialogue_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--server", help="a running `facecast serve` daemon to do the animation")
    args = parser.parse_args()

    lines = read_lines(args.dialogue_dir)
    for line in lines:
        # Per-line controls: here from the file name; a CSV/JSON manifest can give them as columns instead.
        line.emotion = next((e for e in EMOTIONS if e in line.name.lower().split("_")), None)
        line.intensity = 0.7 if line.emotion else None

    options = BatchOptions(out_dir=args.out_dir, formats=[".glb", ".usda", ".csv"], server=args.server)
    report = animate_lines(lines, options, on_result=lambda r: print(f"{r.status:8} {r.name} {r.reason}"))
    counts = report["counts"]
    print(f"{counts['done']} animated, {counts['skipped']} up to date, {counts['failed']} failed; "
          f"{report['x_realtime']}x real time. Report: {args.out_dir}/report.json")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
