"""What a real smile does beside the mouth: the cheek rises and rounds, and the outer eye corner creases.

The rig already lifts the cheek and the lower lid (MouthSmile, CheekSquint); without light and shadow the lifted
skin still reads as flat, and a smile with still eyes reads as a grimace (Duchenne's observation: a felt smile
narrows the eyes and creases their outer corners). Per side, a smile strength from the motion contract
(:func:`smile_strength`) drives three soft multiplicative shades of the portrait's own pixels, so they keep its
colour, texture and style (photo, painting, drawing alike):

- the cheek apple, below the lower lid and above the cheek handle, brightens (a raised, rounder cheek catches
  the light);
- a crescent from the nose wing to beside the mouth corner darkens (the nasolabial fold deepens as the cheek
  bunches against it);
- crow's feet: three short soft creases fan out from the outer eye corner, away from the eye.

All positions come from the moved mesh, in units of the moved eye's width, so they follow the head.

The shades are scaled by the portrait's own cheek relief (:func:`cheek_relief`): a photo or painting models its
cheeks with light and shadow, and a smile's shading belongs there; a flat drawn cheek (one fill colour) has none,
and a shade on it reads as a grey smudge rather than as a raised cheek, so a flat cheek gets none.
"""

from __future__ import annotations

import cv2
import numpy as np

from facecast.face import topology as T
from facecast.motion import CHANNEL_INDEX as C

MIN_STRENGTH = 0.03  # below this no shade is drawn (the frame stays byte-identical)
CHEEK_LIGHT = 0.07  # how much the cheek apple brightens at full strength
FOLD_SHADE = 0.12  # how much the nasolabial crescent darkens
CROW_SHADE = 0.2  # how much a crow's-foot crease darkens at its middle
# Crow's feet: angles (radians, from the eye's outward axis; + is downwards in the picture), start and length in
# eye widths beyond the outer corner, crease half-width in eye widths.
CROW_ANGLES = (-0.45, 0.0, 0.45)
CROW_START, CROW_LENGTH, CROW_WIDTH = 0.08, 0.32, 0.035
# Cheek relief: the interquartile range of the (lightly smoothed) luminance over a disk of this many eye widths
# around the cheek apple; at RELIEF_FULL levels or more the smile gets its full shading, at RELIEF_FLAT (a flat
# fill and its compression noise) or less none.
RELIEF_RADIUS, RELIEF_FLAT, RELIEF_FULL, RELIEF_SMOOTH = 0.5, 1.0, 6.0, 1.0
SIDES = {"Left": (T.LEFT_EYE_OUTER, T.LEFT_EYE_INNER, T.LEFT_CHEEK, T.LEFT_NOSE_WING, T.MOUTH_CORNER_LEFT),
         "Right": (T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER, T.RIGHT_CHEEK, T.RIGHT_NOSE_WING, T.MOUTH_CORNER_RIGHT)}


def smile_strength(values: np.ndarray) -> dict[str, float]:
    """Per side ("Left", "Right": the subject's), how much of a felt smile one frame's 61 motion values show:
    the mouth corners' smile and the cheek squint, each alone enough to show it."""
    strength = {}
    for side in SIDES:
        smile, squint = float(values[C[f"MouthSmile{side}"]]), float(values[C[f"CheekSquint{side}"]])
        strength[side] = float(np.clip(0.7 * smile + 0.6 * squint, 0.0, 1.0))
    return strength


def cheek_relief(image: np.ndarray, rest: np.ndarray) -> float:
    """How much light and shadow the portrait ``image`` (RGB uint8) models its cheeks with, 0 (a flat fill, as in
    a cartoon) to 1 (a photo's or a painting's shading), for its landmarks ``rest`` [468, 2+]: the interquartile
    range of the luminance around the cheek apples between ``RELIEF_FLAT`` and ``RELIEF_FULL``, the better-modelled
    cheek counting."""
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), RELIEF_SMOOTH)
    h, w = grey.shape
    spreads = [0.0]
    for outer_i, inner_i, cheek_i, _, _ in SIDES.values():
        outer, inner, cheek = (rest[i, :2].astype(np.float64) for i in (outer_i, inner_i, cheek_i))
        radius = RELIEF_RADIUS * float(np.linalg.norm(outer - inner))
        apple = 0.45 * (outer + inner) / 2 + 0.55 * cheek
        x0, y0 = np.clip(np.floor(apple - radius).astype(int), 0, [w, h])
        x1, y1 = np.clip(np.ceil(apple + radius).astype(int) + 1, 0, [w, h])
        gy, gx = np.mgrid[y0:y1, x0:x1]
        inside = (gx - apple[0]) ** 2 + (gy - apple[1]) ** 2 <= radius**2
        if inside.sum() >= 8:
            q25, q75 = np.percentile(grey[y0:y1, x0:x1][inside], [25, 75])
            spreads.append(float(q75 - q25))
    return float(np.clip((max(spreads) - RELIEF_FLAT) / (RELIEF_FULL - RELIEF_FLAT), 0.0, 1.0))


