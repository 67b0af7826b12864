"""The learned model's audio front end: a causal log-mel spectrogram in numpy, identical at train and run time.

Mel frame ``j`` (100 per second) is the Hann-windowed spectrum of the ``N_FFT`` samples that end at sample
``(j + 1) * HOP``, so it sees no audio after that point; samples before the start of the audio are zeros. Two mel
frames are stacked into one model frame (50 per second, :data:`FRAME_S` = 20 ms): model frame ``t`` is fixed by
the audio up to ``(t + 1) * FRAME_S``. Computing features of a longer buffer never changes earlier frames, so a
stream can compute them chunk by chunk.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from facecast.audio import MODEL_RATE

N_FFT = 400  # 25 ms window
HOP = 160  # 10 ms
N_MELS = 80
STACK = 2  # mel frames per model frame
FRAME_S = HOP * STACK / MODEL_RATE  # 20 ms
FRAME_SAMPLES = HOP * STACK
FEATURES = N_MELS * STACK
LOG_FLOOR = 1e-5
MATMUL_ROWS = 32  # windows per matrix product (see windows_log_mel)
# Fixed normalisation of log-mel (natural log of power): roughly centres speech at 0 with unit spread.
LOG_MEAN, LOG_STD = -6.0, 3.0


def _mel_edges() -> np.ndarray:
    """The N_MELS + 2 filter edges (Hz), equally spaced on the mel scale from 20 Hz to 8 kHz."""
    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    return mel_to_hz(np.linspace(hz_to_mel(np.array(20.0)), hz_to_mel(np.array(MODEL_RATE / 2)), N_MELS + 2))


def mel_centres() -> np.ndarray:
    """Centre frequency (Hz) of each mel band [N_MELS]."""
    return _mel_edges()[1:-1]


@cache
def mel_filters() -> np.ndarray:
    """Slaney-style triangular mel filters [N_MELS, N_FFT // 2 + 1] from 0 to 8 kHz."""
    freqs = np.linspace(0, MODEL_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_edges()
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    filters = np.maximum(0.0, np.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)))
    filters *= (2.0 / (upper - lower))  # equal area
    return filters.astype(np.float32)


@cache
def _window() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def log_mel(samples: np.ndarray, start_frame: int, frames: int, offset: int = 0) -> np.ndarray:
    """Normalised log-mel [frames, N_MELS] of mel frames ``start_frame ..`` of a signal of which ``samples``
    holds the part beginning at absolute sample ``offset`` (earlier samples must not be needed unless they are
    before 0, which count as zeros)."""
    return windows_log_mel(mel_windows(samples, start_frame, frames, offset))


def mel_windows(samples: np.ndarray, start_frame: int, frames: int, offset: int = 0) -> np.ndarray:
    """The ``N_FFT``-sample windows [frames, N_FFT] of the mel frames :func:`log_mel` computes (a view where
    it can be); :func:`windows_log_mel` of many signals' windows stacked is their log-mel in one call."""
    if frames <= 0:
        return np.zeros((0, N_FFT), np.float32)
    first = (start_frame + 1) * HOP - N_FFT  # absolute first sample of the first window
    last = (start_frame + frames) * HOP  # absolute end of the last window
    lo = max(first, 0)
    if lo - offset < 0 or last - offset > len(samples):
        raise ValueError("log_mel: the samples do not cover the requested frames")
    segment = samples[lo - offset:last - offset]
    if lo > first:
        segment = np.concatenate([np.zeros(lo - first, np.float32), segment])
    return np.lib.stride_tricks.sliding_window_view(segment.astype(np.float32, copy=False), N_FFT)[::HOP]


def windows_log_mel(windows: np.ndarray) -> np.ndarray:
    """Normalised log-mel [M, N_MELS] of ``M`` windows [M, N_FFT] (from :func:`mel_windows`)."""
    if len(windows) == 0:
        return np.zeros((0, N_MELS), np.float32)
    spectrum = np.fft.rfft(windows * _window(), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    filters = mel_filters().T
    # in blocks: OpenBLAS runs a larger product on several threads, whose workers then spin between calls (a
    # live daemon doing this every 20 ms for 32 streams lost a whole core to it), and is no faster here
    mel = np.concatenate([power[k:k + MATMUL_ROWS] @ filters for k in range(0, len(power), MATMUL_ROWS)])
    return ((np.log(mel + LOG_FLOOR) - LOG_MEAN) / LOG_STD).astype(np.float32)


def model_frames(samples: np.ndarray) -> np.ndarray:
    """Model input features [T, FEATURES] of a whole signal, one per complete 20 ms of audio."""
    frames = len(samples) // FRAME_SAMPLES
    mel = log_mel(np.asarray(samples, np.float32), 0, frames * STACK)
    return mel.reshape(frames, FEATURES)


def silence_frame() -> np.ndarray:
    """The features of digital silence (what the model sees before an utterance starts)."""
    return np.full(FEATURES, (np.log(LOG_FLOOR) - LOG_MEAN) / LOG_STD, np.float32)
