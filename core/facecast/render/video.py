"""MP4 output: rendered frames as H.264 plus the clip's audio as AAC, muxed with PyAV and written atomically.

Frame i is stamped i / fps (time base 1/fps) and the audio starts at 0, so sound and picture stay in sync for
the whole clip; a failed render leaves no file behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
import numpy as np

from facecast.audio import Audio
from facecast.errors import InvalidInput
from facecast.face.avatar import Avatar
from facecast.fileio import atomic_path
from facecast.motion import MotionClip, ProgressCallback
from facecast.render.renderer import DEFAULT_SIZE, Renderer

VIDEO_CODEC = "libx264"
AUDIO_CODEC = "aac"
AUDIO_BITRATE = 128_000
CRF = 23  # libx264's own default quality; the watermark is tuned to survive it
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
AUDIO_CHUNK = 1024  # samples per AAC frame


def write_video(
    path: str | os.PathLike[str],
    clip: MotionClip,
    avatar: Avatar | Renderer,
    audio: Audio | None = None,
    size: int = DEFAULT_SIZE,
    progress: ProgressCallback | None = None,
) -> None:
    """Render ``avatar`` performing ``clip`` to an H.264 ``.mp4`` at ``path`` with ``audio`` as AAC (if given).

    ``progress(seconds_done, seconds_total)`` is called after each frame. The file appears only when complete.
    """
    if os.path.splitext(os.fspath(path))[1].lower() != ".mp4":
        raise InvalidInput(f"video output must be an .mp4 file, not {os.fspath(path)}")
    if clip.num_frames == 0:
        raise InvalidInput("the motion clip has no frames to render")
    if audio is not None and audio.sample_rate not in AAC_RATES:
        raise InvalidInput(f"audio at {audio.sample_rate} Hz cannot be stored as AAC; use one of "
                           f"{', '.join(map(str, AAC_RATES))} Hz")
    renderer = avatar if isinstance(avatar, Renderer) else Renderer(avatar, size)
    if renderer.size % 2:
        raise InvalidInput(f"video size must be even (H.264 stores colour at half resolution), not {renderer.size}")
    with atomic_path(path) as tmp, av.open(tmp, "w", format="mp4") as container:
        video = container.add_stream(VIDEO_CODEC, rate=clip.fps, options={"crf": str(CRF)})
        video.width = video.height = renderer.size
        video.pix_fmt = "yuv420p"
        sound = _AudioTrack(container, audio) if audio is not None and len(audio.samples) else None
        for i, frame in enumerate(renderer.frames(clip.values)):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = i
            container.mux(video.encode(picture))
            if sound:
                sound.write_until((i + 1) / clip.fps)
            if progress:
                progress((i + 1) / clip.fps, clip.duration)
        container.mux(video.encode(None))
        if sound:
            sound.finish()


class _AudioTrack:
    """Feeds mono float samples to the AAC encoder in step with the video."""

    def __init__(self, container: av.container.OutputContainer, audio: Audio) -> None:
        self._container = container
        self._stream = container.add_stream(AUDIO_CODEC, rate=audio.sample_rate, layout="mono")
        self._stream.bit_rate = AUDIO_BITRATE
        self._samples = np.ascontiguousarray(np.clip(audio.samples, -1, 1), np.float32)
        self._rate = audio.sample_rate
        self._done = 0

    def write_until(self, seconds: float) -> None:
        end = min(len(self._samples), int(round(seconds * self._rate)))
        for start in range(self._done, end, AUDIO_CHUNK):
            chunk = self._samples[start:min(start + AUDIO_CHUNK, end)]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = start
            self._container.mux(self._stream.encode(frame))
        self._done = max(self._done, end)

    def finish(self) -> None:
        self.write_until(len(self._samples) / self._rate)
        self._container.mux(self._stream.encode(None))


def read_frames(path: str | os.PathLike[str], max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode the first video stream of a file to RGB uint8 frames; :class:`InvalidInput` when it cannot."""
    name = os.fspath(path)
    try:
        container = av.open(name)
    except FileNotFoundError:
        raise InvalidInput(f"{name} does not exist") from None
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{name} is not a readable video or image ({e.__class__.__name__})") from None
    with container:
        if not container.streams.video:
            raise InvalidInput(f"{name} has no video stream")
        try:
            for count, frame in enumerate(container.decode(video=0)):
                if max_frames is not None and count >= max_frames:
                    return
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as e:
            raise InvalidInput(f"{name} is corrupt: decoding failed ({e.__class__.__name__})") from None
