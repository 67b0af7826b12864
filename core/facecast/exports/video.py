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


def write_mp4(clip: MotionClip, path: str | os.PathLike[str], avatar: Avatar | None = None,
              audio: Audio | None = None, size: int = DEFAULT_SIZE, progress: Any = None) -> None:
    """Render ``avatar`` performing ``clip`` to ``path`` with ``audio`` muxed in sync; written atomically."""
    if avatar is None:
        raise InvalidInput("an .mp4 shows a talking portrait: give the portrait with --image FACE.jpg "
                           "(in Python: avatar=facecast.face.Avatar.from_file('face.jpg'))")
    from facecast.render import write_video

    write_video(path, clip, avatar, audio, size, progress)
