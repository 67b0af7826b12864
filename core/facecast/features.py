"""The learned model's audio front end: a causal log-mel spectrogram in numpy, identical at train and run time.

Mel frame ``j`` (100 per second) is the Hann-windowed spectrum of the ``N_FFT`` samples that end at sample
``(j + 1) * HOP``, so it sees no audio after that point; samples before the start of the audio are zeros. Two mel
frames are stacked into one model frame (50 per second, :data:`FRAME_S` = 20 ms): model frame ``t`` is fixed by
the audio up to ``(t + 1) * FRAME_S``. Computing features of a longer buffer never changes earlier frames, so a
stream can compute them chunk by chunk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import cache

import numpy as np

from facecast.audio import MODEL_RATE

N_FFT = 400  # 25 ms window
HOP = 160  # 10 ms
N_MELS = 80
STACK = 2  # mel frames per model frame
FRAME_S = HOP * STACK / MODEL_RATE  # 20 ms
FRAME_SAMPLES = HOP * STACK
MEL_S = HOP / MODEL_RATE  # 10 ms
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


def strided_windows(samples: np.ndarray, count: int, width: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """``count`` windows [count, width] of ``samples``, one every ``hop`` samples: a read-only view.

    Why not numpy's ``sliding_window_view`` or ``as_strided``: they cost 4-16 µs a call against 0.3 µs for the
    array constructor, and a live daemon makes two calls per stream every 20 ms."""
    samples = np.ascontiguousarray(samples, np.float32)
    if count <= 0:
        return np.zeros((0, width), np.float32)
    if (count - 1) * hop + width > len(samples):
        raise ValueError(f"{len(samples)} samples hold no {count} windows of {width} every {hop}")
    view: np.ndarray = np.ndarray((count, width), np.float32, samples, 0, (hop * 4, 4))
    view.flags.writeable = False
    return view


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
    return strided_windows(segment, frames)


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
    return np.full(FEATURES, SILENCE, np.float32)


SILENCE = float((np.log(LOG_FLOOR) - LOG_MEAN) / LOG_STD)  # a band's fixed-normalised log-mel in digital silence


@dataclass(frozen=True)
class RunningNorm:
    """Settings of the causal per-band standardisation of log-mel (``--norm running``; recorded in the model).

    Why: the fixed constants above leave every band's level as the recording made it. The model learns its
    training voices' levels and colour (50 of 55 minutes are one speaker in one studio), and another microphone,
    room or voice shifts every band. Subtracting each band's running mean and dividing by its running spread
    (cepstral mean and variance normalisation, as speech recognisers do) removes that, causally, so a stream and a
    clip see the same. Ridge probes on the training sources: fixed 0.37, running 0.42 leave-one-source-out. The
    model itself gained only +0.01 on the folds and lost 0.04 on the validation speakers, so the shipped weights
    keep the fixed constants (docs/NEURAL.md, "Tried, seventh round").

    The statistics follow speech only: each mel frame is weighted by how far its level (mean over bands) lies
    above a noise floor that drops at once and rises ``floor_rise`` per second, full weight ``full_above`` over it.
    Frames less than ``quiet_above`` over the floor weigh nothing (a room's noise flickers a little over its own
    floor). Pauses and silence leave them as they are, so an utterance after a long pause is read with the voice's
    statistics, not the room's. They start from ``mean`` and ``std`` (the training voices', per band) counted as
    ``prior_s`` seconds of speech, average over the first ``time_s`` seconds of speech and then forget with that
    time constant."""

    mean: tuple[float, ...]  # [N_MELS] prior per band, in the fixed normalisation's units
    std: tuple[float, ...]
    time_s: float = 3.0
    prior_s: float = 1.0
    full_above: float = 1.0  # fixed-normalised level units (1 = 13 dB)
    quiet_above: float = 0.4
    floor_rise: float = 0.25  # level units per second
    min_std: float = 0.1

    def to_dict(self) -> dict:
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, raw: dict) -> RunningNorm:
        """The settings a model's ``neural.json`` or checkpoint recorded."""
        settings = {f.name: float(raw[f.name]) for f in fields(cls) if f.name not in ("mean", "std") and f.name in raw}
        return cls(tuple(float(x) for x in raw["mean"]), tuple(float(x) for x in raw["std"]), **settings)


def speech_weights(mel: np.ndarray, floor: float, rise: float, full_above: float, quiet_above: float
                   ) -> tuple[np.ndarray, float]:
    """(weight in 0..1 of each mel frame [m], the noise floor after them) for fixed-normalised log-mel [m, N_MELS]
    and the floor before them (see :class:`RunningNorm`)."""
    levels = mel.mean(1).tolist()
    out = []
    for level in levels:
        floor = min(level, floor + rise)
        out.append(min(max((level - floor - quiet_above) / (full_above - quiet_above), 0.0), 1.0))
    return np.asarray(out, np.float64), floor


