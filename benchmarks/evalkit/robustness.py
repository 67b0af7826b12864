"""Degraded speech for the robustness figures: white noise at a given SNR and a synthetic music bed
(:data:`MUSIC`); and a simple speech-activity detector, to judge the mouth on speech without a video."""

from __future__ import annotations

import numpy as np

CHORDS_HZ = ((261.63, 329.63, 392.00), (196.00, 246.94, 293.66), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63))
BPM = 100.0
MUSIC = ("synthetic, not a recording (no music ships with the project or its packages): a 100 bpm I-V-vi-IV "
         "chord progression in C major of harmonic tones (six partials falling off as 1/k, soft attack and decay "
         "per beat), a low 'kick' (a sine gliding down to 55 Hz) on every beat and noise 'hats' on the off-beats")


def at_snr(speech: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``other`` scaled so that speech power / other power = ``snr_db`` (powers over the whole
    clip), peak-limited to [-1, 1]."""
    other = np.resize(np.asarray(other, np.float64), len(speech))
    power_s = float(np.mean(np.square(speech, dtype=np.float64))) + 1e-12
    power_o = float(np.mean(np.square(other))) + 1e-12
    mixed = speech + other * np.sqrt(power_s / power_o / 10 ** (snr_db / 10))
    peak = float(np.max(np.abs(mixed))) if len(mixed) else 0.0
    return (mixed / max(1.0, peak)).astype(np.float32)


def white_noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=n).astype(np.float32)


def music_bed(n: int, rate: int, seed: int = 0) -> np.ndarray:
    """``n`` samples of the synthetic music described by :data:`MUSIC`."""
    t = np.arange(n) / rate
    beat = 60.0 / BPM
    phase = (t % beat) / beat
    envelope = np.minimum(phase / 0.05, 1.0) * np.exp(-2.5 * phase)
    chord = (t // (4 * beat)).astype(int) % len(CHORDS_HZ)
    out = np.zeros(n)
    for index, notes in enumerate(CHORDS_HZ):
        mask = chord == index
        for f in notes:
            for k in range(1, 7):
                out[mask] += np.sin(2 * np.pi * f * k * t[mask]) / k
    out *= envelope / 6
    kick_t = t % beat
    out += 0.8 * np.sin(2 * np.pi * (55 + 60 * np.exp(-kick_t * 30)) * kick_t) * np.exp(-kick_t * 12)
    hat = np.abs(phase - 0.5) < 0.03
    out[hat] += 0.15 * np.random.default_rng(seed).normal(size=int(hat.sum()))
    return (out / (np.max(np.abs(out)) + 1e-9)).astype(np.float32)


def speech_activity(samples: np.ndarray, rate: int, fps: int, frames: int, range_db: float = 25.0) -> np.ndarray:
    """Speech (True) per animation frame: frame loudness (RMS over a 40 ms window at the frame time) within
    ``range_db`` of the clip's 95th-percentile loudness, and at least 12 dB over its 5th percentile."""
    half = int(0.02 * rate)
    centres = (np.arange(frames) * rate / fps).astype(int)
    padded = np.pad(np.asarray(samples, np.float64), half)
    energy = np.array([np.mean(padded[c:c + 2 * half] ** 2) for c in centres])
    level = 10 * np.log10(energy + 1e-12)
    loud, quiet = np.percentile(level, 95), np.percentile(level, 5)
    return (level > loud - range_db) & (level > quiet + 12)
