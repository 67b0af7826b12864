"""Which JawOpen fusions follow the real mouth on the leave-one-source-out folds (docs/NEURAL.md, "Tried, sixth
round"): each fold's model alone, `phonetic`, `energy`, and z-scored sums of them, whole-clip and causal (a
running mean and spread, as a live stream could use), against the measured lip gap. The yardstick videos are not
read.

    .venv/bin/python scripts/fusion_folds.py --data DATASET --folds LOSO     # LOSO from facecast.train.loso
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from facecast.animators import get_animator
from facecast.animators.neural import NeuralAnimator
from facecast.controls import Controls
from facecast.train.loso import JAW, held_clips
from facecast.train.whisper_jaw import r
from facecast.train.whisper_jaw import zscore as z


def causal_z(x: np.ndarray, frames: float = 90) -> np.ndarray:
    """``x`` in standard units of its running mean and variance (exponential, about ``frames`` long)."""
    out = np.empty(len(x))
    mean, var, a = float(x[0]), 1e-4, 1 / frames
    for i, xi in enumerate(x):
        mean += a * (xi - mean)
        var += a * ((xi - mean) ** 2 - var)
        out[i] = (xi - mean) / np.sqrt(var + 1e-6)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--folds", type=Path, required=True, help="facecast.train.loso's OUT (OUT/SOURCE/model)")
    p.add_argument("--eval-clips", type=int, default=15)
    args = p.parse_args()
    phonetic, energy = get_animator("phonetic"), get_animator("energy")
    folds: dict[str, dict[str, float]] = {}
    for fold in sorted(f for f in args.folds.iterdir() if (f / "model" / "neural.onnx").is_file()):
        model = NeuralAnimator(fold / "model" / "neural.onnx", fuse=False)
        rows = []
        for _, audio, truth, fps in held_clips(args.data, fold.name, args.eval_clips):
            m, ph, e = (a.animate(audio, Controls(), fps=fps).values[:, JAW].astype(np.float64)
                        for a in (model, phonetic, energy))
            n = min(len(m), len(ph), len(e))
            m, ph, e = m[:n], ph[:n], e[:n]
            ways = {"model": m, "phonetic": ph, "energy": e, "model+phonetic": z(m) + z(ph),
                    "model+energy": z(m) + z(e), "model+phonetic+energy": z(m) + z(ph) + z(e),
                    "2 model+phonetic+energy": 2 * z(m) + z(ph) + z(e), "model+energy/2": z(m) + z(e) / 2,
                    "model+energy, causal": causal_z(m) + causal_z(e),
                    "model+energy/2, causal": causal_z(m) + causal_z(e) / 2}
            rows.append({name: r(curve, truth["opening"]) for name, curve in ways.items()})
        folds[fold.name] = {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
        print(fold.name, json.dumps({k: round(v, 3) for k, v in folds[fold.name].items()}), flush=True)
    names = next(iter(folds.values()))
    print("mean", json.dumps({k: round(float(np.mean([f[k] for f in folds.values()])), 3) for k in names}))


if __name__ == "__main__":
    main()