class Standardiser:
    """One signal's causal standardisation state (:class:`RunningNorm`); :meth:`__call__` turns fixed-normalised
    log-mel [m, N_MELS], in order, into standardised log-mel. Chunking never changes the result."""

    def __init__(self, norm: RunningNorm) -> None:
        self.norm = norm
        self.mean = np.asarray(norm.mean, np.float64)
        self.var = np.asarray(norm.std, np.float64) ** 2
        if norm.prior_s < 0.1 or norm.time_s < norm.prior_s:
            raise ValueError("RunningNorm: prior_s must be at least 0.1 s and time_s at least prior_s")
        self.count = norm.prior_s / MEL_S  # mel frames of speech seen, the prior's included
        self.limit = norm.time_s / MEL_S
        self.floor = SILENCE
        self.rise = norm.floor_rise * MEL_S

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        norm = self.norm
        weights, self.floor = speech_weights(mel, self.floor, self.rise, norm.full_above, norm.quiet_above)
        counts = self.count + np.cumsum(weights)  # speech frames seen, the prior's included
        gains = (weights / np.minimum(counts, self.limit))[:, None]
        x = mel.astype(np.float64)
        out = np.empty(mel.shape, np.float32)
        for a in range(0, len(x), _BLOCK):
            g, xb = gains[a:a + _BLOCK], x[a:a + _BLOCK]
            self.mean, means = _running(self.mean, g, xb)
            self.var, variances = _running(self.var, g, (xb - means) ** 2)
            out[a:a + _BLOCK] = (xb - means) / np.sqrt(np.maximum(variances, norm.min_std ** 2))
        if len(counts):
            self.count = float(counts[-1])
        return out

    def silence(self, frames: int) -> np.ndarray:
        """``frames`` model frames [frames, FEATURES] of digital silence, standardised by the present state
        (silence does not change it)."""
        row = (SILENCE - self.mean) / np.sqrt(np.maximum(self.var, self.norm.min_std ** 2))
        return np.tile(row.astype(np.float32), (frames, STACK))


_BLOCK = 64  # frames per closed-form step of _running: (1 - gain)^64 stays far from 0, the gain is <= 1 / prior


def _running(start: np.ndarray, gains: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y[t] = y[t-1] + gains[t] * (values[t] - y[t-1])`` from ``y[-1] = start``, for every row t at once:
    (the last y, all y [t, bands])."""
    keep = np.cumprod(1.0 - gains, axis=0)
    ys = keep * (start + np.cumsum(gains * values / keep, axis=0))
    return ys[-1], ys


def speech_statistics(signals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-band (mean, std) [N_MELS] of fixed-normalised log-mel over the speech frames of ``signals`` (16 kHz),
    weighted as :class:`RunningNorm` weights them: the prior of a model trained on these voices."""
    total, first, second = 0.0, np.zeros(N_MELS), np.zeros(N_MELS)
    for samples in signals:
        frames = len(samples) // FRAME_SAMPLES
        mel = log_mel(np.asarray(samples, np.float32), 0, frames * STACK).astype(np.float64)
        w, _ = speech_weights(mel, SILENCE, RunningNorm.floor_rise * MEL_S, RunningNorm.full_above,
                              RunningNorm.quiet_above)
        total += w.sum()
        first += w @ mel
        second += w @ (mel * mel)
    if total <= 0:
        raise ValueError("speech_statistics: no speech in the signals")
    mean = first / total
    return mean, np.sqrt(np.maximum(second / total - mean * mean, 0.0))


def standardised_frames(samples: np.ndarray, norm: RunningNorm | None, before: int = 0, after: int = 0
                        ) -> np.ndarray:
    """Model input features [before + T + after, FEATURES] of a whole signal with ``before`` and ``after`` frames
    of digital silence around it, as a session sees them: fixed-normalised (``norm`` None) or standardised from
    the start of the silence before it."""
    frames = len(samples) // FRAME_SAMPLES
    mel = log_mel(np.asarray(samples, np.float32), 0, frames * STACK)
    if norm is None:
        silence = silence_frame()[None]
        return np.concatenate([np.repeat(silence, before, 0), mel.reshape(frames, FEATURES),
                               np.repeat(silence, after, 0)])
    state = Standardiser(norm)
    head = state.silence(before)
    body = state(mel).reshape(frames, FEATURES)
    return np.concatenate([head, body, state.silence(after)])
