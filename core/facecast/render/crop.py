"""Frame the portrait: a square crop around the face, with room for hair and background, scaled to the output."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facecast.errors import InvalidInput

# Crop side as a multiple of the face size (landmark bounding box), and how far above the face centre the crop
# centre sits (in face sizes), so the top of the head and some shoulders stay in the picture.
CROP_SCALE = 2.0
CROP_RAISE = 0.08
MIN_OUTPUT_SIZE = 128


@dataclass(frozen=True)
class PortraitCrop:
    """A square window ``side`` pixels wide at ``(x0, y0)`` of the source image, shown at ``size``×``size``."""

    x0: float
    y0: float
    side: float
    size: int

    @property
    def scale(self) -> float:
        return self.size / self.side

    def points(self, landmarks: np.ndarray) -> np.ndarray:
        """Source-pixel landmarks [N, 3] to output pixels (z scaled like x and y)."""
        out = np.asarray(landmarks, np.float32).copy()
        out[:, 0] = (out[:, 0] - self.x0) * self.scale
        out[:, 1] = (out[:, 1] - self.y0) * self.scale
        out[:, 2:] *= self.scale
        return out

    def image(self, image: np.ndarray) -> np.ndarray:
        """The cropped, resized RGB picture; parts outside the source repeat its border pixels."""
        # Cut the window (plus a margin for the filters) out first: a 10000-pixel photo is not resized whole.
        height, width = image.shape[:2]
        margin = 2 + int(np.ceil(1 / self.scale))
        left, top = max(int(np.floor(self.x0)) - margin, 0), max(int(np.floor(self.y0)) - margin, 0)
        right = min(int(np.ceil(self.x0 + self.side)) + margin, width)
        bottom = min(int(np.ceil(self.y0 + self.side)) + margin, height)
        window = image[top:bottom, left:right]
        x0, y0 = self.x0 - left, self.y0 - top
        if self.scale < 1:  # warpAffine has no area filter: shrink with one, then shift
            window = cv2.resize(window, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
            m = np.array([[1, 0, -x0 * self.scale], [0, 1, -y0 * self.scale]], np.float32)
            return cv2.warpAffine(window, m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        m = np.array([[self.scale, 0, -x0 * self.scale], [0, self.scale, -y0 * self.scale]], np.float32)
        return cv2.warpAffine(window, m, (self.size, self.size), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)


def frame_face(landmarks: np.ndarray, image_size: tuple[int, int], size: int) -> PortraitCrop:
    """Choose the crop for a face with ``landmarks`` [468, 3] (source pixels) in an image of (width, height).

    The window stays inside the picture where it can, so the background is real rather than repeated edge.
    """
    if size < MIN_OUTPUT_SIZE:
        raise InvalidInput(f"render size must be at least {MIN_OUTPUT_SIZE} pixels, not {size}")
    width, height = image_size
    lo, hi = landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)
    face = float(max(hi - lo))
    cx, cy = (lo + hi) / 2
    cy -= CROP_RAISE * face
    side = min(CROP_SCALE * face, float(min(width, height)))
    side = max(side, 1.15 * face)  # a face filling the whole picture still gets a margin (repeated edge)
    x0 = float(np.clip(cx - side / 2, min(0.0, width - side), max(0.0, width - side)))
    y0 = float(np.clip(cy - side / 2, min(0.0, height - side), max(0.0, height - side)))
    return PortraitCrop(x0, y0, side, int(size))
