"""Export a trained checkpoint to the runtime's files: ``neural.onnx`` (the :class:`~facecast.train.model.Sampler`
graph, dynamic batch and length) and ``neural.json`` (what the runtime needs to drive it), then check that ONNX
Runtime and PyTorch agree on it.

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

from facecast.features import FEATURES
from facecast.fileio import atomic_path, atomic_write_text
from facecast.train.fit import load_model
from facecast.train.model import Model, Sampler

GUIDANCE = 1.5
INPUTS = ("features", "noise", "cond", "guidance")
OUTPUTS = ("mouth", "motion")


def example_inputs(model: Model, batch: int, frames: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    out = frames - cfg.history - cfg.lookahead
    return (torch.randn(batch, frames, FEATURES, generator=g), torch.randn(batch, out, cfg.motion_dims, generator=g),
            torch.randn(batch, 2, generator=g), torch.full((batch,), GUIDANCE))


def export(model: Model, out_dir: Path, info: dict[str, Any] | None = None) -> Path:
    """Write ``neural.onnx`` and ``neural.json`` into ``out_dir``; returns the ONNX path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "neural.onnx"
    sampler = Sampler(model).eval()
    axes = {"features": {0: "batch", 1: "frames"}, "noise": {0: "batch", 1: "out_frames"}, "cond": {0: "batch"},
            "guidance": {0: "batch"}, "mouth": {0: "batch", 1: "out_frames"}, "motion": {0: "batch", 1: "out_frames"}}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(sampler, example_inputs(model, 2, model.cfg.history + model.cfg.lookahead + 40), tmp,
                          input_names=list(INPUTS), output_names=list(OUTPUTS), dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    meta = {"format": "facecast.neural", "version": 1, "config": model.cfg.to_dict(), "guidance": GUIDANCE,
            "frame_s": 0.02, **(info or {})}
    atomic_write_text(out_dir / "neural.json", json.dumps(meta, indent=1))
    return path


def max_difference(model: Model, onnx_path: Path, batch: int = 3, frames: int = 200) -> float:
    """Largest absolute difference between PyTorch and ONNX Runtime outputs on random inputs."""
    from facecast.runtime import inference_session

    inputs = example_inputs(model, batch, frames, seed=1)
    with torch.no_grad():
        expected = Sampler(model).eval()(*inputs)
    session = inference_session(onnx_path)
    got = session.run(list(OUTPUTS), {name: t.numpy() for name, t in zip(INPUTS, inputs)})
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
