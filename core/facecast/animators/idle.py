"""Life between words: blinks, gaze saccades and a slow head sway, deterministic under a seed.

Everything is a function of time and of random draws made in order, so a clip animated offline and the same
clip streamed in chunks of any size get identical blinks, gaze and head motion.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX as C

BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.07, 0.03, 0.15
MIN_BLINK_GAP_S = 0.4
EYE_LOOK_RANGE_RAD = 0.5  # eye rotation at which an EyeLook* blendshape reaches 1
HEAD_SWAY = (  # per axis: amplitude (rad), three frequencies (Hz)
    ("HeadYaw", 0.035, (0.11, 0.23, 0.41)),
    ("HeadPitch", 0.022, (0.13, 0.29, 0.47)),
    ("HeadRoll", 0.014, (0.07, 0.19, 0.37)),
)


Draw = Callable[[np.random.Generator], tuple[float, np.ndarray]]  # -> (gap to the next event, its payload)


class EventTrack:
    """Event start times drawn in order from a seeded generator; extended lazily as time advances."""

    def __init__(self, rng: np.random.Generator, draw: Draw) -> None:
        self._rng, self._draw = rng, draw
        self.starts: list[float] = []
        self.payloads: list[np.ndarray] = []
        self._next = 0.0
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def until(self, t_end: float, scale: float) -> None:
        while self._next <= t_end:
            gap, payload = self._draw(self._rng)
            if not self.starts:
                # A clip starts at a random moment of the process, not right after an event.
                gap *= self._rng.uniform()
            self._next += gap * scale
            self.starts.append(self._next)
            self.payloads.append(payload)
            self._arrays = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, payloads) as arrays, made again only when the track grew (a live stream asks every chunk,
        and an hour of it holds thousands of events)."""
        if self._arrays is None:
            self._arrays = (np.asarray(self.starts), np.asarray(self.payloads))
        return self._arrays


class IdleMotion:
    """Writes blinks, gaze and head sway into motion frames."""

    def __init__(self, seed: int) -> None:
        root = np.random.SeedSequence(seed)
        blink_seq, gaze_seq, head_seq = root.spawn(3)
        self._blinks = EventTrack(np.random.default_rng(blink_seq), _blink_gap)
        self._saccades = EventTrack(np.random.default_rng(gaze_seq), _saccade)
        head = np.random.default_rng(head_seq)
        self._head_phases = head.uniform(0, 2 * np.pi, size=(len(HEAD_SWAY), 3))

    def apply(self, values: np.ndarray, times: np.ndarray, controls: Controls,
              extra_blinks: np.ndarray | None = None) -> None:
        """Fill blink, eye and head channels of ``values`` [T, 61] for frame ``times`` [T] (seconds)."""
        if len(times) == 0:
            return
        blink = self.blink(times, controls.blink_rate)
        if extra_blinks is not None:
            blink = np.maximum(blink, extra_blinks)
        values[:, C["EyeBlinkLeft"]] = np.maximum(values[:, C["EyeBlinkLeft"]], blink)
        values[:, C["EyeBlinkRight"]] = np.maximum(values[:, C["EyeBlinkRight"]], blink)
        yaw, pitch = self.gaze(times, controls)
        set_eye_rotation(values, yaw, pitch)
        for axis, (name, amplitude, freqs) in enumerate(HEAD_SWAY):
            sway = sum(np.sin(2 * np.pi * f * times + self._head_phases[axis, k]) for k, f in enumerate(freqs)) / 3
            values[:, C[name]] += amplitude * controls.head_motion * sway

    def blink(self, times: np.ndarray, rate_per_min: float) -> np.ndarray:
        if rate_per_min <= 0:
            return np.zeros_like(times, dtype=np.float32)
        self._blinks.until(float(times[-1]) + 1.0, 60.0 / rate_per_min)
        return blink_shape(times, self._blinks.arrays()[0])

    def gaze(self, times: np.ndarray, controls: Controls) -> tuple[np.ndarray, np.ndarray]:
        self._saccades.until(float(times[-1]) + 1.0, 1.0)
        starts, offsets = self._saccades.arrays()
        idx = np.searchsorted(starts, times, side="right") - 1
        offset = np.where(idx[:, None] >= 0, offsets[np.maximum(idx, 0)], 0.0)
        base_yaw, base_pitch = controls.gaze or (0.0, 0.0)
        return base_yaw + offset[:, 0], base_pitch + offset[:, 1]


def blink_shape(times: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Eyelid closure at ``times`` for blinks starting at ``starts`` (close, hold, open)."""
    if starts.size == 0:
        return np.zeros_like(times, dtype=np.float32)
    idx = np.searchsorted(starts, times, side="right") - 1
    dt = np.where(idx >= 0, times - starts[np.maximum(idx, 0)], np.inf)
    closing = np.clip(dt / BLINK_CLOSE_S, 0, 1)
    opening = np.clip(1 - (dt - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S, 0, 1)
    return np.where(dt < BLINK_CLOSE_S, closing, opening).astype(np.float32) ** 0.8


def set_eye_rotation(values: np.ndarray, yaw: np.ndarray, pitch: np.ndarray) -> None:
    """Write both eyes' yaw/pitch (radians; +yaw = towards the subject's left, +pitch = down) and the
    matching EyeLook* blendshapes, so rigs driven by either agree."""
    for side in ("Left", "Right"):
        values[:, C[f"{side}EyeYaw"]] = yaw
        values[:, C[f"{side}EyePitch"]] = pitch
        outward = (yaw if side == "Left" else -yaw) / EYE_LOOK_RANGE_RAD
        towards_own_side, towards_nose = np.clip(outward, 0, 1), np.clip(-outward, 0, 1)
        values[:, C[f"EyeLookOut{side}"]] = towards_own_side
        values[:, C[f"EyeLookIn{side}"]] = towards_nose
        values[:, C[f"EyeLookDown{side}"]] = np.clip(pitch / EYE_LOOK_RANGE_RAD, 0, 1)
        values[:, C[f"EyeLookUp{side}"]] = np.clip(-pitch / EYE_LOOK_RANGE_RAD, 0, 1)


def _blink_gap(rng: np.random.Generator) -> tuple[float, np.ndarray]:
    # Gamma-distributed gaps with mean 1 (scaled by the blink period): bursty like human blinking.
    return max(MIN_BLINK_GAP_S / 4, float(rng.gamma(2.5, 1 / 2.5))), np.zeros(0)


def _saccade(rng: np.random.Generator) -> tuple[float, np.ndarray]:
    fixation = float(np.clip(rng.lognormal(np.log(1.2), 0.5), 0.3, 4.0))
    return fixation, np.array([rng.normal(0, 0.04), rng.normal(0, 0.025)])
