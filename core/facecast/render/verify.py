"""Check a file (video or still image) for the facecast watermark."""

from __future__ import annotations

import os

from facecast.errors import InvalidInput
from facecast.face.image import load_image
from facecast.render.video import read_frames
from facecast.render.watermark import DETECTION_THRESHOLD, MIN_SIDE, Detection, Detector

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
MAX_FRAMES = 300  # ten seconds at 30 fps: more than enough, the mark is in every frame


def verify_file(path: str | os.PathLike[str], max_frames: int = MAX_FRAMES,
                threshold: float = DETECTION_THRESHOLD) -> Detection:
    """Score a video (its first ``max_frames`` frames) or an image for the mark; see :class:`Detection`."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise InvalidInput(f"{name} does not exist")
    if os.path.isdir(name):
        raise InvalidInput(f"{name} is a folder, not a video or image")
    if os.path.getsize(name) == 0:
        raise InvalidInput(f"{name} is empty")
    frames = [load_image(name)] if name.lower().endswith(IMAGE_EXTENSIONS) else read_frames(name, max_frames)
    detector = Detector()
    for frame in frames:
        if min(frame.shape[:2]) < MIN_SIDE:
            raise InvalidInput(f"{name} is {frame.shape[1]}x{frame.shape[0]} pixels; the watermark needs at "
                               f"least {MIN_SIDE}x{MIN_SIDE}")
        try:
            detector.add(frame)
        except ValueError as e:
            raise InvalidInput(f"{name}: {e}") from None
    if detector.frames == 0:
        raise InvalidInput(f"{name} holds no video frames")
    return detector.result(threshold)

