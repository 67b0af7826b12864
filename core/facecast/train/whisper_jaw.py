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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from facecast.animators.fusion import FusionPrior, fuse_jaw
from facecast.animators.neural import WHISPER_WEIGHT
from facecast.animators.whisper_jaw import (
    ENCODER_FILE,
    HEAD_FILE,
    STREAM_FILE,
    STREAM_PRIOR_FRAMES,
    ConvHead,
    JawHead,
    at_fps,
    lagged,
)
from facecast.audio import Audio
from facecast.train.teacher import fit_pca, load_teacher, save_teacher

GAP = -2  # the lip gap's column in fit.Clip.targets
STATE_CHUNK = 320  # samples per piece when clips are run as streams (20 ms, as a live client sends them)


@dataclass(frozen=True)
class ConvRecipe:
    """How a convolution beside a ridge head is trained (``--conv WIDTH:K1:K2:STEPS:DROPOUT:DECAY``)."""

    width: int = 64
    k1: int = 5
    k2: int = 5
    steps: int = 600
    dropout: float = 0.3
    decay: float = 0.05

    @classmethod
    def parse(cls, text: str) -> ConvRecipe:
        w, k1, k2, steps, dropout, decay = text.split(":")
        return cls(int(w), int(k1), int(k2), int(steps), float(dropout), float(decay))


