"""Head speed of the learned head against captured real video, source by source (docs/NEURAL.md, "Head motion").

    python scripts/head_speed_by_source.py --data DATASET [--clips 40] [--seeds 2]

For each training source: the mean head speed of its captured clips (yaw, pitch, roll together, rad/s, after a
5-frame moving average: :func:`facecast.train.evaluate.head_speed`, as the benchmark measures it) and of
`neural-fast` takes of the same clips' audio at the default controls (the head that clips and streams both get),
with their ratio.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from facecast.animators import get_animator
from facecast.audio import MODEL_RATE, Audio
from facecast.controls import Controls
from facecast.train.evaluate import head_speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (facecast dataset build)")
    parser.add_argument("--clips", type=int, default=40, help="clips per source at most (default 40)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per clip for the learned head (default 2)")
    args = parser.parse_args()
    manifest = json.loads((args.data / "manifest.json").read_text())
    neural = get_animator("neural-fast")
    source_of = {c["id"]: c["source"] for c in manifest["clips"]}
    rows = []
    with np.load(args.data / "examples.npz", allow_pickle=False) as data:
        by_source: dict[str, list[int]] = {}
        for k, clip_id in enumerate(data["ids"]):
            by_source.setdefault(source_of[str(clip_id)], []).append(k)
        for source, members in sorted(by_source.items()):
            if len(members) > args.clips:
                members = sorted(np.random.default_rng(0).choice(members, args.clips, replace=False).tolist())
            captured, learned, seconds = [], [], 0.0
            for k in members:
                a0, an, v0, vn, fps = (int(x) for x in data["index"][k])
                audio = Audio(data["audio"][a0:a0 + an].astype(np.float32) / 32767.0, MODEL_RATE)
                captured.append(head_speed(data["values"][v0:v0 + vn], fps))
                learned.append(np.mean([head_speed(neural.animate(audio, Controls(seed=s), fps=fps).values, fps)
                                        for s in range(args.seeds)]))
                seconds += audio.duration
            rows.append((source, len(captured), seconds / 60, float(np.mean(captured)), float(np.mean(learned))))
    print("| source | clips | minutes | captured rad/s | neural rad/s | neural / captured |")
    print("|---|---|---|---|---|---|")
    for source, n, minutes, real, model in rows:
        print(f"| {source} | {n} | {minutes:.1f} | {real:.3f} | {model:.3f} | {model / real:.2f}× |")


if __name__ == "__main__":
    main()
