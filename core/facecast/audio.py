"""Audio input: decode files (wav, flac, ogg, mp3, m4a, or a video's sound track) or raw PCM, make it mono at
the model rate, and refuse what cannot be animated with a message that names the problem."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass

import numpy as np

from facecast import fileio
from facecast.errors import AudioError
from facecast.fileio import read_input
from facecast.media import pcm16_to_float

MODEL_RATE = 16_000
PCM_RATES: tuple[int, ...] = (16_000, 22_050, 24_000, 44_100, 48_000)
PCM_FORMATS: tuple[str, ...] = ("pcm16", "float32")
DEFAULT_MAX_SECONDS = 600.0
SILENCE_DBFS = -60.0
MAX_NATIVE_RATE = 192_000  # the highest rate an input file may have (600 s at 655 kHz would be 1.5 GB)
SNDFILE_CONTAINERS = ("wav", "flac", "ogg", "mp3")  # libsndfile reads these; PyAV the rest (and what it rejects)
DECODE_BLOCK_VALUES = 1 << 20  # samples x channels decoded at a time


@dataclass
class Audio:
    """Mono float32 samples in [-1, 1] at ``sample_rate``; ``sha256`` identifies the input it came from."""

    samples: np.ndarray
    sample_rate: int
    sha256: str = ""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def load_audio(
    source: str | os.PathLike[str] | bytes,
    rate: int = MODEL_RATE,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    allow_silence: bool = False,
) -> Audio:
    """Decode an audio file (path or bytes), mix to mono and resample to ``rate``.

    Raises :class:`AudioError` for unreadable, empty, silent-only (unless ``allow_silence``) or too-long input.
    """
    data, name = read_input(source, "audio", AudioError)
    samples, native_rate = _decode(data, name, max_seconds)
    audio = Audio(samples, native_rate, hashlib.sha256(data).hexdigest())
    return _prepare(audio, rate, max_seconds, allow_silence, name)


def from_pcm(
    data: bytes,
    sample_rate: int,
    sample_format: str = "pcm16",
    rate: int = MODEL_RATE,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    allow_silence: bool = False,
) -> Audio:
    """Turn raw mono PCM (``pcm16`` little-endian or ``float32``) at a declared rate into model-rate audio."""
    samples = pcm_samples(data, sample_rate, sample_format)
    if samples.size == 0:
        raise AudioError("PCM audio is empty")
    audio = Audio(samples, sample_rate, hashlib.sha256(data).hexdigest())
    return _prepare(audio, rate, max_seconds, allow_silence, "PCM audio")


def pcm_samples(data: bytes, sample_rate: int, sample_format: str = "pcm16") -> np.ndarray:
    """Decode one chunk of mono PCM to float32, checking the declared rate, format, length and values."""
    if sample_rate not in PCM_RATES:
        raise AudioError(f"sample rate {sample_rate} Hz is not supported; use one of "
                         f"{', '.join(str(r) for r in PCM_RATES)} Hz")
    if sample_format == "pcm16":
        if len(data) % 2:
            raise AudioError("PCM16 audio must have an even number of bytes")
        return pcm16_to_float(data)
    if sample_format == "float32":
        if len(data) % 4:
            raise AudioError("float32 PCM audio must have a multiple of 4 bytes")
        samples = np.frombuffer(data, "<f4").astype(np.float32)
        if not np.isfinite(samples).all():
            raise AudioError("float32 PCM audio contains NaN or infinity")
        return np.clip(samples, -1.0, 1.0)
    raise AudioError(f"PCM format must be one of {', '.join(PCM_FORMATS)}, not {sample_format!r}")


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    import soxr  # here, not at the top: the Blender add-on bundles this module without soxr (it never resamples)

    return soxr.resample(samples, from_rate, to_rate, quality="HQ").astype(np.float32)


class StreamResampler:
    """Resamples a live stream chunk by chunk, keeping filter state between chunks."""

    def __init__(self, from_rate: int, to_rate: int = MODEL_RATE) -> None:
        import soxr

        self._stream = None if from_rate == to_rate else soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32")

    def __call__(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples.astype(np.float32, copy=False), last=last)


def is_silent(samples: np.ndarray, rate: int) -> bool:
    """True when no 20 ms window rises above :data:`SILENCE_DBFS`."""
    hop = max(1, rate // 50)
    usable = len(samples) - len(samples) % hop
    if usable == 0:
        return float(np.sqrt(np.mean(samples**2))) < 10 ** (SILENCE_DBFS / 20) if len(samples) else True
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, hop) ** 2, axis=1))
    return float(rms.max()) < 10 ** (SILENCE_DBFS / 20)


def _prepare(audio: Audio, rate: int, max_seconds: float, allow_silence: bool, name: str) -> Audio:
    if audio.samples.size == 0:
        raise AudioError(f"{name} contains no audio samples")
    if audio.duration > max_seconds:
        raise AudioError(f"{name} is too long; the limit is {max_seconds:g} s")
    if not np.isfinite(audio.samples).all():
        raise AudioError(f"{name} contains NaN or infinity")
    if not allow_silence and is_silent(audio.samples, audio.sample_rate):
        raise AudioError(f"{name} is silent (no part louder than {SILENCE_DBFS:g} dBFS); nothing to animate")
    return Audio(resample(audio.samples, audio.sample_rate, rate), rate, audio.sha256)


def _decode(data: bytes, name: str, max_seconds: float) -> tuple[np.ndarray, int]:
    """Samples and rate of an allowed container (:data:`fileio.AUDIO_CONTAINERS`), decoded from memory and stopped
    one block past ``max_seconds`` (a decompression bomb is refused by its header, or cut off while decoding)."""
    container = fileio.container_format(data[:fileio.SNIFF_BYTES], fileio.AUDIO_CONTAINERS, name,
                                       f"an audio file ({fileio.AUDIO_NAMES})", AudioError)
    if container in SNDFILE_CONTAINERS:
        try:
            return _decode_with_sndfile(data, name, max_seconds)
        except AudioError:
            raise
        except Exception:  # libsndfile rejects some mp3s and oggs (opus): PyAV reads those
            pass
    return _decode_with_av(data, container, name, max_seconds)


def _check_rate(rate: int, name: str) -> None:
    if not 0 < rate <= MAX_NATIVE_RATE:
        raise AudioError(f"{name} has a sample rate of {rate} Hz; facecast reads up to {MAX_NATIVE_RATE} Hz")


def _decode_with_sndfile(data: bytes, name: str, max_seconds: float) -> tuple[np.ndarray, int]:
    import soundfile

    with soundfile.SoundFile(io.BytesIO(data)) as f:
        rate = int(f.samplerate)
        _check_rate(rate, name)
        limit = int(max_seconds * rate) + 1
        if 0 < f.frames < 2**62 and f.frames > limit:  # libsndfile reports an unknown length as a huge count
            raise AudioError(f"{name} is too long; the limit is {max_seconds:g} s")
        known = 0 < f.frames < 2**62
        # one buffer, filled block by block (pages are only touched as they fill): no list of blocks to join
        samples, total = np.empty(min(f.frames, limit) if known else limit, np.float32), 0
        for block in f.blocks(blocksize=max(1024, DECODE_BLOCK_VALUES // f.channels), dtype="float32",
                              always_2d=True):
            count = min(len(block), len(samples) - total)
            samples[total:total + count] = _mono(block[:count])
            total += count
            if total >= limit:
                break
    return samples[:total], rate


def _decode_with_av(data: bytes, container_name: str, name: str, max_seconds: float) -> tuple[np.ndarray, int]:
    import av

    with fileio.open_container(data, container_name, name, AudioError) as container:
        if not container.streams.audio:
            raise AudioError(f"{name} has no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        _check_rate(rate, name)
        declared = [float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0,
                    container.duration / av.time_base if container.duration else 0.0]
        if max(declared) > max_seconds + 1:
            raise AudioError(f"{name} is too long; the limit is {max_seconds:g} s")
        limit = int(max_seconds * rate) + 1
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks, total = [], 0
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1))
                        total += len(chunks[-1])
                if total > limit:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as e:
            raise AudioError(f"{name} is corrupt ({type(e).__name__})") from None
    if not chunks:
        raise AudioError(f"{name} contains no audio samples")
    return np.concatenate(chunks).astype(np.float32), rate


def _mono(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=1).astype(np.float32) if samples.shape[1] > 1 else samples[:, 0].astype(np.float32)
