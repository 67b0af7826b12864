"""The end of a take: the face settles to neutral over its last ~150 ms, so a take never stops mid-blink or with
the teeth bared. One pure function for whole clips and a small holder for frames that arrive in batches (the
daemon's Animate), so every animator's offline take ends the same way; live streams are left alone.

The window holds the pose of the frame just before it and eases it to zero with a smoothstep (all 61 channels:
blendshapes, head and eye angles, and the head translation), so nothing starts moving in the last 150 ms (a blink
that would begin there does not) and the last frame is neutral; frames before the window are untouched."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from facecast.motion import MotionClip, MotionFrame

SETTLE_SECONDS = 0.15


def settle_frames(fps: int, seconds: float = SETTLE_SECONDS) -> int:
    """How many frames at the end of a take settle."""
    return max(1, math.ceil(seconds * fps - 1e-9)) if seconds > 0 else 0


def settle_weights(count: int) -> np.ndarray:
    """Weights of the last ``count`` frames: just under 1 down to 0 (the last frame is neutral), smoothstep."""
    if count <= 0:
        return np.zeros(0, np.float32)
    x = np.arange(1, count + 1, dtype=np.float64) / count
    return (1.0 - (3 * x**2 - 2 * x**3)).astype(np.float32)


def settle_end(values: np.ndarray, head_translation: np.ndarray, fps: int,
               seconds: float = SETTLE_SECONDS) -> tuple[np.ndarray, np.ndarray]:
    """Copies of ``values`` [T, 61] and ``head_translation`` [T, 3] whose last ``seconds`` ease to neutral."""
    values, head_translation = values.copy(), head_translation.copy()
    count = min(settle_frames(fps, seconds), len(values))
    if count:
        weights = settle_weights(count)[:, None]
        before = max(0, len(values) - count - 1)
        values[-count:] = values[before] * weights
        head_translation[-count:] = head_translation[before] * weights
    return values, head_translation


def settle_clip(clip: MotionClip, seconds: float = SETTLE_SECONDS) -> MotionClip:
    """``clip`` ending in neutral over its last ``seconds`` (recorded in its metadata)."""
    translation_in = clip.head_translation if clip.head_translation is not None else np.zeros((clip.num_frames, 3))
    values, translation = settle_end(clip.values, translation_in, clip.fps, seconds)
    return dataclasses.replace(clip, values=values, head_translation=translation,
                               metadata={**clip.metadata, "settle_seconds": seconds})


class TakeEnd:
    """Settles frames that arrive in batches: :meth:`feed` holds back the last few frames, :meth:`finish`
    (at the end of the audio) returns them settled."""

    def __init__(self, fps: int, seconds: float = SETTLE_SECONDS) -> None:
        self.count = settle_frames(fps, seconds)
        self.held: list[MotionFrame] = []

    def feed(self, frames: list[MotionFrame]) -> list[MotionFrame]:
        self.held += frames
        ready = max(0, len(self.held) - self.count - 1)  # the window and the frame before it stay held
        out, self.held = self.held[:ready], self.held[ready:]
        return out

    def finish(self, frames: list[MotionFrame] | None = None) -> list[MotionFrame]:
        held, self.held = self.held + list(frames or []), []
        if not held:
            return []
        values, translation = settle_end(np.stack([f.values for f in held]),
                                         np.stack([f.head_translation for f in held]), 1, self.count)
        return [dataclasses.replace(f, values=v, head_translation=t) for f, v, t in zip(held, values, translation)]
