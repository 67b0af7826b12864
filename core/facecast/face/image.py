"""Reading portrait images into RGB uint8 arrays, whatever their mode (grayscale, RGBA, palette, 16-bit, CMYK)."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from facecast.errors import InvalidInput, reason
from facecast.fileio import read_input

MAX_PIXELS = 200_000_000  # 14000 x 14000: beyond this an image is almost surely a mistake or a decompression bomb


def load_image(source: str | os.PathLike[str] | bytes, max_side: int | None = None) -> np.ndarray:
    """Decode an image file (path or encoded bytes) into an RGB uint8 array [H, W, 3].

    EXIF orientation is applied; transparency is composited over white; grayscale is copied to three channels.
    ``max_side`` shrinks larger images (area-averaged) so neither side exceeds it; JPEGs are then decoded at a
    reduced scale directly, which makes a 10000-pixel photo load in a fraction of the time.
    Raises :class:`InvalidInput` for a missing, empty, corrupt or absurdly large file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    data, name = read_input(source, "image bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_PIXELS
            with Image.open(io.BytesIO(data)) as opened:
                if max_side and max(opened.size) > max_side:
                    shrink = max_side / max(opened.size)
                    opened.draft("RGB", (int(opened.size[0] * shrink) + 1, int(opened.size[1] * shrink) + 1))
                picture = ImageOps.exif_transpose(opened)
                picture.load()
                if max_side and max(picture.size) > max_side:
                    picture.thumbnail((max_side, max_side), Image.Resampling.BOX)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InvalidInput(f"{name} is not a readable image ({reason(e)})") from None
    except (OSError, ValueError, SyntaxError) as e:  # truncated or corrupt data surfaces as any of these
        raise InvalidInput(f"{name} is a corrupt or truncated image ({reason(e)})") from None
    return to_rgb(picture)


def to_rgb(picture) -> np.ndarray:  # noqa: ANN001 (a PIL image; PIL is imported lazily)
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
