"""Does a clip sound like speech? A cheap check before animating, so a sine tone or white noise is not
silently animated as if someone spoke: ``facecast.animate`` and the CLI warn "does not sound like speech".

Three measures over the louder frames (25 ms windows, 10 ms hop; frames within 40 dB of the loudest):
speech rises and falls by syllables (level spread of 6-11 dB on real recordings, a steady tone or noise under
1 dB), is neither a pure tone (the three strongest FFT bins hold under 70 % of a speech frame's energy, 97 % of a
sine's) nor noise (median spectral flatness under 0.01 for speech, 0.57 for white noise). The spectrum below
:data:`LOW_HZ` is left out of all three: no voice has its fundamental there, and a recording's rumble or hum there
(GRID's studio has strong energy at 0-60 Hz in every pause) made real speech read as "a pure tone"."""

from __future__ import annotations

import warnings

import numpy as np

from facecast.audio import Audio

WINDOW, HOP, FFT = 400, 160, 512  # at 16 kHz
MIN_LEVEL_SPREAD_DB = 3.0
MAX_TONE_SHARE = 0.9
MAX_FLATNESS = 0.3
LOW_HZ = 70.0


def speech_problem(samples: np.ndarray) -> str | None:
    """Why mono ``samples`` at 16 kHz do not sound like speech, or None when they may be speech."""
    count = (len(samples) - WINDOW) // HOP
    if count < 10:
        return None  # too short to judge
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float32), WINDOW)[::HOP][:count]
    power = np.abs(np.fft.rfft(frames * np.hanning(WINDOW).astype(np.float32), FFT)) ** 2 + 1e-12
    power = power[:, int(np.ceil(LOW_HZ * FFT / 16_000)):]  # above the rumble (the check is at 16 kHz)
    energy = power.sum(axis=1)
    level = 10 * np.log10(energy)
    loud = level > level.max() - 40
    tone_share = np.median(np.sort(power[loud], axis=1)[:, -3:].sum(axis=1) / energy[loud])
    flatness = np.median(np.exp(np.log(power[loud]).mean(axis=1)) / power[loud].mean(axis=1))
    if tone_share > MAX_TONE_SHARE:
        return "it is a pure tone"
    if flatness > MAX_FLATNESS:
        return "it is noise"
    if np.std(level[loud]) < MIN_LEVEL_SPREAD_DB:
        return "its loudness never changes, as speech does from syllable to syllable"
    return None


def warn_if_not_speech(audio: Audio, name: str = "the audio") -> None:
    """Warn (``UserWarning``) when ``audio`` does not sound like speech."""
    problem = speech_problem(audio.samples)
    if problem:
        warnings.warn(f"{name} does not sound like speech ({problem}); the face will move with its loudness only",
                      UserWarning, stacklevel=2)
