"""A learned student of `phonetic` as the clip path's second voice, instead of pocketsphinx (docs/NEURAL.md, "Tried,
ninth round"). Three steps:

    .venv/bin/python scripts/phonetic_student.py dataset --data DATASET --out PHDS       # 2 min on 2 cores
    python -m facecast.train.loso --data PHDS --out LOSO_STUDENT [fold recipe] [--whole-clip]
    .venv/bin/python scripts/phonetic_student.py folds --data DATASET --folds LOSO --students LOSO_STUDENT
    python -m facecast.train --data PHDS --out RUN --epochs 4 --threads 1 --r-target opening [--whole-clip]
    .venv/bin/python scripts/phonetic_student.py yardstick --model MODEL.onnx --students RUN/model/neural.onnx ...

``dataset`` copies a dataset with every clip's curves replaced by `phonetic`'s on the clip's own audio (its
recogniser hears the phones), the lip gap too: a model trained on it learns to give phonetic's JawOpen at the
model's speed. ``folds`` scores, per held-out source, the fold model, `phonetic`, the fold's student and their
fusions (facecast.animators.fusion.fuse_jaw) against the measured lip gap; ``yardstick`` the same on
../shared/data/video against the independent tracker (benchmarks/evalkit).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from fusion_folds import r  # this folder's fusion script: Pearson r of the common length, 0 for a flat curve

from facecast.animators import get_animator
from facecast.animators.fusion import fuse_jaw
from facecast.animators.neural import NeuralAnimator
from facecast.audio import MODEL_RATE, Audio
from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX

JAW = CHANNEL_INDEX["JawOpen"]


def jaw(animator: object, audio: Audio, fps: int) -> np.ndarray:
    return animator.animate(audio, Controls(), fps=fps).values[:, JAW].astype(np.float64)  # type: ignore[attr-defined]


def ways(model: np.ndarray, phone: np.ndarray, student: np.ndarray) -> dict[str, np.ndarray]:
    n = min(len(model), len(phone), len(student))
    m, p, s = model[:n], phone[:n], student[:n]
    return {"model": m, "phonetic": p, "student": s, "model+phonetic": fuse_jaw(m, p),
            "model+student": fuse_jaw(m, s), "model+student+phonetic": fuse_jaw(m, fuse_jaw(s, p))}


def dataset(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.data / "manifest.json", args.out / "manifest.json")
    phonetic = get_animator("phonetic")
    with np.load(args.data / "examples.npz", allow_pickle=False) as loaded:
        data = {key: loaded[key] for key in loaded.files}
    values, started = data["values"].copy(), time.monotonic()
    for n, (a0, an, v0, vn, fps) in enumerate(data["index"]):
        audio = Audio(data["audio"][a0:a0 + an].astype(np.float32) / 32767.0, MODEL_RATE)
        curves = phonetic.animate(audio, Controls(), fps=int(fps)).values
        values[v0:v0 + vn] = np.pad(curves, ((0, max(0, vn - len(curves))), (0, 0)), mode="edge")[:vn]
        if n % 100 == 0:
            print(f"{n}/{len(data['index'])} clips, {time.monotonic() - started:.0f} s", flush=True)
    data["values"], data["opening"] = values, values[:, JAW].copy()
    np.savez(args.out / "examples.npz", **data)


def folds(args: argparse.Namespace) -> None:
    from facecast.train.loso import held_clips

    phonetic, means = get_animator("phonetic"), {}
    for fold in sorted(f.name for f in args.folds.iterdir() if (f / "model" / "neural.onnx").is_file()):
        model = NeuralAnimator(args.folds / fold / "model" / "neural.onnx", fuse=False)
        student = NeuralAnimator(args.students / fold / "model" / "neural.onnx", fuse=False)
        rows = []
        for _, audio, truth, fps in held_clips(args.data, fold, args.eval_clips):
            curves = ways(jaw(model, audio, fps), jaw(phonetic, audio, fps), jaw(student, audio, fps))
            rows.append({name: r(curve, truth["opening"]) for name, curve in curves.items()})
        means[fold] = {k: float(np.mean([row[k] for row in rows])) for k in rows[0]}
        print(fold, json.dumps({k: round(v, 3) for k, v in means[fold].items()}), flush=True)
    names = next(iter(means.values()))
    print("mean", json.dumps({k: round(float(np.mean([f[k] for f in means.values()])), 3) for k in names}))


def yardstick_figures(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_neural import FPS, list_videos, video_audio
    from evalkit import yardstick

    model = NeuralAnimator(args.model, fuse=False)
    phonetic = get_animator("phonetic")
    students = [NeuralAnimator(path, fuse=False) for path in args.students]
    rows = {}
    for video in list_videos([yardstick.DATA / "video"], None):
        clip = video_audio(video)
        truth = yardstick.truth_for(video, len(clip), FPS, args.cache)
        audio = Audio(clip, MODEL_RATE)
        m, p = jaw(model, audio, FPS), jaw(phonetic, audio, FPS)
        row = {}
        for k, student in enumerate(students):
            curves = ways(m, p, jaw(student, audio, FPS))
            row.update({f"{name} [{k}]" if "student" in name else name: yardstick.lipsync(c, truth)[0]
                        for name, c in curves.items()})
        rows[video.name] = row
        print(video.name, json.dumps({k: round(v, 3) for k, v in row.items()}), flush=True)
    names = next(iter(rows.values()))
    print("mean", json.dumps({k: round(float(np.mean([row[k] for row in rows.values()])), 3) for k in names}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="step", required=True)
    d = sub.add_parser("dataset")
    d.add_argument("--data", type=Path, required=True)
    d.add_argument("--out", type=Path, required=True)
    f = sub.add_parser("folds")
    f.add_argument("--data", type=Path, required=True)
    f.add_argument("--folds", type=Path, required=True, help="facecast.train.loso's OUT for the models")
    f.add_argument("--students", type=Path, required=True, help="facecast.train.loso's OUT on the student dataset")
    f.add_argument("--eval-clips", type=int, default=15)
    y = sub.add_parser("yardstick")
    y.add_argument("--model", type=Path, required=True)
    y.add_argument("--students", type=Path, nargs="+", required=True)
    y.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "facecast-bench")
    args = p.parse_args()
    {"dataset": dataset, "folds": folds, "yardstick": yardstick_figures}[args.step](args)


if __name__ == "__main__":
    main()
