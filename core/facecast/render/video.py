"""MP4 output: rendered frames as H.264 plus the clip's audio as AAC (:class:`facecast.media.H264Writer`), atomically.

Frame i is stamped i / fps (time base 1/fps) and the audio starts at 0, so sound and picture stay in sync for
the whole clip; a failed render leaves no file behind. Every file carries C2PA content credentials
(:mod:`facecast.render.provenance`) besides the watermark in its pixels.

Rendering and encoding overlap: frames go through a short queue to an encoder thread
(:class:`facecast.background.BackgroundConsumer`; libx264 and the muxer work outside the GIL). libx264 runs at
preset ``veryfast``, crf 21: the luma PSNR of preset ``medium`` at crf 23 (its defaults) for about 40 % of
its CPU time, at files 5-7 % bigger on average (docs/BENCHMARKS.md, "H.264 path speed, fourth stop").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import numpy as np

from facecast.audio import Audio
from facecast.background import BackgroundConsumer
from facecast.errors import InvalidInput
from facecast.face.avatar import Avatar
from facecast.fileio import atomic_path
from facecast.media import AAC_RATES, H264Writer
from facecast.motion import MotionClip, ProgressCallback
from facecast.render.provenance import sign_mp4
from facecast.render.renderer import DEFAULT_SIZE, Renderer

QUEUE_FRAMES = 4  # rendered frames waiting for the encoder (0.8 MB each at 512x512)
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class Encoding:
    """How :func:`write_video` encodes: libx264 ``preset`` and ``crf``, and whether a separate thread encodes
    while the next frames render (``overlap``)."""

    preset: str = "veryfast"
    crf: int = 21
    overlap: bool = True


DEFAULT_ENCODING = Encoding()
LIBX264_DEFAULTS = Encoding(preset="medium", crf=23, overlap=False)  # the mp4 path before the fourth stop


def write_video(
    path: str | os.PathLike[str],
    clip: MotionClip,
    avatar: Avatar | Renderer,
    audio: Audio | None = None,
    size: int = DEFAULT_SIZE,
    progress: ProgressCallback | None = None,
    encoding: Encoding = DEFAULT_ENCODING,
) -> None:
    """Render ``avatar`` performing ``clip`` to an H.264 ``.mp4`` at ``path`` with ``audio`` as AAC (if given).

    ``progress(seconds_done, seconds_total)`` is called after each frame is rendered (with ``encoding.overlap``
    the encoder is at most a few frames behind). The file appears only when complete.
    """
    if os.path.splitext(os.fspath(path))[1].lower() != ".mp4":
        raise InvalidInput(f"video output must be an .mp4 file, not {os.fspath(path)}")
    if clip.num_frames == 0:
        raise InvalidInput("the motion clip has no frames to render")
    if audio is not None and audio.sample_rate not in AAC_RATES:
        raise InvalidInput(f"audio at {audio.sample_rate} Hz cannot be stored as AAC; use one of "
                           f"{', '.join(map(str, AAC_RATES))} Hz")
    if encoding.preset not in X264_PRESETS or not 0 <= encoding.crf <= 51:
        raise InvalidInput(f"libx264 takes a preset of {', '.join(X264_PRESETS)} and a crf from 0 to 51, not "
                           f"{encoding.preset!r} and {encoding.crf}")
    renderer = avatar if isinstance(avatar, Renderer) else Renderer(avatar, size)
    if renderer.size % 2:
        raise InvalidInput(f"video size must be even (H.264 stores colour at half resolution), not {renderer.size}")
    with atomic_path(path) as tmp:
        _encode(tmp, clip, renderer, audio, progress, encoding)
        sign_mp4(tmp, os.path.basename(os.fspath(path)))  # C2PA content credentials, before the file appears


def _encode(tmp: str, clip: MotionClip, renderer: Renderer, audio: Audio | None,
            progress: ProgressCallback | None, encoding: Encoding) -> None:
    samples = audio.samples if audio is not None else None
    rate = audio.sample_rate if audio is not None else 0
    with H264Writer(tmp, clip.fps, samples, rate, "mp4", preset=encoding.preset, crf=encoding.crf) as video:
        if not encoding.overlap:
            _feed(video.add, clip, renderer, progress)
            return
        # Every frame the renderer yields is a fresh array, so it can wait in the queue untouched.
        with BackgroundConsumer(video.add, QUEUE_FRAMES, "facecast-h264") as encoder:
            _feed(encoder.put, clip, renderer, progress)


def _feed(add: Callable[[np.ndarray], None], clip: MotionClip, renderer: Renderer,
          progress: ProgressCallback | None) -> None:
    for i, frame in enumerate(renderer.frames(clip.values, clip.head_translation)):
        add(frame)
        if progress:
            progress((i + 1) / clip.fps, clip.duration)


def read_frames(path: str | os.PathLike[str], max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode the first video stream of a file to RGB uint8 frames; :class:`InvalidInput` when it cannot."""
    from facecast.fileio import open_video_file

    name = os.fspath(path)
    if not os.path.exists(name):
        raise InvalidInput(f"{name} does not exist")
    with open_video_file(name) as container:
        if not container.streams.video:
            raise InvalidInput(f"{name} has no video stream")
        try:
            for count, frame in enumerate(container.decode(video=0)):
                if max_frames is not None and count >= max_frames:
                    return
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as e:
            raise InvalidInput(f"{name} is corrupt: decoding failed ({e.__class__.__name__})") from None
