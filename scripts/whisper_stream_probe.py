"""What Whisper's jaw would give live streams: leave-one-source-out scores of the ridge jaw head on encoder states
that a stream with a bounded lookahead could compute.

    .venv/bin/python scripts/whisper_stream_probe.py --data DATASET --states STATES.npz \\
        --variants "window:100:2:-8:1,band:1000:1:-8:1"

Each variant is ``kind:history:ahead:lag_lo:lag_hi[:offset]``:
- ``window``: frame i is read from its own encoder call (the shipped ONNX encoder) on the log-mel of frames
  i - history ... i + ahead: exact for a stream, one call of history + ahead + 1 frames per frame;
- ``band``: one pass of the first two layers (torch, float32) over the clip's 20 s windows with attention limited
  to ``history`` frames back and ``ahead`` frames forward in each layer: what a stream could compute once per
  frame with cached keys and values (two layers: 2 x ``ahead`` frames of lookahead, plus about one frame for
  the convolutions); ``offset`` starts each window at that sinusoidal position instead of 0, as a stream
  that ran longer than the encoder's 30 s of positions would have to;
- ``clip``: the given whole-clip states (the clip path's), for the same clips.
The head takes neighbours ``lag_lo`` ... ``lag_hi`` (a positive ``lag_hi`` is more lookahead). Clips: every
held-out clip of each source (``facecast.train.loso.held_clips``) and ``--per-source`` more of each, the rest
left out to keep the per-frame encoder calls affordable (about 90 s for the ``window`` variant on 2 cores).
Needs the ``train`` extra (torch) for ``band``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from facecast.animators.whisper_jaw import ENCODER_FILE, JawHead, at_fps
from facecast.audio import Audio
from facecast.train.teacher import load_teacher
from facecast.train.whisper_jaw import GAP, ClipCurves, fit_head, fold_table
from facecast.whisper_states import STATE_DIMS, STATE_SAMPLES, WhisperStates, log_mel


def choose_clips(data: Path, per_source: int, seed: int = 0) -> list[Any]:
    """Every held-out clip of each source, and ``per_source`` others of each drawn at random."""
    from facecast.train.fit import load_clips
    from facecast.train.loso import held_clips

    clips, _ = load_clips(data)
    held = {clip_id for source in sorted({c.source for c in clips}) for clip_id, *_ in held_clips(data, source, 15)}
    rng, chosen = np.random.default_rng(seed), []
    by_source: dict[str, list[Any]] = defaultdict(list)
    for clip in clips:
        by_source[clip.source].append(clip)
    for source in sorted(by_source):
        others = [c for c in by_source[source] if c.id not in held]
        chosen += [c for c in by_source[source] if c.id in held]
        chosen += [others[i] for i in rng.permutation(len(others))[:per_source]]
    return chosen


def window_states(audio: np.ndarray, encoder: WhisperStates, history: int, ahead: int) -> np.ndarray:
    """States [frames, 384], frame i from one encoder call on the log-mel of frames i - history ... i + ahead."""
    frames = len(audio) // STATE_SAMPLES
    mel = log_mel(audio)[:, :frames * 2]
    groups: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for i in range(frames):
        end = min(frames, i + ahead + 1)
        start = max(0, end - (history + ahead + 1))
        groups[end - start].append((i, start, end))
    states = np.zeros((frames, STATE_DIMS), np.float32)
    for items in groups.values():
        for b in range(0, len(items), 64):
            batch = items[b:b + 64]
            x = np.ascontiguousarray(np.stack([mel[:, 2 * s:2 * e] for _, s, e in batch]), np.float32)
            y = encoder.session.run(None, {encoder.input_name: x})[0]
            for k, (i, s, _) in enumerate(batch):
                states[i] = y[k, i - s]
    return states


def band_encoder(offset: int = 0) -> Any:
    """The first two layers in torch, for :class:`BandStates` to set each layer's attention mask to a band;
    ``offset``: each window's first frame takes Whisper's sinusoidal position ``offset`` instead of 0 (extended
    past the table's 1500 with the same formula)."""
    import torch

    from facecast.train.whisper_onnx import build_encoder, default_model_dir

    encoder = build_encoder(default_model_dir(), taps=[1])
    if offset:
        channels = encoder.positions.shape[1] // 2
        rates = np.exp(-np.log(10_000) / (channels - 1) * np.arange(channels))  # Whisper's sinusoids()
        angles = np.arange(offset, offset + encoder.positions.shape[0])[:, None] * rates[None, :]
        table = np.concatenate([np.sin(angles), np.cos(angles)], 1).astype(np.float16).astype(np.float32)
        encoder.positions = torch.nn.Parameter(torch.from_numpy(table))
    return encoder


class BandStates(WhisperStates):
    """:class:`WhisperStates`' 20 s windowing (the clip path's) around ``band_encoder`` instead of the ONNX file,
    each layer's attention limited to [i - history, i + ahead]."""

    def __init__(self, history: int, ahead: int, offset: int = 0) -> None:
        self.encoder, self.dims = band_encoder(offset), STATE_DIMS
        self.history, self.ahead = history, ahead
        self.masks: dict[int, Any] = {}  # by window length, in frames

    def encode(self, mel: np.ndarray) -> np.ndarray:
        import torch

        n = mel.shape[1] // 2
        if n not in self.masks:
            offset = torch.arange(n)[None, :] - torch.arange(n)[:, None]  # key frame - query frame
            self.masks[n] = torch.where((offset <= self.ahead) & (offset >= -self.history), 0.0, float("-inf"))
        for layer in self.encoder.layers:
            layer.mask = self.masks[n]
        with torch.no_grad():
            return self.encoder(torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32))[None])[0].numpy()


