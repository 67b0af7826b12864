"""Mouth interior: when the lips part, the gap between them shows a dark cavity, the upper teeth under the upper
lip, the lower teeth above the lower lip and the tongue, all sized from the mouth and coloured from the portrait
(so a painting gets painted-looking teeth rather than photographic ones)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facecast.render.mouth_library import DESCRIPTOR_X, GRID, LipFrame, MouthLibrary, descriptor, lip_colour, lip_curves
from facecast.render.regions import INNER_LIP, INNER_LIP_LOWER, INNER_LIP_UPPER, MOUTH_CORNERS

MIN_GAP = 0.015  # lip gap (share of mouth width) below which the lips count as closed
UPPER_TEETH_HEIGHT = 0.11  # shares of the mouth width
LOWER_TEETH_HEIGHT = 0.07
TEETH_WHITE = np.array([232, 226, 212], np.float32)
SUBPIXEL_BITS = 3  # cv2 polygon drawing with 1/8-pixel vertex precision
# An open-mouthed portrait keeps its own interior while the opening stays within this share of its own, and
# gives way to the exemplars over the next OWN_FADE.
OWN_KEPT, OWN_FADE = 0.25, 0.35
# Towards the inner-lip corners the interior darkens (with the square of the distance, to this share at the
# corners): a real mouth shows the dark beside the teeth there, and an exemplar's bright teeth squeezed into the
# corner look like fangs.
CORNER_SHADOW = 0.8
TEETH_BANDS = (0.4, 0.25)  # shares of an exemplar's height under the upper and over the lower lip kept to size
CORNER_SHADE = (1 - CORNER_SHADOW * np.abs(np.linspace(-1, 1, GRID[0])) ** 2).astype(np.float32)


@dataclass(frozen=True)
class MouthPalette:
    """Colours of the mouth interior for one portrait (RGB float32) and its lip gap at rest."""

    cavity: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray
    rest_gap: float
    lip: np.ndarray

    @classmethod
    def from_portrait(cls, image: np.ndarray, rest: np.ndarray) -> MouthPalette:
        """Sample the lip colour and the picture's overall tone, and derive the interior colours from them."""
        lip = lip_colour(image, rest)
        tone = image.reshape(-1, 3).mean(axis=0).astype(np.float32)
        return cls(cavity=lip * 0.16 + 6, teeth=TEETH_WHITE * 0.9 + tone * 0.1, tongue=lip * 0.75 + 8,
                   rest_gap=lip_gap(rest), lip=lip)


def lip_gap(moved: np.ndarray) -> float:
    """Opening between the inner lips' middles as a share of the mouth width."""
    width = float(np.linalg.norm(moved[MOUTH_CORNERS[1], :2] - moved[MOUTH_CORNERS[0], :2])) or 1.0
    mid = len(INNER_LIP_UPPER) // 2
    return float(moved[INNER_LIP_LOWER[mid], 1] - moved[INNER_LIP_UPPER[mid], 1]) / width


def _mouth_roi(frame: np.ndarray, moved: np.ndarray, palette: MouthPalette, replace_own: bool = False
               ) -> tuple[float, float, tuple[int, int, int, int]] | None:
    """How far the interior shows (0..1), the mouth width and the frame window (x0, y0, x1, y1) around the
    inner lips; None while the lips are closed.

    Nothing is drawn until the lips part further than in the portrait itself (an open-mouthed portrait keeps
    its own teeth at rest); the interior then fades in over a small opening, so opening is not a pop. With
    ``replace_own`` an open-mouthed portrait's own interior gives way as the mouth opens well beyond it (its
    teeth would otherwise stretch with the lips); closing, the lips cover its own teeth as the warp has them."""
    gap = lip_gap(moved)
    closed_gap = max(palette.rest_gap, MIN_GAP)
    strength = min(1.0, (gap - closed_gap) / MIN_GAP)
    if replace_own and palette.rest_gap > MIN_GAP:
        departure = (gap - palette.rest_gap) / palette.rest_gap
        strength = min(1.0, (departure - OWN_KEPT) / OWN_FADE, (gap - MIN_GAP) / MIN_GAP)
    if strength <= 0:
        return None
    width = float(np.linalg.norm(moved[MOUTH_CORNERS[1], :2] - moved[MOUTH_CORNERS[0], :2]))
    pad = int(np.ceil(0.1 * width)) + 2
    polygon = moved[INNER_LIP, :2]
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + pad
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return strength, width, (int(x0), int(y0), int(x1), int(y1))


