"""Leave-one-source-out scores of Whisper jaw heads: ridge variants and a small two-layer convolutional head.

    .venv/bin/python scripts/whisper_head_sweep.py --data DATASET --states STATES.npz \
        --configs "128:4:100,128:4:300" --nn "96:9:5:800:0.1:0.01"

Ridge configs are ``dims:lags:ridge[:step]`` (principal components, neighbours on each side, penalty, stride of
the neighbours). Conv configs are ``width:k1:k2:steps:dropout:decay``: Conv1d(k1) -> GELU -> Conv1d(k2) on the
first ridge config's principal components, trained on 200-frame crops against the z-scored lip gap with the
ridge head's source weights; "+ ridge" adds the two in standard units. ``--causal``: a stream's heads (on the
states of ``whisper_jaw states --stream``): ridge neighbours -lags ... 0, convolutions that see no frame ahead.

Each fold fits on every other training source and scores the left-out source's held-out clips (those of
``facecast.train.loso``) against the captured lip gap, as ``python -m facecast.train.whisper_jaw folds`` does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from facecast.animators.whisper_jaw import JawHead, at_fps
from facecast.audio import Audio
from facecast.train.whisper_jaw import ClipCurves, ConvRecipe, fit_head, fold_table, train_conv, zscore


def conv_predictor(head: JawHead, states: list[np.ndarray], gaps: list[np.ndarray], sources: list[str],
                   recipe: ConvRecipe, seed: int, causal: bool) -> Callable[[np.ndarray], np.ndarray]:
    """:func:`facecast.train.whisper_jaw.train_conv`'s network as a function of a clip's states."""
    import torch

    net = train_conv(head, states, gaps, sources, recipe, seed, causal)

    def predict(s: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(head.components(s).T[None].copy()))[0, 0].numpy()

    return predict


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--states", type=Path, required=True)
    p.add_argument("--eval-clips", type=int, default=15)
    p.add_argument("--configs", default="128:4:100", help="ridge configs dims:lags:ridge[:step], comma-separated")
    p.add_argument("--nn", default="", help="conv configs width:k1:k2:steps:dropout:decay, comma-separated")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--causal", action="store_true",
                   help="a stream's heads: ridge neighbours -lags ... 0, convolutions padded on the left")
    args = p.parse_args()
    import torch

    torch.set_num_threads(2)

    def scorer(states: list[np.ndarray], gaps: list[np.ndarray], srcs: list[str], source: str) -> ClipCurves:
        heads: dict[str, JawHead] = {}
        for cfg in args.configs.split(","):
            parts = [float(v) for v in cfg.split(":")]
            dims, lags, ridge = int(parts[0]), int(parts[1]), parts[2]
            step = int(parts[3]) if len(parts) > 3 else 1
            reach = np.arange(-lags, 1, step) if args.causal else np.arange(-lags, lags + 1, step)
            heads[cfg] = fit_head(states, gaps, srcs, dims, reach, ridge)
        base = next(iter(heads.values()))
        convs: dict[str, list[Callable[[np.ndarray], np.ndarray]]] = {}
        for cfg in filter(None, args.nn.split(",")):
            convs[cfg] = [conv_predictor(base, states, gaps, srcs, ConvRecipe.parse(cfg), seed, args.causal)
                          for seed in range(args.seeds)]

        def curves(clip_states: np.ndarray, _audio: Audio, fps: int, frames: int) -> dict[str, np.ndarray]:
            def at(x: np.ndarray) -> np.ndarray:
                return zscore(at_fps(x, fps, frames).astype(np.float64))

            ridge = {cfg: head.predict(clip_states) for cfg, head in heads.items()}
            out = {f"ridge {cfg}": at(x) for cfg, x in ridge.items()}
            ridge0 = zscore(next(iter(ridge.values())))
            for cfg, fns in convs.items():
                conv = np.mean([f(clip_states) for f in fns], 0)
                out[f"conv {cfg}"] = at(conv)
                out[f"conv {cfg} + ridge"] = at(zscore(conv) + ridge0)
            return out

        return curves

    table = fold_table(args.data, args.states, args.eval_clips, scorer)
    sources = [s for s in table if s != "mean"]
    for name, mean in table["mean"].items():
        print(f"{mean:.4f}  {name}  " + " ".join(f"{table[s][name]:.3f}" for s in sources))


if __name__ == "__main__":
    main()
