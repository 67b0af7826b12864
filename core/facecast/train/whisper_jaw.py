"""Fit the Whisper jaw head (:mod:`facecast.animators.whisper_jaw`) and score it on leave-one-source-out folds.

    python -m facecast.train.whisper_jaw states --data DATASET --out STATES.npz   # every clip's encoder states
    python -m facecast.train.whisper_jaw fit --data DATASET --states STATES.npz   # -> models/neural/whisper_jaw.npz
    python -m facecast.train.whisper_jaw folds --data DATASET --states STATES.npz [--folds LOSO]

``states`` runs the shipped ONNX encoder (:mod:`facecast.whisper_states`) over each clip, so the head is fitted on
exactly what the runtime computes. ``fit`` is a weighted ridge regression, closed form, a few seconds: the
states' principal components (fitted on the same clips), each 20 ms frame with its neighbours at ``--lags``,
against the measured lip gap of each clip in that clip's standard units (r is the metric, and capture's scale
differs between videos). Sources are weighted by minutes ** ``--source-power`` (0.5: GRID s1's 50 minutes
count like 7 times the 1-minute sources, not 50 times). The validation speakers are left out unless
``--all-clips``. ``folds`` fits one head per training source left out and scores it on that source's held-out
clips (the clips of ``facecast.train.loso``), alone and fused with each fold's model (``--folds``, the
``loso`` output) and with ``phonetic``, against the lip gap.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from facecast.animators.fusion import fuse_jaw
from facecast.animators.neural import WHISPER_WEIGHT
from facecast.animators.whisper_jaw import ENCODER_FILE, HEAD_FILE, JawHead, at_fps, lagged
from facecast.audio import Audio
from facecast.train.teacher import fit_pca, load_teacher, save_teacher

GAP = -2  # the lip gap's column in fit.Clip.targets


def zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def source_weights(sources: list[str], minutes: list[float], power: float) -> dict[str, float]:
    """Per-frame weight of each source so that its total weight is proportional to minutes ** power."""
    total: dict[str, float] = {}
    for source, m in zip(sources, minutes):
        total[source] = total.get(source, 0.0) + m
    return {s: (m ** power) / m for s, m in total.items()}


def fit_head(states: list[np.ndarray], gaps: list[np.ndarray], sources: list[str], dims: int = 128,
             lags: np.ndarray | None = None, ridge: float = 100.0, source_power: float = 0.5) -> JawHead:
    """The ridge head (see the module docstring) from clips' states [T, 384] and lip gaps [T] at 50 frames/s."""
    lags = np.arange(-4, 5) if lags is None else np.asarray(lags)
    keep = [i for i, g in enumerate(gaps) if len(g) > 10 and g.std() > 1e-6]
    mean, basis, scale = fit_pca([states[i] for i in keep], dims)
    head0 = JawHead(mean, basis, scale, lags, np.zeros(len(lags) * dims), 0.0)
    weight = source_weights([sources[i] for i in keep], [len(gaps[i]) / 3000 for i in keep], source_power)
    k = len(lags) * dims + 1
    xtx, xty = np.zeros((k, k)), np.zeros(k)
    for i in keep:
        n = min(len(states[i]), len(gaps[i]))
        x = np.concatenate([lagged(head0.components(states[i][:n]), lags), np.ones((n, 1), np.float32)], 1)
        x = x.astype(np.float64)
        y = zscore(gaps[i][:n].astype(np.float64))
        w = weight[sources[i]]
        xtx += w * (x.T @ x)
        xty += w * (x.T @ y)
    penalty = ridge * np.eye(k)
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    beta = np.linalg.solve(xtx + penalty, xty)
    return JawHead(mean, basis, scale, lags, beta[:-1].astype(np.float32), float(beta[-1]))


