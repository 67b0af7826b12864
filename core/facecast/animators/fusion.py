"""Two predictions of the jaw fused into one, and a take replayed as a session, for whole clips.

Used by the ``neural`` animator when a whole clip is known in advance (``clip_session``): the learned model's
take, its JawOpen fused with the Whisper jaw head's (and, with a transcript, the ``phonetic`` animator's),
replayed to the caller as the audio arrives.
"""

from __future__ import annotations

import math

import numpy as np

from facecast.animators.base import StreamingSession
from facecast.audio import MODEL_RATE
from facecast.controls import Controls
from facecast.motion import MotionFrame


def fuse_jaw(model_jaw: np.ndarray, *others: np.ndarray, weights: list[float] | None = None) -> np.ndarray:
    """JawOpen [T] from several predictions of it for the same clip: their sum in standard units (each minus its
    mean, over its standard deviation), put back on ``model_jaw``'s mean and spread, within [0, 1].

    Why: the learned model, the phone recogniser and Whisper's encoder hear the same speech through unrelated
    means (a network trained on captured faces; pocketsphinx's acoustic model and a phone-to-viseme table; a
    speech recogniser's encoder trained on many voices), so their errors are largely independent and the sum
    follows the real mouth better than any one (docs/NEURAL.md: leave-one-source-out and yardstick). Standard
    units weigh them equally whatever each one's scale; the result keeps the model's scale, which was learned
    from real faces. A flat prediction (silence) carries no timing and is left out; a shorter one holds its last
    value. ``weights``: one per curve, the model's first (default all 1).
    """
    model = np.asarray(model_jaw, np.float64)
    if len(model) == 0 or model.std() < 1e-6:
        return np.asarray(model_jaw, np.float32).copy()
    weights = [1.0] * (len(others) + 1) if weights is None else list(weights)
    if len(weights) != len(others) + 1:
        raise ValueError(f"fuse_jaw: {len(weights)} weights for {len(others) + 1} curves")
    summed = weights[0] * (model - model.mean()) / model.std()
    for other, weight in zip(others, weights[1:]):
        curve = np.asarray(other, np.float64)[:len(model)]
        if 0 < len(curve) < len(model):
            curve = np.pad(curve, (0, len(model) - len(curve)), mode="edge")
        if len(curve) == len(model) and curve.std() >= 1e-6:
            summed = summed + weight * (curve - curve.mean()) / curve.std()
    fused = model.mean() + model.std() * summed / summed.std()
    return np.clip(fused, 0.0, 1.0).astype(np.float32)


class ReplaySession(StreamingSession):
    """A take computed in advance, handed out frame by frame as its audio arrives: frame ``i`` once the audio
    reaches ``i / fps`` plus ``lookahead_s`` (as the animator that made it would), the rest at :meth:`flush`."""

    def __init__(self, frames: list[MotionFrame], controls: Controls, fps: int, lookahead_s: float) -> None:
        super().__init__(controls, fps)
        self._frames = frames
        self._lookahead = lookahead_s

    def push(self, pcm: np.ndarray) -> list[MotionFrame]:
        self.samples_received += len(np.asarray(pcm).reshape(-1))
        ready = math.floor((self.samples_received / MODEL_RATE - self._lookahead) * self.fps + 1e-9) + 1
        return self._take(max(0, min(ready, self.total_frames)))

    def flush(self) -> list[MotionFrame]:
        return self._take(len(self._frames))

    def _take(self, stop: int) -> list[MotionFrame]:
        out = self._frames[self.frames_emitted:stop]
        self.frames_emitted = max(self.frames_emitted, min(stop, len(self._frames)))
        return out