def _poly_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    fixed = np.round(points * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 255, cv2.LINE_AA, SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255


def draw_exemplar_mouth(frame: np.ndarray, moved: np.ndarray, palette: MouthPalette, library: MouthLibrary) -> None:
    """Paint a real mouth interior into ``frame`` (RGB uint8, in place) for landmarks ``moved`` [468, 2+]: the
    library's nearest exemplars for this lip shape, recoloured to the portrait's lips, remapped between the
    moved inner lips and blended in with a soft edge."""
    found = _mouth_roi(frame, moved, palette, replace_own=True)
    if found is None:
        return
    strength, width, (x0, y0, x1, y1) = found
    shape = descriptor(moved)
    interior = library.blend(shape, palette.lip)
    interior *= CORNER_SHADE[None, :, None]  # the corners of a mouth sit in the cheeks' shadow
    lips = LipFrame.of(moved)
    (ux, uy), (lx, ly) = lip_curves(moved, lips)
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    x, y = lips.local(np.stack([gx, gy], -1))
    upper, lower = np.interp(x, ux, uy), np.interp(x, lx, ly)
    t = _interior_rows(y - upper, np.maximum(lower - upper, 1e-3),
                       np.interp(x, (-1.0, *DESCRIPTOR_X, 1.0), (0.0, *library.gaps(shape), 0.0)))
    cols, rows = interior.shape[1], interior.shape[0]
    map_x = ((x + 1) * 0.5 * (cols - 1)).astype(np.float32)
    map_y = (np.clip(t, 0, 1) * (rows - 1)).astype(np.float32)
    layer = cv2.remap(interior, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    soft = max(0.6, 0.012 * width)
    cavity = _poly_mask((y1 - y0, x1 - x0), moved[INNER_LIP, :2] - np.array([x0, y0], np.float32))
    alpha = cv2.GaussianBlur(cavity, (0, 0), soft)[..., None] * strength
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1 - alpha) + layer * alpha, 0, 255).astype(np.uint8)


def _interior_rows(depth: np.ndarray, gap: np.ndarray, source_gap: np.ndarray) -> np.ndarray:
    """Row ``t`` (0 upper lip .. 1 lower lip) of the exemplar to show ``depth`` below the upper lip of a lip gap
    ``gap`` whose exemplar was cut from a gap ``source_gap`` (all in lip units). A gap no taller than the
    exemplar's is squeezed evenly; a taller one keeps the teeth under each lip at their own size (teeth do not
    grow with the opening) and stretches only the dark between them."""
    even = depth / gap
    top, bottom = TEETH_BANDS
    source = np.maximum(source_gap, 1e-3)
    taller = gap > source
    middle = np.maximum(gap - (top + bottom) * source, 1e-3)
    kept = np.where(depth < top * source, depth / source,
                    np.where(gap - depth < bottom * source, 1 - (gap - depth) / source,
                             top + (depth - top * source) / middle * (1 - top - bottom)))
    return np.clip(np.where(taller, kept, even), 0, 1)