def compute_all_states(data: Path, out: Path, encoder: Path, threads: int) -> None:
    from facecast.train.fit import load_clips
    from facecast.whisper_states import WhisperStates

    clips, _ = load_clips(data)
    model = WhisperStates(encoder, threads=threads)
    started, full = time.time(), {}
    for n, clip in enumerate(clips):
        full[clip.id] = model.states(clip.audio)
        if n % 100 == 0:
            print(f"[{n + 1}/{len(clips)}] {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_teacher(out, full, np.zeros(384, np.float32), np.eye(384, dtype=np.float32), 1.0)
    print(json.dumps({"clips": len(full), "seconds": round(time.time() - started, 1)}))


def _training_set(loaded: tuple[list[Any], dict[str, Any]], cached: dict[str, np.ndarray], all_clips: bool,
                  leave_out: str | None = None) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """(states, lip gaps, sources) of the clips chosen from ``loaded`` (``fit.load_clips``'s result) that
    ``cached`` has states for (all of them, unless the states were computed for a subset)."""
    clips, manifest = loaded
    split = {e["id"]: e["split"] for e in manifest["clips"]}
    chosen = [c for c in clips if c.id in cached and c.source != leave_out and (all_clips or split[c.id] == "train")]
    return ([cached[c.id] for c in chosen], [c.targets[:, GAP] for c in chosen], [c.source for c in chosen])


def held_to(curve: np.ndarray, frames: int) -> np.ndarray:
    """``curve`` (float64) cut, or held at its last value, to ``frames`` long."""
    curve = np.asarray(curve, np.float64)[:frames]
    return np.pad(curve, (0, frames - len(curve)), mode="edge") if 0 < len(curve) < frames else curve


def r(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-6 and b.std() > 1e-6 else 0.0


#: A fold's scorer: (a held-out clip's states, its audio, its fps, its frame count) -> curves by name, each
#: ``frames`` long at that fps.
ClipCurves = Callable[[np.ndarray, Audio, int, int], dict[str, np.ndarray]]


def fold_table(data: Path, states: Path | dict[str, np.ndarray], eval_clips: int,
               scorer: Callable[[list[np.ndarray], list[np.ndarray], list[str], str], ClipCurves],
               ) -> dict[str, dict[str, float]]:
    """Leave-one-source-out r against the lip gap, per source and their mean (the ``"mean"`` row).

    For each training source, ``scorer(states, gaps, sources, source)`` gets every other source's clips and
    returns the fold's ``ClipCurves``; each curve is scored on the left-out source's ``eval_clips`` held-out
    clips (``loso.held_clips``) and the scores are averaged per source. Prints a JSON line per row.
    ``states``: the ``states`` command's file, or such states by clip id already in memory.
    """
    from facecast.train.fit import load_clips
    from facecast.train.loso import held_clips

    cached = load_teacher(states) if isinstance(states, Path) else states
    sources = sorted({str(i).split("/")[0] for i in cached})
    loaded = load_clips(data)
    table: dict[str, dict[str, float]] = {}
    for source in sources:
        curves = scorer(*_training_set(loaded, cached, True, leave_out=source), source)
        rows: dict[str, list[float]] = {}
        for clip_id, audio, truth, fps in held_clips(data, source, eval_clips):
            gap = truth["opening"].astype(np.float64)
            for name, curve in curves(cached[clip_id], audio, fps, len(gap)).items():
                rows.setdefault(name, []).append(r(curve, gap))
        table[source] = {name: float(np.mean(v)) for name, v in rows.items()}
        print(source, json.dumps({k: round(v, 3) for k, v in table[source].items()}), flush=True)
    names = list(next(iter(table.values())))
    table["mean"] = {n: float(np.mean([table[s][n] for s in sources])) for n in names}
    print("mean", json.dumps({k: round(v, 3) for k, v in table["mean"].items()}), flush=True)
    return table


def score_folds(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    from facecast.animators import get_animator
    from facecast.animators.neural import NeuralAnimator
    from facecast.controls import Controls
    from facecast.train.loso import JAW

    phonetic = get_animator("phonetic") if not args.no_phonetic else None

    def scorer(states: list[np.ndarray], gaps: list[np.ndarray], srcs: list[str], source: str) -> ClipCurves:
        head = fit_head(states, gaps, srcs, args.dims, np.arange(-args.lags, args.lags + 1), args.ridge,
                        args.source_power)
        fold_model = args.folds / source / "model" / "neural.onnx" if args.folds else None
        model = (NeuralAnimator(fold_model, fuse=False)
                 if fold_model is not None and fold_model.is_file() else None)

        def curves(clip_states: np.ndarray, audio: Audio, fps: int, frames: int) -> dict[str, np.ndarray]:
            w = zscore(at_fps(head.predict(clip_states), fps, frames).astype(np.float64))
            ways = {"whisper": w}
            if model is not None:
                raw = held_to(model.animate(audio, Controls(), fps=fps).values[:, JAW], frames)
                m = zscore(raw)
                ways |= {"model": m} | {f"model+{a}whisper": m + a * w for a in (1, 2, 3)}
                ways["clips (fuse_jaw)"] = fuse_jaw(raw, w, weights=[1.0, WHISPER_WEIGHT]).astype(np.float64)
            if phonetic is not None:
                ph = zscore(held_to(phonetic.animate(audio, Controls(), fps=fps).values[:, JAW], frames))
                ways |= {"phonetic": ph, "whisper+phonetic": w + ph}
                if model is not None:
                    ways |= {"model+phonetic": m + ph} | {f"model+{a}whisper+phonetic": m + a * w + ph
                                                          for a in (1, 2, 3)}
            return ways

        return curves

    return fold_table(args.data, args.states, args.eval_clips, scorer)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m facecast.train.whisper_jaw", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("states", help="every dataset clip's encoder states (the shipped ONNX encoder)")
    s.add_argument("--data", type=Path, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--encoder", type=Path, default=ENCODER_FILE)
    s.add_argument("--threads", type=int, default=1)
    for name in ("fit", "folds"):
        q = sub.add_parser(name)
        q.add_argument("--data", type=Path, required=True)
        q.add_argument("--states", type=Path, required=True, help="the states command's output")
        q.add_argument("--dims", type=int, default=128, help="principal components (default 128)")
        q.add_argument("--lags", type=int, default=4, help="neighbours each side, 20 ms frames (default 4)")
        q.add_argument("--ridge", type=float, default=100.0, help="ridge penalty (default 100)")
        q.add_argument("--source-power", type=float, default=0.5)
    sub.choices["fit"].add_argument("--out", type=Path, default=HEAD_FILE)
    sub.choices["fit"].add_argument("--all-clips", action="store_true", help="fit on the validation speakers too")
    folds = sub.choices["folds"]
    folds.add_argument("--folds", type=Path, default=None, help="facecast.train.loso's OUT, for the fold models")
    folds.add_argument("--eval-clips", type=int, default=15)
    folds.add_argument("--no-phonetic", action="store_true")
    folds.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.command == "states":
        compute_all_states(args.data, args.out, args.encoder, args.threads)
    elif args.command == "fit":
        from facecast.train.fit import load_clips

        states, gaps, sources = _training_set(load_clips(args.data), load_teacher(args.states), args.all_clips)
        head = fit_head(states, gaps, sources, args.dims, np.arange(-args.lags, args.lags + 1), args.ridge,
                        args.source_power)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        head.save(args.out)
        print(json.dumps({"clips": len(states), "out": str(args.out)}))
    else:
        table = score_folds(args)
        if args.json:
            args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
