"""The ``energy`` animator: loudness and spectral tilt drive the jaw and mouth; blinks, gaze and a head sway
come from :mod:`facecast.animators.idle`. It knows nothing of phonemes: it is the floor that every other
animator must beat, and it runs everywhere at thousands of times real time."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from facecast.animators.base import Animator, StreamingSession
from facecast.animators.expression import emotion_offset
from facecast.animators.idle import IdleMotion
from facecast.audio import MODEL_RATE
from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX as C
from facecast.motion import DEFAULT_FPS, NUM_BLENDSHAPES, NUM_CHANNELS, MotionFrame

WINDOW = 512  # samples (32 ms) of loudness analysis per frame
ANTICIPATION_S = 0.03  # the mouth moves slightly before the sound it makes
DYNAMIC_RANGE_DB = 28.0  # below the running speech peak by this much, the mouth is shut
PEAK_DECAY_DB_PER_S = 2.0
INITIAL_PEAK_DB, MIN_PEAK_DB = -22.0, -45.0
ATTACK_S, RELEASE_S, NOD_S = 0.02, 0.1, 0.35


def frame_features(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loudness (dBFS) and spectral tilt (energy of the first difference over energy) per window [F, W]."""
    energy = np.mean(windows**2, axis=1) + 1e-10
    diff_energy = np.mean(np.diff(windows, axis=1) ** 2, axis=1)
    return 10 * np.log10(energy), diff_energy / energy


class EnergySession(StreamingSession):
    def __init__(self, controls: Controls, fps: int) -> None:
        super().__init__(controls, fps)
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # absolute index of self._buffer[0]
        self._peak_db = INITIAL_PEAK_DB
        self._jaw = 0.0
        self._hiss = 0.0
        self._nod = 0.0
        self._idle = IdleMotion(self.controls.seed)

    def _window_center(self, index: int | np.ndarray) -> np.ndarray:
        return np.round((np.asarray(index) / self.fps + ANTICIPATION_S) * MODEL_RATE).astype(np.int64)

    def push(self, pcm: np.ndarray) -> list[MotionFrame]:
        pcm = np.asarray(pcm, np.float32).reshape(-1)
        self._buffer = np.concatenate([self._buffer, pcm])
        self.samples_received += len(pcm)
        end = self.samples_received
        # The last frame whose whole window lies within the audio received so far.
        last = math.floor(((end - WINDOW // 2) / MODEL_RATE - ANTICIPATION_S) * self.fps)
        return self._emit(min(last + 1, self.total_frames))

    def flush(self) -> list[MotionFrame]:
        return self._emit(self.total_frames)

    def _emit(self, stop: int) -> list[MotionFrame]:
        indices = np.arange(self.frames_emitted, stop)
        if len(indices) == 0:
            return []
        offsets = self._window_center(indices)[:, None] - WINDOW // 2 + np.arange(WINDOW)[None, :]
        local = offsets - self._buffer_start
        inside = (offsets >= 0) & (local < len(self._buffer))
        buffer = self._buffer if len(self._buffer) else np.zeros(1, np.float32)
        windows = np.where(inside, buffer[np.clip(local, 0, len(buffer) - 1)], 0.0)
        loudness, tilt = frame_features(windows.astype(np.float32))
        values = self._mouth(loudness, tilt)
        times = indices / self.fps
        self._idle.apply(values, times, self.controls)
        values += emotion_offset(self.controls)
        np.clip(values[:, :NUM_BLENDSHAPES], 0.0, 1.0, out=values[:, :NUM_BLENDSHAPES])
        self.frames_emitted = stop
        keep_from = int(self._window_center(stop)) - WINDOW // 2
        if keep_from > self._buffer_start:
            drop = min(keep_from - self._buffer_start, len(self._buffer))
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop
        zeros = np.zeros(3, np.float32)
        return [MotionFrame(int(i), float(t), v, zeros) for i, t, v in zip(indices, times, values)]

    def _mouth(self, loudness: np.ndarray, tilt: np.ndarray) -> np.ndarray:
        dt = 1.0 / self.fps
        attack, release = 1 - math.exp(-dt / ATTACK_S), 1 - math.exp(-dt / RELEASE_S)
        nod_rate = 1 - math.exp(-dt / NOD_S)
        decay = PEAK_DECAY_DB_PER_S * dt
        voiced = np.clip(1.0 - (tilt - 0.3) / 0.9, 0.25, 1.0)
        sibilant = np.clip((tilt - 0.5) / 0.8, 0.0, 1.0)
        values = np.zeros((len(loudness), NUM_CHANNELS), np.float32)
        jaw = np.empty(len(loudness))
        hiss = np.empty(len(loudness))
        nod = np.empty(len(loudness))
        for k, db in enumerate(loudness):
            self._peak_db = max(float(db), self._peak_db - decay, MIN_PEAK_DB)
            openness = min(max((db - self._peak_db + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB, 0.0), 1.0)
            target = openness**1.3 * voiced[k]
            self._jaw += (attack if target > self._jaw else release) * (target - self._jaw)
            hiss_target = sibilant[k] * min(openness * 3, 1.0)
            self._hiss += (attack if hiss_target > self._hiss else release) * (hiss_target - self._hiss)
            self._nod += nod_rate * (openness - self._nod)
            jaw[k], hiss[k], nod[k] = self._jaw, self._hiss, self._nod
        strength = self.controls.intensity
        values[:, C["JawOpen"]] = 0.6 * jaw * strength
        values[:, C["MouthLowerDownLeft"]] = values[:, C["MouthLowerDownRight"]] = 0.3 * jaw * strength
        values[:, C["MouthUpperUpLeft"]] = values[:, C["MouthUpperUpRight"]] = 0.12 * jaw * strength
        values[:, C["MouthFunnel"]] = 0.15 * jaw * voiced * strength
        values[:, C["MouthStretchLeft"]] = values[:, C["MouthStretchRight"]] = 0.3 * hiss * strength
        values[:, C["HeadPitch"]] = 0.04 * nod * self.controls.head_motion
        values[:, C["BrowInnerUp"]] = 0.15 * nod * strength
        return values


class EnergyAnimator(Animator):
    name = "energy"
    description = "loudness and spectral tilt drive jaw and mouth; procedural blinks, gaze and head sway"
    lookahead_ms = (ANTICIPATION_S + WINDOW / 2 / MODEL_RATE) * 1000

    def stream(self, controls: Controls | None = None, fps: int = DEFAULT_FPS, **options: Any) -> StreamingSession:
        return EnergySession(controls or Controls(), fps)
