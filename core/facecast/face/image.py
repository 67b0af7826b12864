"""Reading portrait images into RGB uint8 arrays, whatever their mode (grayscale, RGBA, palette, 16-bit, CMYK)."""

from __future__ import annotations

import io
import os
import struct
import warnings
from typing import Any

import numpy as np

from facecast.errors import InvalidInput
from facecast.fileio import read_input

IMAGE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP")  # the only Pillow decoders facecast lets run
# 40 MP (e.g. 7750 x 5160): more than any phone camera's default photo. JPEGs are decoded at a reduced scale, so
# that is cheap for them; PNG and WebP are decoded whole, so they get 4096 x 4096 (about 50 MB of RGB).
MAX_PIXELS = 40_000_000
MAX_PIXELS_DECODED_WHOLE = 4096 * 4096


def load_image(source: str | os.PathLike[str] | bytes, max_side: int | None = None) -> np.ndarray:
    """Decode an image file (path or encoded bytes) into an RGB uint8 array [H, W, 3].

    EXIF orientation is applied; transparency is composited over white; grayscale is copied to three channels.
    ``max_side`` shrinks larger images (area-averaged) so neither side exceeds it; JPEGs are then decoded at a
    reduced scale directly, which makes a 10000-pixel photo load in a fraction of the time.
    Raises :class:`InvalidInput` for a missing, empty, corrupt or too large file, or one that is not PNG, JPEG or
    WebP.
    """
    return load_image_scaled(source, max_side)[0]


def load_image_scaled(source: str | os.PathLike[str] | bytes, max_side: int | None = None, *,
                      max_pixels: int = MAX_PIXELS, name: str | None = None) -> tuple[np.ndarray, float]:
    """:func:`load_image`, and the scale it was shrunk by (its pixels per pixel of the file). The size is read
    from the header and checked against ``max_pixels`` (:data:`MAX_PIXELS_DECODED_WHOLE` for images decoded at
    full size) before anything is decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    data, default_name = read_input(source, "image bytes")
    name = name or default_name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as opened:
                width, height = opened.size
                reduced = bool(max_side) and opened.format == "JPEG"  # decoded at 1/2, 1/4 or 1/8 scale
                limit = max_pixels if reduced else min(max_pixels, MAX_PIXELS_DECODED_WHOLE)
                if width * height > limit:
                    raise InvalidInput(f"{name} is {width}x{height} pixels; the limit is {limit / 1e6:.1f} "
                                       f"megapixels{'' if reduced else ' for PNG and WebP'}")
                if max_side and max(opened.size) > max_side:
                    shrink = max_side / max(opened.size)
                    opened.draft("RGB", (int(opened.size[0] * shrink) + 1, int(opened.size[1] * shrink) + 1))
                picture = ImageOps.exif_transpose(opened)
                picture.load()
                if max_side and max(picture.size) > max_side:
                    picture.thumbnail((max_side, max_side), Image.Resampling.BOX)
    except InvalidInput:
        raise
    except UnidentifiedImageError:
        raise InvalidInput(f"{name} is not a readable image (facecast reads PNG, JPEG and WebP)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(f"{name} has too many pixels; the limit is {max_pixels / 1e6:.1f} megapixels "
                           f"({min(max_pixels, MAX_PIXELS_DECODED_WHOLE) / 1e6:.1f} for PNG and WebP)") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as e:  # corrupt data surfaces as any of these
        raise InvalidInput(f"{name} is a corrupt or truncated image ({type(e).__name__})") from None
    return to_rgb(picture), max(picture.size) / max(width, height)


def to_rgb(picture: Any) -> np.ndarray:  # a PIL image; PIL is imported lazily
    """An RGB uint8 array from a PIL image of any mode, transparency composited over white."""
    from PIL import Image

    if picture.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(picture, dtype=np.float64)
        top = values.max() or 1.0
        picture = Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8))
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        picture = picture.convert("RGBA")
        white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, picture)
    return np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.uint8))


def as_rgb_array(image: np.ndarray) -> np.ndarray:
    """Accept [H, W], [H, W, 1], [H, W, 3] or [H, W, 4] uint8 (RGBA composited over white) and return RGB."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise InvalidInput(f"image must be uint8, got {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InvalidInput(f"image must have shape [H, W, 3] (RGB), got {list(array.shape)}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(array)
