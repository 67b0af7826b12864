"""Leave-one-source-out check of the learned animator against ``phonetic`` and ``energy`` on the same clips.

For each source of the dataset: train on the other sources (``--holdout-source``), export, animate the held-out
source's clips (their own audio) with the fold's model and with the baselines, and report the Pearson r at lag 0
between each animator's JawOpen and two truths (offset-corrected, at the clip's frame rate): the captured JawOpen
(``jawopen``), and the measured lip gap, inner-lip gap over inter-ocular distance (``opening``: the mouth opening
itself, what ``../shared/tools/lipsync_check.py`` measures on the yardstick videos).

    python -m facecast.train.loso --data DIR --out DIR [--epochs 6 --max-clips-per-source 150 --eval-clips 40]

Each fold's model is trained from scratch with the fold recipe (fewer clips and steps than the shipped weights);
``--rescore`` scores fold models already trained. ``neural`` is what whole clips get (the model's JawOpen fused with
``phonetic``'s), ``neural-live`` what streams get (the model alone).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from facecast.audio import MODEL_RATE, Audio
from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX
from facecast.train.dataset import lip_gaps

JAW = CHANNEL_INDEX["JawOpen"]


TRUTHS = ("jawopen", "opening")


def held_clips(data_dir: Path, source: str, limit: int) -> list[tuple[str, Audio, dict[str, np.ndarray], int]]:
    """(id, audio, {truth: curve at the clip's fps} for :data:`TRUTHS`, fps) of up to ``limit`` clips of
    ``source``; a dataset without lip gaps has the captured JawOpen for both."""
    out = []
    with np.load(data_dir / "examples.npz", allow_pickle=False) as data:
        openings = lip_gaps(data)
        for clip_id, (a0, an, v0, vn, fps) in zip(data["ids"], data["index"]):
            if str(clip_id).split("/")[0] != source:
                continue
            audio = Audio(data["audio"][a0:a0 + an].astype(np.float32) / 32767.0, MODEL_RATE, str(clip_id))
            truth = {"jawopen": data["values"][v0:v0 + vn, JAW].copy(), "opening": openings[v0:v0 + vn].copy()}
            out.append((str(clip_id), audio, truth, int(fps)))
    if len(out) > limit:
        pick = np.random.default_rng(0).choice(len(out), limit, replace=False)
        out = [out[i] for i in sorted(pick)]
    return out


def jaw_r(animator: object, audio: Audio, truth: dict[str, np.ndarray], fps: int) -> dict[str, float]:
    """Pearson r at lag 0 between the animator's JawOpen for ``audio`` and each truth curve."""
    jaw = animator.animate(audio, Controls(), fps=fps).values[:, JAW]  # type: ignore[attr-defined]
    out = {}
    for name, curve in truth.items():
        n = min(len(curve), len(jaw))
        a, b = jaw[:n], curve[:n]
        out[name] = float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-6 and b.std() > 1e-6 else 0.0
    return out


def train_fold(args: argparse.Namespace, source: str, fold: Path) -> None:
    """Train the fold that leaves ``source`` out with the fold recipe and export its last epoch's weights to
    ``fold/model`` (best.pt is chosen by the held-out source's r, which would tune on the fold)."""
    from facecast.train import fit
    from facecast.train.export import export

    fit.main(["--data", str(args.data), "--out", str(fold), "--epochs", str(args.epochs),
              "--holdout-source", source, "--max-clips-per-source", str(args.max_clips_per_source),
              "--threads", str(args.threads), "--width", str(args.width), "--batch", str(args.batch),
              "--lifter", str(args.lifter), "--vtlp", str(args.vtlp), "--band-masks", str(args.band_masks),
              "--seed", str(args.seed),
              "--r-target", args.r_target, "--norm", args.norm]
             + (["--teacher", str(args.teacher), "--teacher-weight", str(args.teacher_weight),
                 "--teacher-kind", args.teacher_kind, "--teacher-pause-db", str(args.teacher_pause_db)]
                if args.teacher else [])
             + (["--room-tone"] if args.room_tone else [])
             + (["--whole-clip"] if args.whole_clip else [])
             + (["--corpus", str(args.corpus), "--corpus-share", str(args.corpus_share)] if args.corpus else []))
    export(fit.load_model(fold / "checkpoint.pt"), fold / "model")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m facecast.train.loso", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--max-clips-per-source", type=int, default=150)
    p.add_argument("--eval-clips", type=int, default=40)
    p.add_argument("--sources", default="", help="comma-separated sources (default: every source)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lifter", type=int, default=0, help="cepstral coefficients kept (see fit --lifter)")
    p.add_argument("--vtlp", type=float, default=0.0, help="vocal-tract length perturbation (see fit --vtlp)")
    p.add_argument("--band-masks", type=int, default=0, help="mel-band masks per window (see fit --band-masks)")
    p.add_argument("--norm", choices=("fixed", "running"), default="fixed", help="log-mel standardisation (see fit)")
    p.add_argument("--teacher", type=Path, default=None, help="Whisper teacher states for every fold (see fit)")
    p.add_argument("--teacher-weight", type=float, default=0.5)
    p.add_argument("--teacher-kind", choices=("states", "classes"), default="states")
    p.add_argument("--teacher-pause-db", type=float, default=0.0)
    p.add_argument("--room-tone", action="store_true")
    p.add_argument("--whole-clip", action="store_true", help="symmetric encoder blocks (see fit --whole-clip)")
    p.add_argument("--corpus", type=Path, default=None, help="synthetic corpus for every fold (see fit --corpus)")
    p.add_argument("--corpus-share", type=float, default=0.25)
    p.add_argument("--r-target", choices=TRUTHS, default="jawopen", help="what the r loss follows (see fit)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rescore", action="store_true",
                   help="score the fold models already in OUT (OUT/SOURCE/model) instead of training them")
    args = p.parse_args(argv)
    from facecast.animators import get_animator
    from facecast.animators.neural import NeuralAnimator

    manifest = json.loads((args.data / "manifest.json").read_text())
    sources = args.sources.split(",") if args.sources else sorted({c["source"] for c in manifest["clips"]})
    report: dict = {"folds": {}, "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    for source in sources:
        fold = args.out / source
        model = fold / "model" / "neural.onnx"
        if not args.rescore:
            train_fold(args, source, fold)
        elif not model.is_file():
            raise SystemExit(f"error: --rescore: no fold model at {model}")
        # clips get the model fused with phonetic, streams the model alone; not with the shipped Whisper jaw head,
        # which was fitted on every training source (its folds: python -m facecast.train.whisper_jaw folds)
        animators = {"neural": NeuralAnimator(model, fuse_whisper=False, fuse_phonetic=True),
                     "neural-live": NeuralAnimator(model, fuse=False),
                     "phonetic": get_animator("phonetic"), "energy": get_animator("energy")}
        clips = held_clips(args.data, source, args.eval_clips)
        scores = {name: [jaw_r(a, audio, truth, fps) for _, audio, truth, fps in clips]
                  for name, a in animators.items()}
        report["folds"][source] = {"clips": len(clips), **{
            truth: {name: float(np.mean([s[truth] for s in rs])) for name, rs in scores.items()} for truth in TRUTHS}}
        print(json.dumps({source: report["folds"][source]}), flush=True)
        (args.out / "loso.json").write_text(json.dumps(report, indent=1))
    names = ("neural", "neural-live", "phonetic", "energy")
    report["mean"] = {truth: {k: float(np.mean([f[truth][k] for f in report["folds"].values()])) for k in names}
                      for truth in TRUTHS}
    (args.out / "loso.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report["mean"]))
    return report


if __name__ == "__main__":
    main()
