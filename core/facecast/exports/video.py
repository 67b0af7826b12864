"""Talking-portrait video: the take rendered on a portrait avatar, H.264 + AAC in an mp4 (see facecast.render)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from facecast.errors import InvalidInput
from facecast.motion import MotionClip

if TYPE_CHECKING:
    from facecast.audio import Audio
    from facecast.face import Avatar

DEFAULT_SIZE = 512


def load_avatar(source: str | os.PathLike[str], face_box: tuple[float, float, float, float] | None = None) -> Avatar:
    """A saved ``.fcavatar``, or a portrait image fitted now (``face_box`` skips face detection)."""
    from facecast.face import Avatar, load_image

    if os.fspath(source).lower().endswith(".fcavatar"):
        return Avatar.load(source)
    return Avatar.from_image(load_image(source), face_box, source=os.fspath(source))


def write_mp4(clip: MotionClip, path: str | os.PathLike[str], avatar: Avatar | None = None,
              audio: Audio | None = None, size: int = DEFAULT_SIZE, progress: Any = None) -> None:
    """Render ``avatar`` performing ``clip`` to ``path`` with ``audio`` muxed in sync; written atomically."""
    if avatar is None:
        raise InvalidInput("an .mp4 shows a talking portrait: give the portrait with --image FACE.jpg "
                           "(in Python: avatar=facecast.exports.video.load_avatar('face.jpg'))")
    from facecast.render import write_video

    write_video(path, clip, avatar, audio, size, progress)