def train_conv(head: JawHead, states: list[np.ndarray], gaps: list[np.ndarray], sources: list[str],
               recipe: ConvRecipe, seed: int = 0, causal: bool = True) -> Any:
    """A Conv1d(k1) -> GELU -> Conv1d(k2) network (torch, eval mode) on ``head``'s components, trained with AdamW
    (one-cycle, 2e-3) on 200-frame crops against each clip's z-scored lip gap, clips drawn with the ridge head's
    source weights. ``causal``: padded on the left, as a stream needs (else centred, for whole clips)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xs = [head.components(s) for s in states]
    ys = [zscore(g[:len(x)].astype(np.float64)).astype(np.float32) for x, g in zip(xs, gaps)]
    n = [min(len(x), len(y)) for x, y in zip(xs, ys)]
    weight = source_weights(sources, [m / 3000 for m in n], 0.5)
    p = np.array([weight[s] * m for s, m in zip(sources, n)])
    p /= p.sum()
    d = xs[0].shape[1]

    def pad(k: int) -> Any:  # causal: each output sees its frame and the k - 1 before it
        return torch.nn.ConstantPad1d((k - 1, 0) if causal else (k // 2, k // 2), 0.0)

    net = torch.nn.Sequential(
        torch.nn.Dropout(recipe.dropout),
        pad(recipe.k1), torch.nn.Conv1d(d, recipe.width, recipe.k1), torch.nn.GELU(), torch.nn.Dropout(recipe.dropout),
        pad(recipe.k2), torch.nn.Conv1d(recipe.width, 1, recipe.k2))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=recipe.decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=recipe.steps, pct_start=0.1)
    crop, batch = 200, 32
    for _ in range(recipe.steps):
        bx, by = np.zeros((batch, d, crop), np.float32), np.zeros((batch, crop), np.float32)
        bm = np.zeros((batch, crop), np.float32)
        for b, i in enumerate(rng.choice(len(xs), batch, p=p)):
            m = n[i]
            a = int(rng.integers(0, max(m - crop, 0) + 1))
            seg = slice(a, min(a + crop, m))
            ln = seg.stop - seg.start
            bx[b, :, :ln] = xs[i][seg].T
            by[b, :ln] = ys[i][seg]
            bm[b, :ln] = 1.0
        out = net(torch.from_numpy(bx))[:, 0]
        loss = (((out - torch.from_numpy(by)) ** 2) * torch.from_numpy(bm)).sum() / bm.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def conv_head(net: Any, centred: bool = False) -> ConvHead:
    """A :func:`train_conv` network's weights as a :class:`ConvHead` (its spreads 1; ``centred``: trained with
    ``causal=False``)."""
    first, second = net[2], net[6]

    def array(t: Any) -> np.ndarray:
        return t.detach().numpy().astype(np.float32)

    return ConvHead(array(first.weight), array(first.bias), array(second.weight)[0], float(array(second.bias)[0]),
                    1.0, 1.0, centred)


def fit_conv(head: JawHead, states: list[np.ndarray], gaps: list[np.ndarray], sources: list[str],
             recipe: ConvRecipe, seed: int = 0) -> JawHead:
    """``head`` with a :class:`ConvHead` beside it (:func:`train_conv`), the two added over their spreads on the
    training clips: causal where the head looks no frame ahead (a stream's), else centred (a whole clip's)."""
    causal = int(head.lags.max()) <= 0
    conv = conv_head(train_conv(head, states, gaps, sources, recipe, seed, causal=causal), centred=not causal)
    ridge = np.concatenate([head.ridge(s) for s in states])
    out = np.concatenate([conv.predict(head.components(s)) for s in states])
    return replace(head, conv=replace(conv, ridge_spread=float(ridge.std()), conv_spread=float(out.std())))


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


STREAM_BATCH = 64  # clips run as one batch of streams by ``states --stream``


def compute_all_states(data: Path, out: Path, encoder: Path, threads: int, stream: Path | None = None) -> None:
    """Every clip's states: the clip path's encoder, or (``stream``: the streaming step's file) what a live
    stream computes, the clips run as batches of streams in 20 ms pieces."""
    from facecast.train.fit import load_clips
    from facecast.whisper_states import WhisperStates
    from facecast.whisper_stream import StreamEncoder, stream_states

    clips, _ = load_clips(data)
    started, full = time.time(), {}
    if stream is not None:
        step = StreamEncoder(stream, threads=threads)
        ordered = sorted(clips, key=lambda c: len(c.audio))
        for at in range(0, len(ordered), STREAM_BATCH):
            batch = ordered[at:at + STREAM_BATCH]
            for clip, states in zip(batch, stream_states(step, [c.audio for c in batch], chunk=STATE_CHUNK)):
                full[clip.id] = states
            print(f"[{at + len(batch)}/{len(clips)}] {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    else:
        model = WhisperStates(encoder, threads=threads)
        for n, clip in enumerate(clips):
            full[clip.id] = model.states(clip.audio)
            if n % 100 == 0:
                print(f"[{n + 1}/{len(clips)}] {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_teacher(out, full, np.zeros(384, np.float32), np.eye(384, dtype=np.float32), 1.0)
    print(json.dumps({"clips": len(full), "seconds": round(time.time() - started, 1)}))


def _chosen(loaded: tuple[list[Any], dict[str, Any]], cached: dict[str, np.ndarray], all_clips: bool,
            leave_out: str | None = None) -> list[Any]:
    """The clips of ``loaded`` (``fit.load_clips``'s result) a head is fitted on: those ``cached`` has states for
    (all of them, unless the states were computed for a subset), the training split unless ``all_clips``, not
    of source ``leave_out``."""
    clips, manifest = loaded
    split = {e["id"]: e["split"] for e in manifest["clips"]}
    return [c for c in clips if c.id in cached and c.source != leave_out and (all_clips or split[c.id] == "train")]


def _training_set(loaded: tuple[list[Any], dict[str, Any]], cached: dict[str, np.ndarray], all_clips: bool,
                  leave_out: str | None = None) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """(states, lip gaps, sources) of :func:`_chosen`'s clips."""
    chosen = _chosen(loaded, cached, all_clips, leave_out)
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
               loaded: tuple[list[Any], dict[str, Any]] | None = None) -> dict[str, dict[str, float]]:
    """Leave-one-source-out r against the lip gap, per source and their mean (the ``"mean"`` row).

    For each training source, ``scorer(states, gaps, sources, source)`` gets every other source's clips and
    returns the fold's ``ClipCurves``; each curve is scored on the left-out source's ``eval_clips`` held-out
    clips (``loso.held_clips``) and the scores are averaged per source. Prints a JSON line per row.
    ``states``: the ``states`` command's file, or such states by clip id already in memory; ``loaded``: the
    dataset's ``fit.load_clips`` where the caller has it already.
    """
    from facecast.train.fit import load_clips
    from facecast.train.loso import held_clips

    cached = load_teacher(states) if isinstance(states, Path) else states
    sources = sorted({str(i).split("/")[0] for i in cached})
    loaded = loaded or load_clips(data)
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
        head = fit_head(states, gaps, srcs, args.dims, np.arange(args.lag_range[0], args.lag_range[1] + 1),
                        args.ridge, args.source_power)
        if args.conv is not None:
            head = fit_conv(head, states, gaps, srcs, args.conv)
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


def stream_prior(head: JawHead, states: list[np.ndarray], audios: list[np.ndarray], clips: int = 200,
                 seed: int = 0, model: Any = None) -> FusionPrior:
    """The stream fusion's prior: ``model``'s JawOpen (alone; None: the shipped model's) and ``head``'s output, at
    25 frames/s (the fusion runs at the model's 50: the same numbers, near enough for a prior), each clip's mean
    and spread averaged over ``clips`` clips drawn at random."""
    from facecast.animators.neural import NeuralAnimator
    from facecast.controls import Controls
    from facecast.motion import CHANNEL_INDEX

    model = model or NeuralAnimator(fuse=False)
    rows = []
    for i in np.random.default_rng(seed).permutation(len(states))[:clips]:
        jaw = model.animate(Audio(audios[i], 16_000), Controls(), fps=25).values[:, CHANNEL_INDEX["JawOpen"]]
        w = head.predict(states[i])[::2]
        rows.append([jaw.mean(), jaw.std(), w.mean(), w.std()])
    return FusionPrior(*(float(v) for v in np.mean(rows, axis=0)))


def score_stream_folds(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Leave-one-source-out r of streams: each fold's model run as a real stream (20 ms pieces) with its JawOpen
    fused frame by frame (:class:`RunningFusion`) with the head fitted without that source on stream states, the
    fusion's prior measured on that fold's training clips with its model and head (``--prior``: a head file's
    instead), trusted for ``--prior-frames``."""
    from facecast.animators.base import run_session
    from facecast.animators.neural import NeuralAnimator, NeuralSession
    from facecast.animators.whisper_jaw import StreamWhisper, load_prior
    from facecast.controls import Controls
    from facecast.train.fit import load_clips
    from facecast.train.loso import JAW
    from facecast.whisper_stream import StreamEncoder

    encoder = StreamEncoder(args.step)
    given = load_prior(args.prior) if args.prior else None
    loaded, cached = load_clips(args.data), load_teacher(args.states)
    lo, hi = args.lag_range

    def scorer(states: list[np.ndarray], gaps: list[np.ndarray], srcs: list[str], source: str) -> ClipCurves:
        head = fit_head(states, gaps, srcs, args.dims, np.arange(lo, hi + 1), args.ridge, args.source_power)
        if args.conv is not None:
            head = fit_conv(head, states, gaps, srcs, args.conv)
        fold_model = args.folds / source / "model" / "neural.onnx"
        model = NeuralAnimator(fold_model, fuse=False)
        prior = given or stream_prior(head, states, [c.audio for c in _chosen(loaded, cached, True, source)],
                                      model=model)
        whisper = StreamWhisper(head, prior, encoder, args.prior_frames)

        def curves(clip_states: np.ndarray, audio: Audio, fps: int, frames: int) -> dict[str, np.ndarray]:
            def stream(weight: float | None) -> np.ndarray:
                session = NeuralSession(model.model, Controls(), fps,
                                        whisper=None if weight is None else whisper.session(weight))
                taken = run_session(session, audio.samples)
                return held_to(np.array([f.values[JAW] for f in taken]), frames)

            m = stream(None)
            w = zscore(at_fps(head.predict(clip_states), fps, frames).astype(np.float64))
            ways = {"stream model": m, "stream whisper": w}
            ways |= {f"clip-zscored model+{a}whisper": zscore(m) + a * w for a in args.weights}
            ways |= {f"stream model+{a}whisper": stream(a) for a in args.weights}
            return ways

        return curves

    return fold_table(args.data, cached, args.eval_clips, scorer, loaded)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m facecast.train.whisper_jaw", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("states", help="every dataset clip's encoder states (the shipped ONNX encoder)")
    s.add_argument("--data", type=Path, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--encoder", type=Path, default=ENCODER_FILE)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--stream", type=Path, nargs="?", const=STREAM_FILE, default=None, metavar="STEP.onnx",
                   help="what a live stream computes, with the streaming step (default: the shipped one)")
    for name in ("fit", "folds"):
        q = sub.add_parser(name)
        q.add_argument("--data", type=Path, required=True)
        q.add_argument("--states", type=Path, required=True, help="the states command's output")
        q.add_argument("--dims", type=int, default=128, help="principal components (default 128)")
        q.add_argument("--lags", type=int, default=4, help="neighbours each side, 20 ms frames (default 4)")
        q.add_argument("--ridge", type=float, default=100.0, help="ridge penalty (default 100)")
        q.add_argument("--source-power", type=float, default=0.5)
        q.add_argument("--conv", type=ConvRecipe.parse, default=None, metavar="W:K1:K2:STEPS:DROPOUT:DECAY",
                       help="a convolution beside the ridge read-out (needs torch): causal for a stream's head "
                            "(lags up to 0), else centred; the shipped one: 64:5:5:600:0.3:0.05")
        q.add_argument("--lag-range", type=lambda t: tuple(int(v) for v in t.split(":")), default=None,
                       metavar="LO:HI", help="neighbours LO ... HI instead of --lags each side (a stream's: -8:0)")
    sub.choices["fit"].add_argument("--out", type=Path, default=HEAD_FILE)
    sub.choices["fit"].add_argument("--all-clips", action="store_true", help="fit on the validation speakers too")
    sub.choices["fit"].add_argument("--stream-prior", action="store_true",
                                    help="a stream's head: also store the fusion's prior (the shipped model's "
                                         "JawOpen and the head's output on 200 training clips)")
    folds = sub.choices["folds"]
    folds.add_argument("--folds", type=Path, default=None, help="facecast.train.loso's OUT, for the fold models")
    folds.add_argument("--eval-clips", type=int, default=15)
    folds.add_argument("--no-phonetic", action="store_true")
    folds.add_argument("--json", type=Path, default=None)
    folds.add_argument("--stream", dest="step", type=Path, nargs="?", const=STREAM_FILE, default=None,
                       metavar="STEP.onnx", help="score streams (the states must be the states --stream ones): "
                                                 "each fold model as a real stream fused with its head")
    folds.add_argument("--prior", type=Path, default=None,
                       help="--stream: the head file with the fusion's prior (default: each fold's own)")
    folds.add_argument("--prior-frames", type=int, default=STREAM_PRIOR_FRAMES,
                       help=f"--stream: what the fusion trusts its prior for (default {STREAM_PRIOR_FRAMES})")
    folds.add_argument("--weights", type=float, nargs="+", default=[3.0, 5.0], help="--stream: the head's")
    args = p.parse_args(argv)
    if args.command in ("fit", "folds"):
        args.lag_range = args.lag_range or (-args.lags, args.lags)
    if args.command == "states":
        compute_all_states(args.data, args.out, args.encoder, args.threads, args.stream)
    elif args.command == "fit":
        from facecast.train.fit import load_clips

        loaded, cached = load_clips(args.data), load_teacher(args.states)
        states, gaps, sources = _training_set(loaded, cached, args.all_clips)
        head = fit_head(states, gaps, sources, args.dims, np.arange(args.lag_range[0], args.lag_range[1] + 1),
                        args.ridge, args.source_power)
        if args.conv is not None:
            head = fit_conv(head, states, gaps, sources, args.conv)
        prior = None
        if args.stream_prior:
            prior = stream_prior(head, states, [c.audio for c in _chosen(loaded, cached, args.all_clips)])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        head.save(args.out, prior)
        print(json.dumps({"clips": len(states), "out": str(args.out)}))
    else:
        if args.step is not None and args.folds is None:
            p.error("folds --stream needs --folds (the fold models)")
        table = score_stream_folds(args) if args.step is not None else score_folds(args)
        if args.json:
            args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
