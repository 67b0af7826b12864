"""Sound and picture encoding, one home for each: float <-> PCM16, wav files, JPEG frames, H.264 + AAC video.

- :func:`float_to_pcm16` / :func:`pcm16_to_float`: float samples in [-1, 1] <-> little-endian int16 (clipped,
  scaled by 32767 and rounded to the nearest step on the way out; divided by 32768 on the way in, as
  libsndfile does, so every int16 value maps into [-1, 1)).
- :func:`write_wav`: 16-bit mono wav to a path (atomically) or a binary file object.
- :func:`encode_jpeg`: JPEG bytes of an RGB uint8 frame.
- :class:`H264Writer`: RGB frames as H.264 (yuv420p) with optional mono audio as AAC, in mp4 or mov.
  RGB -> YUV 4:2:0 is OpenCV's (BT.601, limited range, as swscale's default; about a quarter of its time).

numpy is the only import at module level (the Blender add-on's client uses the PCM16 helpers); OpenCV and PyAV
are imported where they are used.
"""

from __future__ import annotations

import os
import wave
from typing import Any, BinaryIO, cast

import numpy as np

from facecast.errors import InvalidInput
from facecast.fileio import atomic_path

PCM16_MAX = 32767
DEFAULT_JPEG_QUALITY = 90
VIDEO_CODEC = "libx264"
AUDIO_CODEC = "aac"
AUDIO_BITRATE = 128_000
CRF = 23  # libx264's own default quality; the watermark is tuned to survive it
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
AUDIO_CHUNK = 1024  # samples per AAC frame


def float_to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples (any shape) as little-endian int16: clipped to [-1, 1], scaled by 32767, rounded."""
    return np.rint(np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * PCM16_MAX).astype("<i2")


def pcm16_to_float(data: bytes | np.ndarray) -> np.ndarray:
    """Little-endian int16 samples (bytes or an int16 array) as float32 in [-1, 1)."""
    pcm = np.frombuffer(data, "<i2") if isinstance(data, (bytes, bytearray, memoryview)) else np.asarray(data)
    return pcm.astype(np.float32) / 32768.0


def write_wav(path: str | os.PathLike[str] | BinaryIO, samples: np.ndarray, sample_rate: int) -> None:
    """16-bit mono wav of float ``samples`` to a path (the file appears whole or not at all) or a binary file."""
    pcm = float_to_pcm16(samples).tobytes()
    if not isinstance(path, (str, os.PathLike)):
        _write_wav(path, pcm, sample_rate)
        return
    with atomic_path(path) as tmp:
        _write_wav(tmp, pcm, sample_rate)


def _write_wav(target: str | BinaryIO, pcm: bytes, sample_rate: int) -> None:
    with wave.open(target, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)


def encode_jpeg(frame: np.ndarray, quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """JPEG bytes of an RGB uint8 frame [H, W, 3]."""
    import cv2

    bgr = cv2.cvtColor(np.ascontiguousarray(frame, np.uint8), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise InvalidInput("the frame could not be encoded as JPEG")
    return data.tobytes()


class H264Writer:
    """RGB uint8 frames as H.264 video with mono float audio as AAC, muxed in step (frame ``i`` at ``i / fps``,
    the audio from 0), in an ``"mp4"`` or ``"mov"`` container at ``path``.

    Use it as a context manager and :meth:`add` each frame; leaving the block without an error flushes both
    encoders. The frame size comes from the first frame (an odd width or height loses its last pixel row or
    column: H.264 stores colour at half resolution). Write to a temporary path (:func:`facecast.fileio.atomic_path`)
    for an all-or-nothing file. ``preset`` is libx264's speed preset (None: its default, ``medium``) and ``crf``
    its constant-quality setting (lower is better and bigger).
    ``timecode`` (``HH:MM:SS:FF`` at ``fps``) makes the mov muxer add a QuickTime timecode track (``tmcd``)
    starting there.
    """

    def __init__(self, path: str | os.PathLike[str], fps: int, audio: np.ndarray | None = None,
                 sample_rate: int = 0, container_format: str = "mp4", preset: str | None = None,
                 timecode: str | None = None, crf: int = CRF) -> None:
        import av

        if audio is not None and len(audio) and sample_rate not in AAC_RATES:
            raise InvalidInput(f"audio at {sample_rate} Hz cannot be stored as AAC; use one of "
                               f"{', '.join(map(str, AAC_RATES))} Hz")
        self._av = av
        self._fps = fps
        self._container = av.open(os.fspath(path), "w", format=container_format)
        options = {"crf": str(int(crf)), **({"preset": preset} if preset else {})}
        self._video: Any = cast(Any, self._container.add_stream(VIDEO_CODEC, rate=fps, options=options))  # VideoStream
        self._video.pix_fmt = "yuv420p"
        if timecode is not None:
            self._video.metadata["timecode"] = timecode
        self.size: tuple[int, int] = (0, 0)  # width, height once the first frame is in
        self._frames = 0
        self._audio: Any = None
        if audio is not None and len(audio):
            self._audio = self._container.add_stream(AUDIO_CODEC, rate=sample_rate, layout="mono")
            self._audio.bit_rate = AUDIO_BITRATE
        self._samples = np.ascontiguousarray(np.clip(audio, -1, 1), np.float32) if audio is not None and self._audio \
            else None
        self._rate = sample_rate
        self._done = 0

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self._container.mux(self._video.encode(None))
                if self._samples is not None:
                    self._write_audio_until(len(self._samples) / self._rate)
                    self._container.mux(self._audio.encode(None))
        finally:
            self._container.close()

    def add(self, rgb: np.ndarray) -> None:
        """Encode the next frame (RGB uint8 [H, W, 3]) and the audio up to the end of its time."""
        import cv2

        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:  # a ValueError, as PyAV's own check gave
            raise ValueError(f"expected an RGB uint8 frame [H, W, 3], not {rgb.dtype} {list(rgb.shape)}")
        if self._frames == 0:
            self.size = (rgb.shape[1] - rgb.shape[1] % 2, rgb.shape[0] - rgb.shape[0] % 2)
            self._video.width, self._video.height = self.size
        width, height = self.size
        planes = cv2.cvtColor(np.ascontiguousarray(rgb[:height, :width]), cv2.COLOR_RGB2YUV_I420)  # Y, U, V rows
        picture = self._av.VideoFrame.from_ndarray(np.asarray(planes, np.uint8), format="yuv420p")
        picture.pts = self._frames
        self._container.mux(self._video.encode(picture))
        self._frames += 1
        if self._samples is not None:
            self._write_audio_until(self._frames / self._fps)

    def _write_audio_until(self, seconds: float) -> None:
        assert self._samples is not None
        end = min(len(self._samples), int(round(seconds * self._rate)))
        for start in range(self._done, end, AUDIO_CHUNK):
            chunk = self._samples[start:min(start + AUDIO_CHUNK, end)]
            frame = self._av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = start
            self._container.mux(self._audio.encode(frame))
        self._done = max(self._done, end)
