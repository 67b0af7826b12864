"""The yardstick (``../shared/data/video``, independent tracker) for the Whisper jaw head alone and fused with the
learned model and ``phonetic`` (docs/NEURAL.md, "Whisper's states in the clip path"); r at lag 0 per video.

    .venv/bin/python scripts/whisper_yardstick.py [--head HEAD.npz] [--encoder ENCODER.onnx] [--model MODEL.onnx]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from facecast.animators import get_animator
from facecast.animators.neural import NeuralAnimator
from facecast.animators.whisper_jaw import ENCODER_FILE, HEAD_FILE, WhisperJaw
from facecast.audio import MODEL_RATE, Audio
from facecast.controls import Controls


def z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--head", type=Path, nargs="+", default=[HEAD_FILE])
    p.add_argument("--encoder", type=Path, default=ENCODER_FILE)
    p.add_argument("--model", type=Path, default=None, help="learned model (default: the shipped one)")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "facecast-bench")
    args = p.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_neural import FPS, list_videos, video_audio
    from evalkit import yardstick

    model = NeuralAnimator(args.model, fuse=False)
    phonetic = get_animator("phonetic")
    heads = [WhisperJaw(args.encoder, h) for h in args.head]
    rows = {}
    for video in list_videos([yardstick.DATA / "video"], None):
        clip = video_audio(video)
        truth = yardstick.truth_for(video, len(clip), FPS, args.cache)
        audio = Audio(clip, MODEL_RATE)
        m = z(model.animate(audio, Controls(), fps=FPS).curve("JawOpen").astype(np.float64))
        ph = z(phonetic.animate(audio, Controls(), fps=FPS).curve("JawOpen").astype(np.float64))
        ways = {"model": m, "phonetic": ph, "model+phonetic": m + ph}
        for k, head in enumerate(heads):
            w = z(head.jaw(clip, FPS, len(m)).astype(np.float64))
            ways |= {f"whisper[{k}]": w, f"whisper+phonetic[{k}]": w + ph}
            ways |= {f"model+{a}whisper[{k}]": m + a * w for a in (1, 2, 3)}
            ways |= {f"model+{a}whisper+phonetic[{k}]": m + a * w + ph for a in (1, 2, 3)}
        rows[video.name] = {name: yardstick.lipsync(c.astype(np.float32), truth)[0] for name, c in ways.items()}
        print(video.name, json.dumps({k: round(v, 3) for k, v in rows[video.name].items()}), flush=True)
    names = next(iter(rows.values()))
    print("mean", json.dumps({k: round(float(np.mean([row[k] for row in rows.values()])), 3) for k in names}))


if __name__ == "__main__":
    main()
