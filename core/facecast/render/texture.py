"""Texture frames for streaming to clients: JPEG or raw RGBA bytes of a rendered frame."""

from __future__ import annotations

import cv2
import numpy as np

from facecast.errors import InvalidInput
from facecast.media import DEFAULT_JPEG_QUALITY, encode_jpeg

TEXTURE_ENCODINGS = ("jpeg", "rgba")


def encode_texture(frame: np.ndarray, encoding: str = "jpeg", quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """Encode an RGB uint8 frame [H, W, 3]: ``"jpeg"`` (baseline JFIF) or ``"rgba"`` (H·W·4 bytes, row-major,
    top row first, alpha 255)."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InvalidInput(f"a texture frame must be RGB uint8 [H, W, 3], not {frame.dtype} {frame.shape}")
    if encoding == "jpeg":
        return encode_jpeg(frame, quality)
    if encoding == "rgba":
        return cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA).tobytes()
    raise InvalidInput(f"texture encoding must be one of {', '.join(TEXTURE_ENCODINGS)}, not {encoding!r}")


def decode_texture(data: bytes, encoding: str, width: int, height: int) -> np.ndarray:
    """Inverse of :func:`encode_texture` (for clients and tests): RGB uint8 [height, width, 3]."""
    if encoding == "jpeg":
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None or image.shape[:2] != (height, width):
            raise InvalidInput(f"texture is not a {width}x{height} JPEG")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if encoding == "rgba":
        if len(data) != width * height * 4:
            raise InvalidInput(f"RGBA texture has {len(data)} bytes, expected {width * height * 4}")
        return np.frombuffer(data, np.uint8).reshape(height, width, 4)[..., :3].copy()
    raise InvalidInput(f"texture encoding must be one of {', '.join(TEXTURE_ENCODINGS)}, not {encoding!r}")
