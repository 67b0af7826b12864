"""Audio augmentation for the corpus that keeps phone timings exact: gain, noise at a random SNR, room
reverberation (a synthetic exponentially decaying impulse response) and a telephone codec (8 kHz μ-law)."""

from __future__ import annotations

import numpy as np

from facecast.audio import resample


def augment(samples: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """A randomly degraded copy of ``samples`` (float32 at ``rate``) and the settings that were drawn."""
    x = samples.astype(np.float32)
    settings: dict[str, float] = {}
    if rng.random() < 0.4:
        rt60 = float(rng.uniform(0.15, 0.6))
        length = int(rt60 * rate)
        t = np.arange(length) / rate
        impulse = rng.normal(size=length) * np.exp(-6.9 * t / rt60)
        impulse[0] = 1.0
        wet = np.fft.irfft(np.fft.rfft(x, len(x) + length) * np.fft.rfft(impulse, len(x) + length))[:len(x)]
        x = (wet / (np.abs(impulse).sum() ** 0.5)).astype(np.float32)
        settings["rt60_s"] = rt60
    if rng.random() < 0.25:
        narrow = resample(x, rate, 8000)
        mu = 255.0
        coded = np.sign(narrow) * np.log1p(mu * np.abs(np.clip(narrow, -1, 1))) / np.log1p(mu)
        coded = np.round(coded * 127) / 127
        x = resample(np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu, 8000, rate)[:len(x)]
        settings["codec_mulaw_8k"] = 1.0
    if rng.random() < 0.6:
        snr_db = float(rng.uniform(10, 35))
        power = float(np.mean(x**2)) + 1e-10
        x = x + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(x)).astype(np.float32)
        settings["snr_db"] = snr_db
    gain_db = float(rng.uniform(-18, 0))
    peak = float(np.abs(x).max()) + 1e-9
    x = x / peak * 0.9 * 10 ** (gain_db / 20)
    settings["gain_db"] = gain_db
    return x.astype(np.float32), settings