def draw_mouth(frame: np.ndarray, moved: np.ndarray, palette: MouthPalette) -> None:
    """Paint the interior into ``frame`` (RGB uint8, in place) for landmarks ``moved`` [468, 2+] in its pixels:
    the first renderer's drawn cavity, teeth bands and tongue (``Renderer(mouth="painted")``)."""
    found = _mouth_roi(frame, moved, palette)
    if found is None:
        return
    strength, width, (x0, y0, x1, y1) = found
    gap = lip_gap(moved)
    polygon = moved[INNER_LIP, :2]
    origin = np.array([x0, y0], np.float32)
    roi_shape = (y1 - y0, x1 - x0)

    def poly_mask(points: np.ndarray) -> np.ndarray:
        return _poly_mask(roi_shape, points - origin)

    cavity = poly_mask(polygon)
    upper = moved[INNER_LIP_UPPER, :2]
    lower = moved[INNER_LIP_LOWER, :2]
    centre_x = float(upper[0, 0] + upper[-1, 0]) / 2 - x0
    half_opening = max(1.0, float(abs(upper[-1, 0] - upper[0, 0])) / 2)
    # -1 at one inner lip corner, +1 at the other: teeth fade into the dark towards the corners.
    across = (np.arange(roi_shape[1], dtype=np.float32) - centre_x) / half_opening
    fade = np.clip(1 - np.abs(across) ** 3, 0, 1)[None, :]
    # Teeth are bands hanging from the upper lip and standing on the lower lip; their heights are shares of the
    # mouth width (teeth do not grow when the jaw opens) and taper towards the corners, where the arch recedes.
    upper_teeth = poly_mask(_band(upper, UPPER_TEETH_HEIGHT * width, 0.9))
    lower_teeth = poly_mask(_band(lower, -LOWER_TEETH_HEIGHT * width, 0.6))
    lower_teeth *= min(1.0, max(0.0, (gap - 0.15) / 0.15))  # lower teeth show only when the mouth is well open
    centre_low = lower[len(lower) // 2] - origin
    tongue_mask = np.zeros(roi_shape, np.uint8)
    axes = (int(0.32 * width), int(max(2.0, 0.45 * gap * width)))
    cv2.ellipse(tongue_mask, (int(centre_low[0]), int(centre_low[1])), axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
    tongue = tongue_mask.astype(np.float32) / 255

    soft = max(0.6, 0.012 * width)
    # The back of the mouth is darkest; the cavity lightens a little towards the lips.
    depth = cv2.GaussianBlur(1 - cavity, (0, 0), max(1.0, 0.06 * width))
    layer = np.empty(roi_shape + (3,), np.float32)
    layer[:] = palette.cavity
    layer *= (1 + 0.6 * depth)[..., None]
    for mask, colour in ((tongue, palette.tongue), (lower_teeth, palette.teeth * 0.82), (upper_teeth, palette.teeth)):
        alpha = (cv2.GaussianBlur(mask, (0, 0), soft) * fade)[..., None]
        shade = (0.55 + 0.45 * fade)[..., None]
        layer = layer * (1 - alpha) + colour * shade * alpha
    alpha = cv2.GaussianBlur(cavity, (0, 0), soft)[..., None] * strength
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1 - alpha) + layer * alpha, 0, 255).astype(np.uint8)


def _band(lip: np.ndarray, height: float, share: float) -> np.ndarray:
    """A closed polygon for a row of teeth along a lip contour [K, 2]: a smooth arc (a parabola fitted to the
    lip, so a cupid's bow or a pout does not bend the teeth) over the middle ``share`` of the lip's width,
    starting a little behind the lip and ``height`` deep (downwards when positive), shallower at the ends.
    Teeth further back sit in the dark of the cheeks, and the lip's steep corners would make them walls."""
    x = lip[:, 0].astype(np.float64)
    span = max(float(x.max() - x.min()), 1.0)
    across = (x - x.mean()) / span  # in [-0.5, 0.5]
    parabola = np.polyfit(across, lip[:, 1], 2)
    along = np.linspace(-0.5 * share, 0.5 * share, 24)
    arc = np.polyval(parabola, along)
    depth = height * (1 - 2 * along**2)  # full in the middle, 3/4 a quarter of the way out
    xs = x.mean() + along * span
    top = np.stack([xs, arc - 0.3 * height], 1)  # starts behind the lip, which hides it
    bottom = np.stack([xs, arc + depth], 1)
    return np.concatenate([top, bottom[::-1]]).astype(np.float32)
