"""Augmentation of real paired clips for training: everything :func:`facecast.train.augment.augment` does
(reverberation, telephone codec, noise, gain), a codec-like band limit, a music-like bed under the voice, and a
speaking-rate change that stretches the audio and the target curves together."""

from __future__ import annotations

import numpy as np

from facecast.audio import MODEL_RATE, resample
from facecast.features import N_MELS, STACK, mel_centres
from facecast.train.augment import augment


def music_bed(length: int, rng: np.random.Generator, rate: int = MODEL_RATE) -> np.ndarray:
    """A synthetic backing track: a few sustained harmonic chords with slow swells and soft percussive clicks."""
    t = np.arange(length) / rate
    bed = np.zeros(length, np.float32)
    chord_s = float(rng.uniform(1.0, 3.0))
    for start in np.arange(0, length / rate, chord_s):
        root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
        span = (t >= start) & (t < start + chord_s)
        for ratio in (1.0, 1.26, 1.5, 2.0):
            for harmonic in (1, 2, 3):
                bed[span] += np.sin(2 * np.pi * root * ratio * harmonic * t[span]) / harmonic
    bed *= 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
    beat = float(rng.uniform(0.3, 0.7))
    hits = (np.arange(0, length / rate, beat) * rate).astype(int)
    click = rng.normal(size=int(0.03 * rate)) * np.exp(-np.arange(int(0.03 * rate)) / (0.005 * rate))
    for h in hits:
        seg = bed[h:h + len(click)]
        seg += 3 * click[:len(seg)]
    return bed.astype(np.float32)


def band_limit(x: np.ndarray, rng: np.random.Generator, rate: int = MODEL_RATE) -> np.ndarray:
    """A low-bit-rate codec's band limit: everything above a random cut-off (3.4-7 kHz) removed."""
    cut = float(rng.uniform(3400, 7000))
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    spectrum[freqs > cut] = 0
    return np.fft.irfft(spectrum, len(x)).astype(np.float32)


def room_tone(length: int, rng: np.random.Generator, rate: int = MODEL_RATE) -> np.ndarray:
    """Unit-power background noise as rooms and cheap microphones have it: a spectral slope from white to
    brown (0 to -6 dB per octave), sometimes with mains hum (50 or 60 Hz and its harmonics)."""
    slope = float(rng.uniform(-6.0, 0.0))  # dB per octave
    freqs = np.fft.rfftfreq(length, 1 / rate)
    shape = (np.maximum(freqs, 40.0) / 1000.0) ** (slope / 6.02)
    noise = np.fft.irfft((rng.normal(size=len(freqs)) + 1j * rng.normal(size=len(freqs))) * shape, length)
    noise = noise / (np.std(noise) + 1e-12)
    if rng.random() < 0.3:
        t = np.arange(length) / rate
        mains = 50.0 if rng.random() < 0.5 else 60.0
        hum = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3, 5))
        noise = noise + float(rng.uniform(0.3, 2.0)) * hum
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)


def under(x: np.ndarray, bed: np.ndarray, snr_db: float) -> np.ndarray:
    """``bed`` mixed under ``x`` so that ``x``'s power is ``snr_db`` above the bed's."""
    scale = np.sqrt((float(np.mean(x**2)) + 1e-10) / (float(np.mean(bed**2)) + 1e-10) / 10 ** (snr_db / 10))
    return x + bed * scale


def degrade(x: np.ndarray, rng: np.random.Generator, strength: float = 1.0, room: bool = False) -> np.ndarray:
    """A randomly degraded copy of 16 kHz speech ``x``; ``strength`` scales how often each effect applies;
    ``room`` adds :func:`room_tone` under 40 % of the clips (15-45 dB under the speech)."""
    if rng.random() < 0.15 * strength:
        snr_db = float(rng.uniform(3, 20))
        bed = music_bed(len(x), rng)
        x = under(x, bed, snr_db)
    if rng.random() < 0.15 * strength:
        x = band_limit(x, rng)
    if room and rng.random() < 0.4 * strength:
        snr_db = float(rng.uniform(15, 45))
        x = under(x, room_tone(len(x), rng), snr_db)
    if rng.random() < 0.7 * strength:
        x, _ = augment(x, MODEL_RATE, rng)
    return x.astype(np.float32)


def change_rate(audio: np.ndarray, curves: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Audio played ``factor`` times faster (pitch moves with it) and curves [T, C] stretched to match."""
    new_rate = int(round(MODEL_RATE / factor))
    out = resample(audio, MODEL_RATE, new_rate)
    frames = max(2, int(round(len(curves) / factor)))
    src = np.linspace(0, len(curves) - 1, frames)
    stretched = np.stack([np.interp(src, np.arange(len(curves)), curves[:, c]) for c in range(curves.shape[1])], 1)
    return out.astype(np.float32), stretched.astype(np.float32)


def warp_vocal_tract(features: np.ndarray, factor: float) -> np.ndarray:
    """Model features [T, FEATURES] as a vocal tract ``factor`` times shorter would give them: every stacked log-mel
    frame's frequency axis scaled by ``factor`` (a formant at f moves to factor x f), by linear interpolation
    between the bands (vocal-tract length perturbation, Jaitly & Hinton 2013).

    Why: the mouth shapes the formants, whose frequencies scale with the length of the speaker's vocal tract. With
    one dominant speaker in the data, the model would otherwise learn that speaker's formant positions."""
    centres = mel_centres()
    # band k of the output shows what the input had at centres[k] / factor (clamped at the first and last band)
    position = np.interp(centres / factor, centres, np.arange(N_MELS))
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, N_MELS - 1)
    weight = (position - low).astype(np.float32)
    frames = features.reshape(len(features), STACK, N_MELS)
    warped = frames[..., low] * (1 - weight) + frames[..., high] * weight
    return warped.reshape(features.shape).astype(np.float32)


def mask_bands(features: np.ndarray, rng: np.random.Generator, masks: int, widest: int = 8) -> np.ndarray:
    """Model features [T, FEATURES] with ``masks`` random runs of up to ``widest`` adjacent mel bands set to 0
    (the standardised level's mean) in every frame of the window, and in every stacked frame alike
    (SpecAugment's frequency masking, Park et al. 2019).

    Why: with one dominant speaker the model can lean on the few bands where that voice's formants sit; a
    window without some of them makes it read the mouth from the rest of the spectrum as well."""
    frames = features.reshape(len(features), STACK, N_MELS).copy()
    for _ in range(masks):
        width = int(rng.integers(1, widest + 1))
        low = int(rng.integers(0, N_MELS - width + 1))
        frames[..., low:low + width] = 0.0
    return frames.reshape(features.shape)
