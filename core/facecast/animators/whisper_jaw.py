"""The mouth opening read from Whisper tiny.en's encoder states, for whole clips.

Whisper's encoder was trained on 680 000 hours of many voices to carry what was said. A linear read-out of its
states (a ridge "head" fitted on the captured lip gap of ``../shared/data/train``) follows unseen speakers'
mouths better than any network this project can train on 55 minutes of mostly one speaker (docs/NEURAL.md,
"Whisper's states in the clip path"). It sees the whole clip in both directions (20 s windows), so only whole
clips use it: the ``neural`` animator fuses its curve with the learned model's JawOpen (:mod:`fusion`).

The head is pure numpy: the states' principal components (``mean``, ``basis``, ``scale``), each 20 ms frame with
its neighbours at ``lags`` frames, one weight per (lag, component) and a bias. It predicts the lip gap in the
clip's standard units (mean 0, spread 1), as the fusion wants. Files (``core/facecast/models/neural/``):
``whisper_tiny_en_encoder.onnx`` (the encoder, run by ONNX Runtime: :mod:`facecast.whisper_states`) and
``whisper_jaw.npz`` (the head, ``python -m facecast.train.whisper_jaw fit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecast.audio import MODEL_RATE
from facecast.errors import InvalidInput
from facecast.features import FRAME_S
from facecast.motion import ProgressCallback

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "neural"
ENCODER_FILE = MODEL_DIR / "whisper_tiny_en_encoder.onnx"
HEAD_FILE = MODEL_DIR / "whisper_jaw.npz"
# The encoder is 95 % of a whole clip's work: two intra-op threads (a 2-core machine's both cores, for the
# fraction of a second a clip takes) make a clip 1.7 times as fast (docs/NEURAL.md, "Speed and memory")
THREADS = 2


def lagged(pcs: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Rows [T, len(lags) * D]: each frame's components beside those ``lag`` frames later (ends held)."""
    frames = len(pcs)
    index = np.clip(np.arange(frames)[:, None] + np.asarray(lags)[None, :], 0, max(frames - 1, 0))
    return pcs[index].reshape(frames, -1)


@dataclass(frozen=True)
class JawHead:
    """A linear read-out of Whisper states (see the module docstring)."""

    mean: np.ndarray  # [384]
    basis: np.ndarray  # [384, D]
    scale: float
    lags: np.ndarray  # [K] ints, frames of 20 ms
    weights: np.ndarray  # [K * D]
    bias: float

    def components(self, states: np.ndarray) -> np.ndarray:
        return ((states - self.mean) @ self.basis / self.scale).astype(np.float32)

    def predict(self, states: np.ndarray) -> np.ndarray:
        """The lip gap [T] at 50 frames/s, in standard units, from states [T, 384]."""
        if len(states) == 0:
            return np.zeros(0, np.float32)
        return (lagged(self.components(states), self.lags) @ self.weights + self.bias).astype(np.float32)

    def save(self, path: Path) -> None:
        from facecast.fileio import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, mean=self.mean.astype(np.float32), basis=self.basis.astype(np.float32),
                     scale=np.float32(self.scale), lags=self.lags.astype(np.int64),
                     weights=self.weights.astype(np.float32), bias=np.float32(self.bias))

    @classmethod
    def load(cls, path: Path) -> JawHead:
        try:
            with np.load(path, allow_pickle=False) as d:
                return cls(d["mean"], d["basis"], float(d["scale"]), d["lags"], d["weights"], float(d["bias"]))
        except (OSError, KeyError, ValueError) as e:
            raise InvalidInput(f"{path}: not a Whisper jaw head ({e})") from e


def at_fps(curve: np.ndarray, fps: int, frames: int) -> np.ndarray:
    """A 50 frames/s curve sampled at output frames ``i / fps`` (linear, ends held)."""
    if len(curve) == 0:
        return np.zeros(frames, np.float32)
    t = np.arange(frames) / fps / FRAME_S
    return np.interp(t, np.arange(len(curve)), curve).astype(np.float32)


class WhisperJaw:
    """The encoder's ONNX Runtime session and the head: ``jaw(samples, fps, frames)`` for a whole clip."""

    def __init__(self, encoder_path: Path = ENCODER_FILE, head_path: Path = HEAD_FILE, threads: int = THREADS) -> None:
        from facecast.whisper_states import WhisperStates

        self.head = JawHead.load(head_path)
        self.states = WhisperStates(encoder_path, threads=threads)

    def jaw(self, samples: np.ndarray, fps: int, frames: int,
            progress: ProgressCallback | None = None) -> np.ndarray:
        """The lip gap [frames] in standard units at ``fps`` for 16 kHz float samples; ``progress(seconds heard,
        seconds in all)`` after each 20 s window."""
        seconds = len(samples) / MODEL_RATE

        def heard(done: int, windows: int) -> None:
            if progress is not None:
                progress(seconds * done / max(windows, 1), seconds)

        states = self.states.states(samples, progress=heard)
        return at_fps(self.head.predict(states), fps, frames)


def available() -> bool:
    """Whether the shipped encoder and head are present (without them, whole clips are the model's alone, or
    fused with ``phonetic`` where a transcript aligns or it is asked for)."""
    return ENCODER_FILE.is_file() and HEAD_FILE.is_file()
