"""A smaller copy of a dataset folder (``manifest.json`` + ``examples.npz``) for quick checks on another machine:
every clip that is not a GRID s1 training clip, and one GRID s1 training clip in ``--keep``.

    .venv/bin/python scripts/dataset_subset.py DATASET SMALL --keep 8   # 158 clips, 11.4 min, 26 MB

Why: the full dataset's examples are about 110 MB (16-bit audio), more than travels to a lent GPU machine with
the working tree (docs/NEURAL.md, "On a GPU"); GRID s1 is 50 of its 55 minutes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

CURVES = ("values", "translation", "closure", "opening")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="a dataset folder (facecast dataset build)")
    p.add_argument("out", type=Path)
    p.add_argument("--keep", type=int, default=8, help="one GRID s1 training clip in this many (default 8)")
    args = p.parse_args()
    manifest = json.loads((args.source / "manifest.json").read_text())
    entries = {e["id"]: e for e in manifest["clips"]}
    with np.load(args.source / "examples.npz", allow_pickle=False) as data:
        chosen, seen = [], 0
        for k, clip_id in enumerate(data["ids"]):
            entry = entries[str(clip_id)]
            if entry["source"] == "grid_s1" and entry["split"] == "train":
                seen += 1
                if seen % args.keep:
                    continue
            chosen.append(k)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in ("audio", *CURVES)}
        index, audio_at, curve_at = [], 0, 0
        for k in chosen:
            a0, an, v0, vn, fps = (int(v) for v in data["index"][k])
            parts["audio"].append(data["audio"][a0:a0 + an])
            for name in CURVES:
                parts[name].append(data[name][v0:v0 + vn])
            index.append((audio_at, an, curve_at, vn, fps))
            audio_at, curve_at = audio_at + an, curve_at + vn
        ids = data["ids"][chosen]
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "examples.npz", **{name: np.concatenate(v) for name, v in parts.items()},
             index=np.array(index, np.int64), ids=ids)
    kept = {str(i) for i in ids}
    manifest["clips"] = [e for e in manifest["clips"] if e["id"] in kept or e.get("excluded")]
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(chosen)} clips, {audio_at / 16000 / 60:.1f} min in {args.out}")


if __name__ == "__main__":
    main()