def variant_reader(kind: str, history: int, ahead: int, offset: int,
                   encoder: WhisperStates) -> Callable[[np.ndarray], np.ndarray]:
    """16 kHz audio -> that variant's states (``clip``: the whole-clip encoder, as the clip path runs it)."""
    if kind == "window":
        return lambda audio: window_states(audio, encoder, history, ahead)
    if kind == "band":
        return BandStates(history, ahead, offset).states
    return encoder.states


def yardstick_rows(name: str, head: JawHead, read: Callable[[np.ndarray], np.ndarray],
                   cache: Path) -> dict[str, dict[str, float]]:
    """r at lag 0 on each yardstick video (and their mean) of the head alone, the model's stream and both."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_neural import FPS, list_videos, video_audio
    from evalkit import yardstick

    from facecast.animators.neural import NeuralAnimator
    from facecast.audio import MODEL_RATE
    from facecast.controls import Controls
    from facecast.train.whisper_jaw import zscore

    model = NeuralAnimator(fuse=False)  # a clip of the model alone is exactly its stream
    rows: dict[str, dict[str, float]] = {}
    for video in list_videos([yardstick.DATA / "video"], None):
        clip = video_audio(video)
        truth = yardstick.truth_for(video, len(clip), FPS, cache)
        m = zscore(model.animate(Audio(clip, MODEL_RATE), Controls(), fps=FPS).curve("JawOpen").astype(np.float64))
        w = zscore(at_fps(head.predict(read(clip)), FPS, len(m)).astype(np.float64))
        ways = {name: w, "model alone": m, f"model + 3 x {name}": m + 3 * w}
        rows[video.name] = {k: yardstick.lipsync(c.astype(np.float32), truth)[0] for k, c in ways.items()}
        print(video.name, json.dumps({k: round(v, 3) for k, v in rows[video.name].items()}), flush=True)
    rows["mean"] = {k: float(np.mean([rows[v][k] for v in rows])) for k in next(iter(rows.values()))}
    return rows


def ridge_scorer(name: str, lags: np.ndarray) -> Callable[[list[np.ndarray], list[np.ndarray], list[str], str],
                                                           ClipCurves]:
    """A fold scorer: the shipped ridge recipe with these neighbours, its curve named ``name``."""

    def scorer(states: list[np.ndarray], gaps: list[np.ndarray], sources: list[str], _left_out: str) -> ClipCurves:
        head = fit_head(states, gaps, sources, lags=lags)

        def curves(clip_states: np.ndarray, _audio: Audio, fps: int, frames: int) -> dict[str, np.ndarray]:
            return {name: at_fps(head.predict(clip_states), fps, frames)}

        return curves

    return scorer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--states", type=Path, required=True, help="whole-clip states (whisper_jaw states)")
    p.add_argument("--variants", default="clip:0:0:-4:4,window:100:2:-8:1,band:1000:1:-8:1")
    p.add_argument("--per-source", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--yardstick", action="store_true",
                   help="also read the yardstick videos once: each variant's head fitted on all the chosen clips, "
                        "alone and fused with the model's stream (3 x the head, whole-video standard units)")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "facecast-bench")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    clips = choose_clips(args.data, args.per_source)
    full = load_teacher(args.states)
    encoder = WhisperStates(ENCODER_FILE, threads=args.threads)
    results: dict[str, dict[str, float]] = {}
    for spec in args.variants.split(","):
        kind, history, ahead, lo, hi, *more = spec.split(":")
        if kind not in ("clip", "window", "band"):
            p.error(f"unknown variant kind {kind!r} (clip, window or band)")
        read = variant_reader(kind, int(history), int(ahead), int(more[0]) if more else 0, encoder)
        states = {c.id: full[c.id] if kind == "clip" else read(c.audio) for c in clips}
        lags = np.arange(int(lo), int(hi) + 1)
        table = fold_table(args.data, states, 15, ridge_scorer(spec, lags))
        for row, values in table.items():
            results.setdefault(row, {}).update(values)
        if args.yardstick:
            head = fit_head([states[c.id] for c in clips], [c.targets[:, GAP] for c in clips],
                            [c.source for c in clips], lags=lags)
            for row, values in yardstick_rows(spec, head, read, args.cache).items():
                results.setdefault(f"yardstick {row}", {}).update(values)
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
