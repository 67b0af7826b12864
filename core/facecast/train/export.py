"""Export a trained checkpoint to the runtime's files: ``neural.onnx`` (the
:class:`~facecast.train.model.StreamSampler` graph, dynamic batch and length, the encoder state carried between
calls) and ``neural.json`` (what the runtime needs to drive it), then check that ONNX Runtime, streaming in
chunks, agrees with PyTorch computing the whole window at once.

    python -m facecast.train.export CHECKPOINT [--out core/facecast/models/neural]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facecast.animators.neural import FORMAT_VERSION, NeuralModel
from facecast.features import FEATURES
from facecast.fileio import atomic_path, atomic_write_text
from facecast.train.fit import load_model
from facecast.train.model import Model, Sampler, StreamSampler

GUIDANCE = 1.5
INPUTS = ("features", "noise", "cond", "guidance", "state")
OUTPUTS = ("mouth", "motion", "state_out")


def stream_inputs(model: Model, batch: int, frames: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, frames, FEATURES, generator=g), torch.randn(batch, frames, cfg.motion_dims, generator=g),
            torch.randn(batch, 2, generator=g), torch.full((batch,), GUIDANCE),
            torch.randn(batch, model.encoder.state_frames, cfg.width, generator=g))


def export(model: Model, out_dir: Path, info: dict[str, Any] | None = None) -> Path:
    """Write ``neural.onnx`` and ``neural.json`` into ``out_dir``; returns the ONNX path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "neural.onnx"
    sampler = StreamSampler(model).eval()
    axes = {"features": {0: "batch", 1: "frames"}, "noise": {0: "batch", 1: "frames"}, "cond": {0: "batch"},
            "guidance": {0: "batch"}, "state": {0: "batch"}, "mouth": {0: "batch", 1: "frames"},
            "motion": {0: "batch", 1: "frames"}, "state_out": {0: "batch"}}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(sampler, stream_inputs(model, 2, 40), tmp,
                          input_names=list(INPUTS), output_names=list(OUTPUTS), dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    meta = {"format": "facecast.neural", "version": FORMAT_VERSION, "config": model.cfg.to_dict(),
            "state_frames": model.encoder.state_frames, "guidance": GUIDANCE, "frame_s": 0.02, **(info or {})}
    atomic_write_text(out_dir / "neural.json", json.dumps(meta, indent=1))
    return path


def max_difference(model: Model, onnx_path: Path, batch: int = 3, frames: int = 200, chunk: int = 7) -> float:
    """Largest absolute difference between PyTorch's whole window (:class:`Sampler`) and ONNX Runtime streaming
    the same frames in ``chunk``-frame calls from the silence state, on random features."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, frames, FEATURES, generator=g)
    noise = torch.randn(batch, frames, cfg.motion_dims, generator=g)
    cond, guidance = torch.randn(batch, 2, generator=g), torch.full((batch,), GUIDANCE)
    runtime = NeuralModel(onnx_path)
    silence = torch.from_numpy(runtime.silence(None, 1)[0])  # as a new session sees it
    window = torch.cat([silence.repeat(batch, cfg.history, 1), x, silence.repeat(batch, cfg.lookahead, 1)], 1)
    with torch.no_grad():
        expected = Sampler(model).eval()(window, noise, cond, guidance)
    session = runtime.session
    state = np.repeat(runtime.initial_state[None], batch, 0)
    feed = torch.cat([x, silence.repeat(batch, cfg.lookahead, 1)], 1).numpy()
    padded = torch.cat([torch.zeros(batch, cfg.lookahead, cfg.motion_dims), noise], 1).numpy()
    mouth, motion = [], []
    for a in range(0, feed.shape[1], chunk):
        m, v, state = session.run(list(OUTPUTS), {"features": feed[:, a:a + chunk], "noise": padded[:, a:a + chunk],
                                                  "cond": cond.numpy(), "guidance": guidance.numpy(), "state": state})
        mouth.append(m)
        motion.append(v)
    got = (np.concatenate(mouth, 1)[:, cfg.lookahead:], np.concatenate(motion, 1)[:, cfg.lookahead:])
    return float(max(np.abs(e.numpy() - g).max() for e, g in zip(expected, got)))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m facecast.train.export", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "models" / "neural")
    p.add_argument("--info", type=Path, help="a JSON file of training facts to record in neural.json")
    args = p.parse_args(argv)
    model = load_model(args.checkpoint)
    info = json.loads(args.info.read_text()) if args.info else {}
    path = export(model, args.out, info)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB); ONNX vs PyTorch max |diff| "
          f"{max_difference(model, path):.2e}")


if __name__ == "__main__":
    main()