def draw_smile(frame: np.ndarray, moved: np.ndarray, strength: dict[str, float], relief: float = 1.0) -> None:
    """Shade cheek raise, nasolabial fold and crow's feet into ``frame`` (RGB uint8, in place) for the moved
    landmarks ``moved`` [468, 2+] and per-side strengths from :func:`smile_strength`, scaled by the portrait's
    :func:`cheek_relief` ``relief``."""
    for side, raw in strength.items():
        amount = raw * relief
        if amount >= MIN_STRENGTH:
            _shade_side(frame, moved[:, :2].astype(np.float64), SIDES[side], amount)


def _shade_side(frame: np.ndarray, points: np.ndarray, indices: tuple[int, int, int, tuple[int, ...], int],
                amount: float) -> None:
    outer_i, inner_i, cheek_i, wing, mouth_i = indices
    outer, inner, cheek = points[outer_i], points[inner_i], points[cheek_i]
    wing_point, mouth = points[list(wing)].mean(axis=0), points[mouth_i]
    width = float(np.linalg.norm(outer - inner))
    if width < 4:
        return
    out_dir = (outer - inner) / width
    down = np.array([-out_dir[1], out_dir[0]])
    if down[1] < 0:
        down = -down
    eye_centre = (outer + inner) / 2
    # The window: from above the eye corner to below the mouth corner, across eye, cheek and fold.
    corners = np.array([outer + out_dir * (CROW_START + CROW_LENGTH + 0.1) * width - down * 0.4 * width,
                        inner - down * 0.2 * width, mouth + down * 0.3 * width, wing_point, cheek])
    h, w = frame.shape[:2]
    x0, y0 = np.clip(np.floor(corners.min(axis=0) - 0.2 * width).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0) + 0.2 * width).astype(int), 0, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    pixels = np.stack([gx, gy], axis=-1)
    gain = np.zeros(gx.shape)
    # Cheek apple: an ellipse half-way between the lower lid and the cheek handle, brighter.
    apple = 0.45 * eye_centre + 0.55 * cheek
    gain += CHEEK_LIGHT * _blob(pixels, apple, out_dir, 0.45 * width, 0.28 * width)
    # Nasolabial crescent: along the segment from the nose wing to beside the mouth corner, darker.
    beside_mouth = mouth + (mouth - wing_point) * 0.15 + out_dir * 0.12 * width
    gain -= FOLD_SHADE * _crease(pixels, wing_point + out_dir * 0.1 * width, beside_mouth, 0.09 * width)
    # Crow's feet.
    for angle in CROW_ANGLES:
        direction = np.cos(angle) * out_dir + np.sin(angle) * down
        start = outer + direction * CROW_START * width
        gain -= CROW_SHADE * _crease(pixels, start, start + direction * CROW_LENGTH * width, CROW_WIDTH * width)
    gain *= amount
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1.0 + gain[..., None]).astype(np.float32), 0, 255).astype(np.uint8)


def _blob(pixels: np.ndarray, centre: np.ndarray, axis: np.ndarray, along: float, across: float) -> np.ndarray:
    """A soft elliptical weight (1 at ``centre``), ``along`` pixels along ``axis`` and ``across`` across it."""
    rel = pixels - centre
    u = rel @ axis
    v = rel @ np.array([-axis[1], axis[0]])
    return np.exp(-((u / along) ** 2 + (v / across) ** 2))


def _crease(pixels: np.ndarray, start: np.ndarray, end: np.ndarray, half_width: float) -> np.ndarray:
    """A soft line weight from ``start`` to ``end``: Gaussian across, fading in and out along it."""
    seg = end - start
    length = float(np.linalg.norm(seg)) or 1.0
    t = np.clip(((pixels - start) @ seg) / length**2, 0.0, 1.0)
    nearest = start + t[..., None] * seg
    dist = np.linalg.norm(pixels - nearest, axis=-1)
    return np.exp(-((dist / half_width) ** 2)) * np.sin(np.pi * t) ** 0.7
