"""Two predictions of the jaw fused into one, and a take replayed as a session, for whole clips.

Used by the ``neural`` animator when a whole clip is known in advance (``clip_session``): the learned model's
take, its JawOpen fused with the Whisper jaw head's (and, with a transcript, the ``phonetic`` animator's),
replayed to the caller as the audio arrives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class FusionPrior:
    """What a stream's fusion assumes before it has heard enough (:class:`RunningFusion`): the model's JawOpen
    mean and spread, and the second voice's, as measured on the training clips."""

    model_mean: float
    model_std: float
    other_mean: float
    other_std: float


class RunningFusion:
    """:func:`fuse_jaw` of two curves for a stream, frame by frame: each curve in standard units by its mean and
    spread so far instead of the whole clip's, their weighted sum over its running spread, put back on the model's
    running mean and spread, within [0, 1].

    Why running: a stream cannot see the clip's statistics. Each statistic is an average that starts from
    ``prior`` worth ``prior_frames`` frames and then weighs the last ``memory_frames`` (30 s) of speech most: a
    new stream starts as the training clips sit, and a long one follows its speaker. Frames the caller marks as
    not heard (quiet: an NPC waiting between lines) do not change them; learning from a minute of silence had
    shrunk the next sentence's jaw by a third. Nor, in a pause, do they trust the other curve: after ``hold_frames``
    quiet frames in a row (400 ms: the gaps inside speech are shorter) the output fades from the fused value to
    the model's own (``fade_frames``: the fade's time constant), and comes back at the next heard frame. The
    model's jaw rests in a pause; the Whisper head's, reading states that attend to the last 4 s of speech, stayed
    half open for a second after it (docs/NEURAL.md, "Faster streams").
    """

    def __init__(self, prior: FusionPrior, weights: tuple[float, float], prior_frames: int = 50,
                 memory_frames: int = 1500, hold_frames: int = 20, fade_frames: float = 5.0) -> None:
        self.weights = weights
        self._hold, self._fade = hold_frames, math.exp(-1.0 / fade_frames)
        self._quiet = hold_frames  # quiet frames in a row (a stream starts as after a pause: the model's own)
        self._share = 0.0  # the fused value's share of the output
        w_model, w_other = weights
        # the running first and second moments of the model, the other curve and the weighted sum (floats: a
        # stream calls this every 20 ms, where numpy's per-call cost would be most of the work)
        spread = math.sqrt(w_model ** 2 + w_other ** 2)  # the sum's spread if the two were uncorrelated
        self._mean = [prior.model_mean, prior.other_mean, 0.0]
        self._square = [m * m + s * s for m, s in zip(self._mean, (prior.model_std, prior.other_std, spread))]
        self._count = prior_frames
        self._memory = memory_frames

    def _std(self, k: int) -> float:
        return math.sqrt(max(self._square[k] - self._mean[k] ** 2, 1e-12))

    def __call__(self, model: Sequence[float] | np.ndarray, other: Sequence[float] | np.ndarray,
                 heard: Sequence[bool] | np.ndarray | None = None) -> np.ndarray:
        """The fused JawOpen of the next frames (``model`` and ``other`` [n], the same frames; ``heard`` [n]:
        which of them update the statistics, None: all)."""
        out = np.empty(len(model), np.float32)
        w_model, w_other = self.weights
        mean, square = self._mean, self._square
        learn = [True] * len(model) if heard is None else _floats(heard)
        for k, (m, o, update) in enumerate(zip(_floats(model), _floats(other), learn)):
            std_model, std_other = self._std(0), self._std(1)
            summed = w_model * (m - mean[0]) / std_model + w_other * (o - mean[1]) / std_other
            if update:
                self._count += 1
                rate = max(1.0 / self._count, 1.0 / self._memory)
                for i, value in enumerate((m, o, summed)):
                    mean[i] += rate * (value - mean[i])
                    square[i] += rate * (value * value - square[i])
                std_model = self._std(0)
                self._quiet, self._share = 0, 1.0
            else:
                self._quiet += 1
                if self._quiet > self._hold:
                    self._share *= self._fade
            fused = mean[0] + std_model * summed / self._std(2)
            out[k] = min(max(self._share * fused + (1.0 - self._share) * m, 0.0), 1.0)
        return out


def _floats(values: Sequence[Any] | np.ndarray) -> list[Any]:
    """Python numbers for a frame-by-frame loop (numpy's scalars cost more in one)."""
    return values.tolist() if isinstance(values, np.ndarray) else list(values)
