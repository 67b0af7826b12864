"""Whisper tiny.en encoder states at run time, from numpy and ONNX Runtime only.

The training teacher (:func:`facecast.train.teacher.compute_states`) runs the encoder through ctranslate2; this
module gives the same states [frames, 384] (one per 20 ms, 50 per second) from the ONNX file that
``python -m facecast.train.whisper_onnx`` converts from that model, so nothing here needs torch, ctranslate2 or
faster_whisper. :func:`log_mel` is Whisper's log-mel spectrogram (what faster_whisper's ``FeatureExtractor``
computes with ``padding=0``) and :class:`WhisperStates` runs the encoder over it in the teacher's 20 s windows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

import numpy as np

from facecast.runtime import inference_session

MODEL_FILE = "whisper_tiny_en_encoder.onnx"
SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms: 100 mel frames per second
N_MELS = 80
STATE_SAMPLES = 2 * HOP  # one encoder state per 20 ms (the encoder's second convolution has stride 2)
STATE_DIMS = 384
WINDOW_MEL = 2000  # mel frames per encoder call: 20 s, as in the teacher (Whisper's context is 30 s)
CHUNK_FRAMES = 4000  # STFT frames computed at a time (bounds the memory of long audio)


@cache
def mel_filters() -> np.ndarray:
    """Whisper's [N_MELS, N_FFT // 2 + 1] float32 mel filter bank (librosa's Slaney-style, area-normalised)."""
    fft_freqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SAMPLE_RATE)
    mels = np.linspace(0.0, 45.245640471924965, N_MELS + 2)  # 0 Hz to 8 kHz on the Slaney mel scale
    f_sp = 200.0 / 3
    freqs = f_sp * mels  # linear below 1 kHz
    min_log_mel = 1000.0 / f_sp
    log_region = mels >= min_log_mel
    freqs[log_region] = 1000.0 * np.exp(np.log(6.4) / 27.0 * (mels[log_region] - min_log_mel))
    widths = np.diff(freqs)
    ramps = freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (freqs[2:N_MELS + 2] - freqs[:N_MELS]))[:, None]
    return weights.astype(np.float32)


@cache
def _window() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann


def mel_power(windows: np.ndarray) -> np.ndarray:
    """The mel power [N_MELS, m] (float32) of ``m`` STFT windows [m, N_FFT] of 16 kHz samples: Hann window, power
    spectrum, Whisper's mel filters (what :func:`log_mel` and a stream's mel, :mod:`facecast.whisper_stream`,
    take the log of)."""
    spectrum = np.fft.rfft(windows * _window(), axis=-1).astype(np.complex64)
    return mel_filters() @ (np.abs(spectrum) ** 2).T


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram [80, len(audio) // 160] (float32) of 16 kHz mono float audio.

    Centred STFT (reflect padding) with a 400-sample Hann window every 160 samples, power through the mel
    filters, log10, floored at 8 below the maximum of the whole spectrogram, then (x + 4) / 4: the same numbers
    as faster_whisper's ``FeatureExtractor(feature_size=80)(audio, padding=0)``.
    """
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    frames = len(samples) // HOP
    if frames == 0:
        return np.zeros((N_MELS, 0), np.float32)
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    columns = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:frames]  # the last frame is dropped
    mel = np.empty((N_MELS, frames), np.float32)
    for start in range(0, frames, CHUNK_FRAMES):
        mel[:, start:start + CHUNK_FRAMES] = mel_power(columns[start:start + CHUNK_FRAMES])
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


class WhisperStates:
    """The Whisper tiny.en encoder (the ONNX file at ``path``) on the best ONNX Runtime provider here."""

    def __init__(self, path: str | os.PathLike[str], threads: int = 1) -> None:
        self.path = os.fspath(path)
        self.session = inference_session(self.path, threads, spin=False)  # one large call per 20 s of a clip
        self.input_name = self.session.get_inputs()[0].name
        width = self.session.get_outputs()[0].shape[-1]
        self.dims = width if isinstance(width, int) else STATE_DIMS  # 384 per tapped layer

    def encode(self, mel: np.ndarray) -> np.ndarray:
        """Encoder states [T // 2, 384] of one log-mel window [80, T] (T even, at most 3000)."""
        window = np.ascontiguousarray(mel, dtype=np.float32)[None]
        return np.asarray(self.session.run(None, {self.input_name: window})[0][0], dtype=np.float32)

    def states(self, audio: np.ndarray, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Encoder states [len(audio) // 320, dims] (float32) of 16 kHz float audio, exactly as the teacher's
        ``compute_states`` windows it: 20 s windows of the whole clip's log-mel, each cut to an even length, the
        final state repeated where a last odd mel frame leaves one short. ``progress(done, windows)`` is called
        after each window."""
        frames = len(audio) // STATE_SAMPLES
        mel = log_mel(audio)[:, :frames * 2]
        starts = range(0, mel.shape[1], WINDOW_MEL)
        parts = []
        for n, start in enumerate(starts):
            window = mel[:, start:start + WINDOW_MEL]
            window = window[:, :window.shape[1] - window.shape[1] % 2]
            if window.shape[1] < 2:
                break
            parts.append(self.encode(window)[:window.shape[1] // 2])
            if progress is not None:
                progress(n + 1, len(starts))
        states = np.concatenate(parts) if parts else np.zeros((0, self.dims), np.float32)
        if 0 < len(states) < frames:
            states = np.concatenate([states, np.repeat(states[-1:], frames - len(states), 0)])
        return np.ascontiguousarray(states[:frames], dtype=np.float32)
