"""Prosody: loudness and pitch per frame (a YIN pitch tracker in numpy), turned into brow raises on pitch
accents, head nods on loud syllable onsets, a small head turn per phrase, and a loudness gain for the mouth.

:class:`ProsodyTracker` keeps its filter state between calls, so frames rendered in pieces (streaming) and in
one go (offline) come out the same.
"""

from __future__ import annotations

import math

import numpy as np

from facecast.audio import MODEL_RATE

WINDOW = 640  # 40 ms: two periods of a 50 Hz voice
F0_MIN, F0_MAX = 70.0, 400.0
YIN_THRESHOLD = 0.2
DYNAMIC_RANGE_DB = 30.0
PEAK_DECAY_DB_PER_S = 2.0
INITIAL_PEAK_DB = -22.0
BASELINE_TAU_S, BROW_TAU_S, NOD_TAU_S, TURN_TAU_S = 2.0, 0.12, 0.15, 0.6


def windows_at(buffer: np.ndarray, buffer_start: int, centers: np.ndarray, size: int = WINDOW) -> np.ndarray:
    """Windows [F, size] of the audio centred on absolute sample ``centers``; zeros outside the buffer."""
    offsets = centers[:, None] - size // 2 + np.arange(size)[None, :] - buffer_start
    inside = (offsets >= 0) & (offsets < len(buffer))
    if len(buffer) == 0:
        return np.zeros(offsets.shape, np.float32)
    return np.where(inside, buffer[np.clip(offsets, 0, len(buffer) - 1)], 0.0).astype(np.float32)


def loudness_db(windows: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.mean(windows.astype(np.float64) ** 2, axis=1) + 1e-10)


def yin_pitch(windows: np.ndarray, rate: int = MODEL_RATE) -> np.ndarray:
    """Fundamental frequency (Hz) per window by YIN's cumulative mean normalised difference; 0 = unvoiced."""
    n = windows.shape[1]
    max_lag = min(int(rate / F0_MIN), n // 2)
    min_lag = int(rate / F0_MAX)
    x = windows - windows.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(x, 2 * n)
    autocorr = np.fft.irfft(spectrum * np.conj(spectrum))[:, :max_lag + 1]
    energy = np.cumsum(x**2, axis=1)
    total = energy[:, -1:]
    lags = np.arange(max_lag + 1)
    # d(tau) = sum x_t^2 + sum x_{t+tau}^2 - 2 r(tau), over the overlapping part
    energy_before = np.concatenate([np.zeros((len(x), 1)), energy[:, :max_lag]], axis=1)  # sum of x_t^2, t < tau
    head = energy[:, n - 1 - lags]  # sum of x_t^2 for t < n - tau
    tail = total - energy_before  # sum of x_{t+tau}^2 over the same t
    diff = np.maximum(head + tail - 2 * autocorr, 0)
    cumulative = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    normalized = np.ones_like(diff)
    normalized[:, 1:] = diff[:, 1:] / (cumulative + 1e-12)
    f0 = np.zeros(len(x))
    for i, row in enumerate(normalized):
        below = np.nonzero(row[min_lag:] < YIN_THRESHOLD)[0]
        if len(below) and total[i, 0] > 1e-6:
            lag = min_lag + below[0]
            while lag + 1 <= max_lag and row[lag + 1] < row[lag]:
                lag += 1
            f0[i] = rate / lag
    return f0


class ProsodyTracker:
    """Frame-by-frame prosody with state: loudness relative to a decaying speech peak, pitch relative to the
    speaker's running baseline, and the smoothed face and head responses to them."""

    def __init__(self, fps: int) -> None:
        self.fps = fps
        self._peak_db = INITIAL_PEAK_DB
        self._baseline = math.nan  # running mean pitch, semitones re 100 Hz
        self._brow = self._nod = self._nod_velocity = self._turn = 0.0
        self._last_open = 0.0

    def update(self, windows: np.ndarray, turn_targets: np.ndarray) -> dict[str, np.ndarray]:
        """Per frame: ``openness`` (0..1 loudness), ``brow`` (0..1), ``nod`` (rad, + = down), ``turn`` (rad)."""
        loud = loudness_db(windows)
        f0 = yin_pitch(windows)
        dt = 1.0 / self.fps
        k_base, k_brow = 1 - math.exp(-dt / BASELINE_TAU_S), 1 - math.exp(-dt / BROW_TAU_S)
        k_turn = 1 - math.exp(-dt / TURN_TAU_S)
        omega = 1.0 / NOD_TAU_S
        out = {name: np.zeros(len(loud), np.float32) for name in ("openness", "brow", "nod", "turn")}
        for i, (db, hz) in enumerate(zip(loud, f0)):
            self._peak_db = max(float(db), self._peak_db - PEAK_DECAY_DB_PER_S * dt)
            openness = min(max((db - self._peak_db + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB, 0.0), 1.0)
            accent = 0.0
            if hz > 0 and openness > 0.3:
                semitones = 12 * math.log2(hz / 100.0)
                if math.isnan(self._baseline):
                    self._baseline = semitones
                accent = min(max((semitones - self._baseline - 1.0) / 5.0, 0.0), 1.0)
                self._baseline += k_base * (semitones - self._baseline)
            self._brow += k_brow * (accent - self._brow)
            # A nod is a critically damped response to a rise in loudness (a stressed syllable's onset).
            onset = max(openness - self._last_open, 0.0) * self.fps * 0.05
            self._last_open = openness
            self._nod_velocity += dt * (omega * omega * (onset - self._nod) - 2 * omega * self._nod_velocity)
            self._nod += dt * self._nod_velocity
            self._turn += k_turn * (float(turn_targets[i]) - self._turn)
            for name, value in (("openness", openness), ("brow", self._brow), ("nod", self._nod), ("turn", self._turn)):
                out[name][i] = value
        return out
