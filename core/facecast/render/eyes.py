"""Eyes: lids that close over the eye for blinks, irises that follow the gaze inside the eye opening.

The 468-point mesh has no iris, so each eye's iris is found once in the portrait (the darkest disc inside the
opening) and cut out as a soft-edged patch; the white of the eye and the lid skin get colours sampled around it.
Per frame the eye opening is the moved lid contour: the iris patch is drawn at its gaze offset inside it and
whatever lid area closed over the resting opening is painted with lid skin and a lash line.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facecast.face.portrait_rig import smoothstep
from facecast.motion import CHANNEL_INDEX as C
from facecast.render.regions import EYE_UPPER, eye_contour

SIDES = ("Left", "Right")  # the order of the eye channels and of Rig.iris
EYE_LOOK_RANGE_RAD = 0.5  # EyeLook* blendshape 1.0 stands for this rotation (as the idle animator writes it)
SUBPIXEL_BITS = 3
LID_BAND = 0.45  # height of the lid skin (lash line to below the brow) that slides, in eye widths
LID_SHADE = 0.12  # how much a shut lid darkens towards its lashes
LID_OVERSHOOT = 0.2  # a shut lid comes this share of the opening past the mesh's lower lid contour
MARGIN_SEARCH = 0.15  # eye widths above the mesh's upper lid searched for the white of the eye
MARGIN_CONTRAST = 40.0  # RGB distance from the white of the eye within which a pixel is still the white
LASH_LENGTH = 0.12  # in eye widths
# Over this share of the eye's width from each corner the slid lid tapers back to the lid at rest, so the columns
# beside the corners (which do not slide) meet it without a seam (a stamped-on patch).
CORNER_TAPER = 0.12


@dataclass
class EyeModel:
    """One eye of the portrait: rest contour, iris patch and colours (all in output pixels)."""

    side: str
    contour: np.ndarray  # [K] landmark indices
    rest: np.ndarray  # [K, 2] rest contour
    width: float
    iris_centre: np.ndarray  # [2]
    iris_patch: np.ndarray  # RGB float32 [P, P, 3]
    iris_alpha: np.ndarray  # float32 [P, P]
    iris_cover: np.ndarray  # float32 [P, P]: the iris disc a little enlarged, painted over when the iris moves
    sclera: np.ndarray  # RGB float32
    lid_skin: np.ndarray  # RGB float32
    lash: np.ndarray  # RGB float32
    upper_margin: float = 0.0  # pixels from the mesh's upper lid contour up to the visible lid margin

    @classmethod
    def from_portrait(cls, image: np.ndarray, rest: np.ndarray, side: str, radius: float) -> EyeModel:
        """Measure one eye of ``image`` (output pixels) whose iris is ``radius`` pixels."""
        contour = eye_contour(side)
        points = rest[contour, :2].astype(np.float32)
        width = float(np.linalg.norm(points[0] - points[len(EYE_UPPER[side]) - 1])) or 1.0
        opening = _polygon_mask(image.shape[:2], points)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        iris_centre = _darkest_disc(grey, opening, radius, points.mean(axis=0))
        patch, alpha = _iris_patch(image, iris_centre, radius)
        ring = opening.astype(bool) & (np.hypot(*np.meshgrid(np.arange(image.shape[1]) - iris_centre[0],
                                                             np.arange(image.shape[0]) - iris_centre[1],
                                                             sparse=True)) > radius * 1.15)
        eye_pixels = image[opening.astype(bool)]
        sclera = _brightest_colour(image[ring] if ring.sum() > 4 else eye_pixels)
        lid_skin = _lid_skin_colour(image, rest, side, width)
        lash = np.minimum(lid_skin * 0.3, np.percentile(eye_pixels, 5, axis=0) if len(eye_pixels) else 40)
        cover = cv2.GaussianBlur(cv2.dilate(alpha, np.ones((3, 3), np.uint8)), (0, 0), 0.8)
        return cls(side, contour, points, width, iris_centre, patch, alpha, cover,
                   np.asarray(sclera, np.float32), lid_skin, np.asarray(lash, np.float32),
                   _upper_margin(image, rest, side, width, iris_centre, radius, np.asarray(sclera, np.float32)))


def with_gaze_angles(values: np.ndarray) -> np.ndarray:
    """Motion values [T, 61] whose eye yaw/pitch channels are filled from the EyeLook* blendshapes where a clip
    carries only those (the eye rotation channels win where they are set)."""
    values = np.array(values, np.float32)
    for side in SIDES:
        yaw, pitch = C[f"{side}EyeYaw"], C[f"{side}EyePitch"]
        unset = (values[:, yaw] == 0) & (values[:, pitch] == 0)
        own_side = 1.0 if side == "Left" else -1.0
        look_yaw = own_side * (values[:, C[f"EyeLookOut{side}"]] - values[:, C[f"EyeLookIn{side}"]])
        look_pitch = values[:, C[f"EyeLookDown{side}"]] - values[:, C[f"EyeLookUp{side}"]]
        values[unset, yaw] = EYE_LOOK_RANGE_RAD * look_yaw[unset]
        values[unset, pitch] = EYE_LOOK_RANGE_RAD * look_pitch[unset]
    return values


def draw_eye(frame: np.ndarray, moved: np.ndarray, carried: np.ndarray, gaze: np.ndarray, eye: EyeModel,
             base: np.ndarray | None = None) -> None:
    """Redraw one eye in ``frame`` (RGB uint8, in place) for landmarks ``moved``, the rest mesh ``carried`` by
    the head rotation alone (both [468, 2+]) and the iris offset ``gaze`` [2] (pixels, from eye rotation).

    With the portrait ``base`` (output pixels, unwarped) a closing upper lid is the portrait's own lid slid down
    over the eye (:func:`_slide_lid`); without it, lid-coloured skin and a lash line are painted over the closed
    part (the first renderer's way, ``Renderer(eyelids="painted")``)."""
    now = moved[eye.contour, :2].astype(np.float32)
    was = carried[eye.contour, :2].astype(np.float32)  # the resting opening where the head has taken it
    lid_moved = float(np.abs(now - was).max())
    if lid_moved < 0.3 and float(np.abs(gaze).max()) < 0.3:
        return
    pad = int(np.ceil(0.3 * eye.width)) + 2
    both = np.concatenate([now, was])
    x0, y0 = np.floor(both.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(both.max(axis=0)).astype(int) + pad
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    origin = np.array([x0, y0], np.float32)
    shape = (y1 - y0, x1 - x0)
    open_now = _polygon_mask(shape, now - origin)
    open_was = _polygon_mask(shape, was - origin)
    region = frame[y0:y1, x0:x1].astype(np.float32)
    soft = max(0.5, 0.02 * eye.width)
    if base is not None and lid_moved >= 0.3:
        region = _slide_lid(region, base, origin, now, was, eye)

    if float(np.abs(gaze).max()) >= 0.3:
        # Cover the iris where it rests with the white of the eye (shaded towards the lids, which cast a shadow
        # on the eyeball), draw it at its new place, and keep all of it inside the lids.
        centre = eye.iris_centre + was.mean(axis=0) - eye.rest.mean(axis=0) - origin
        cover = _stamp(shape, eye.iris_cover, centre)[..., None]
        shade = (0.85 + 0.15 * cv2.GaussianBlur(open_now, (0, 0), 0.1 * eye.width))[..., None]
        eyeball = region * (1 - cover) + eye.sclera * shade * cover
        iris = _stamp(shape, eye.iris_alpha, centre + gaze)[..., None]
        eyeball = eyeball * (1 - iris) + _stamp(shape, eye.iris_patch, centre + gaze) * iris
        alpha = cv2.GaussianBlur(open_now, (0, 0), soft)[..., None]
        region = region * (1 - alpha) + eyeball * alpha

    closed = np.clip(open_was - open_now, 0, 1)
    if closed.any() and base is None:
        # Lid skin over the part of the opening the lid now covers, rounding into shadow towards the lid edge,
        # with a dark lash line along that edge.
        upper = len(EYE_UPPER[eye.side])
        top, edge = float(was[:upper, 1].min()) - y0, float(now[:upper, 1].max()) - y0
        depth = np.clip((np.arange(shape[0], dtype=np.float32) - top) / max(edge - top, 1.0), 0, 1)
        lid = eye.lid_skin * (1 - 0.15 * depth**2)[:, None, None]
        alpha = cv2.GaussianBlur(closed, (0, 0), soft)[..., None]
        region = region * (1 - alpha) + lid * alpha
        lid_edge = np.round((now[: len(EYE_UPPER[eye.side])] - origin) * (1 << SUBPIXEL_BITS)).astype(np.int32)
        lash = np.zeros(shape, np.uint8)
        cv2.polylines(lash, [lid_edge], False, 255, max(1, int(round(0.035 * eye.width))), cv2.LINE_AA,
                      SUBPIXEL_BITS)
        lash_alpha = cv2.GaussianBlur(lash.astype(np.float32) / 255, (0, 0), soft)[..., None]
        lash_alpha = lash_alpha * (0.85 * min(1.0, float(closed.sum()) / (0.15 * eye.width * eye.width)))
        region = region * (1 - lash_alpha) + eye.lash * lash_alpha
    frame[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


def _slide_lid(region: np.ndarray, base: np.ndarray, origin: np.ndarray, now: np.ndarray, was: np.ndarray,
               eye: EyeModel) -> np.ndarray:
    """The window ``region`` (float RGB at ``origin`` of the frame) with the upper lid slid down to contour
    ``now`` from its resting place ``was``: per column, the lid skin between the brow side of the lid and the
    lash line is stretched down (lashes and crease go with it, from the portrait ``base``) and covers the eye,
    whose uncovered part stays where it was; the stretched lid darkens a little towards the lashes, as a round
    lid catches less light there. Columns where the lid does not descend are left to the warp."""
    upper = len(EYE_UPPER[eye.side])
    h, w = region.shape[:2]
    xs = np.arange(w, dtype=np.float32) + origin[0]
    ys = np.arange(h, dtype=np.float32)[:, None] + origin[1]

    def curve(points: np.ndarray) -> np.ndarray:
        order = np.argsort(points[:, 0])
        inside = (xs >= points[:, 0].min()) & (xs <= points[:, 0].max())
        return np.where(inside, np.interp(xs, points[order, 0], points[order, 1]), np.nan)

    lid_mesh, lid_now = curve(was[:upper]), curve(now[:upper])
    lower = curve(np.concatenate([now[upper:], now[[0, upper - 1]]]))
    opening = np.maximum(np.nan_to_num(lower) - np.nan_to_num(lid_mesh), 1.0)
    drop = np.nan_to_num(np.maximum(lid_now - lid_mesh, 0))
    if float(drop.max()) < 0.3:
        return region
    closure = np.clip(drop / opening, 0, 1)
    # The mesh's upper contour can sit below the visible lid margin (on a drawing, a strip of white lies between
    # them, which a lid slid from the contour would carry down as a pale slit): the lid slides from its visible
    # margin, and once shut comes a share of the opening past the mesh's lower contour (which also sits inside
    # the visible margin).
    lid_was = lid_mesh - eye.upper_margin
    corners = was[[0, upper - 1], 0]
    inward = np.minimum(xs - corners.min(), corners.max() - xs)  # pixels from the nearer eye corner
    taper = smoothstep(inward / max(CORNER_TAPER * eye.width, 1.0))
    drop = (drop + closure * (eye.upper_margin + LID_OVERSHOOT * opening)) * taper
    band, lashes = LID_BAND * eye.width, LASH_LENGTH * eye.width * closure * taper
    top = np.nan_to_num(lid_was) - band
    edge = top + band + drop  # where the lid margin now is
    # Above the margin: the lid skin from the top of the band down to the lash roots, stretched. Below it: the
    # lashes, turning down over the eye as it shuts (mirrored about the margin), then the eye's own lower part.
    skin = band - lashes
    rows = {  # source row per layer, and its weight (a pixel-wide ramp at each seam, so edges are antialiased)
        "lid": (top + (ys - top) * skin / (skin + drop), np.clip(edge - ys + 0.5, 0, 1)),
        "lashes": (np.nan_to_num(lid_was) - (ys - edge),
                   np.clip(ys - edge + 0.5, 0, 1) * np.clip(edge + lashes - ys + 0.5, 0, 1)),
    }
    rows["eye"] = (ys + 0 * drop, np.clip(1 - rows["lid"][1] - rows["lashes"][1], 0, 1))
    # From the frame's (head-carried) eye back to the portrait's: the affine between the resting contours.
    affine, _ = cv2.estimateAffinePartial2D(was.astype(np.float32), eye.rest.astype(np.float32))
    if affine is None:
        return region
    gx = np.broadcast_to(xs, (h, w))
    slid = np.zeros_like(region)
    for source_y, weight in rows.values():
        map_x = (affine[0, 0] * gx + affine[0, 1] * source_y + affine[0, 2]).astype(np.float32)
        map_y = (affine[1, 0] * gx + affine[1, 1] * source_y + affine[1, 2]).astype(np.float32)
        layer = cv2.remap(base, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        slid += layer.astype(np.float32) * weight[..., None]
    near_lashes = np.clip(1 - (edge - ys) / (0.5 * band), 0, 1) * (ys < edge)
    slid *= (1 - LID_SHADE * closure * near_lashes)[..., None]
    # Blend it in over the eye's width (fading over a pixel or two at the corners, which stay put), from a
    # little below the lid's top (where the map is still the identity) to just under the lower lid.
    across = np.clip(inward / 2, 0, 1)
    bottom = np.maximum(np.nan_to_num(lower, nan=-1e4), edge) + 2 + lashes
    down = np.clip((ys - top) / (0.3 * band), 0, 1) * np.clip((bottom - ys) / 2, 0, 1)
    alpha = (across * down)[..., None]
    return region * (1 - alpha) + slid * alpha


def _polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * (1 << SUBPIXEL_BITS)).astype(np.int32)], 255, cv2.LINE_AA, SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255


def _darkest_disc(grey: np.ndarray, opening: np.ndarray, radius: float, fallback: np.ndarray) -> np.ndarray:
    """Centre of the darkest iris-sized disc inside the eye opening (the pupil and iris are darker than the
    white); the opening's centre when the opening is too small to tell."""
    if opening.sum() < 9:
        return fallback.astype(np.float32)
    r = max(1, int(round(radius)))
    disc = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    cv2.circle(disc, (r, r), r, 1.0, -1)
    darkness = (255 - grey) * opening
    score = cv2.filter2D(darkness, -1, disc / disc.sum())
    score[opening < 0.5] = -1
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)
    return np.array([x, y], np.float32)


def _iris_patch(image: np.ndarray, centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """A square RGB patch around the iris and its soft circular alpha."""
    r = int(np.ceil(radius)) + 4  # room for the enlarged cover disc
    size = 2 * r + 1
    m = np.array([[1, 0, centre[0] - r], [0, 1, centre[1] - r]], np.float32)
    patch = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size] - r
    alpha = np.clip(radius + 0.5 - np.hypot(xx, yy), 0, 1).astype(np.float32)
    return patch, alpha


def _stamp(shape: tuple[int, int], patch: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """A canvas of ``shape`` holding the square ``patch`` centred at sub-pixel ``centre`` (zeros elsewhere)."""
    r = patch.shape[0] // 2
    m = np.array([[1, 0, centre[0] - r], [0, 1, centre[1] - r]], np.float32)
    return cv2.warpAffine(patch, m, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _brightest_colour(pixels: np.ndarray) -> np.ndarray:
    """Median colour of the brightest fifth of ``pixels`` [N, 3] (the white of the eye, not lashes, skin or
    shadow, which the lid contour also encloses)."""
    if len(pixels) == 0:
        return np.array([225, 220, 215], np.float32)
    luma = pixels.astype(np.float32).sum(axis=1)
    return np.median(pixels[luma >= np.percentile(luma, 80)], axis=0).astype(np.float32)


def _lid_skin_colour(image: np.ndarray, rest: np.ndarray, side: str, width: float) -> np.ndarray:
    """Colour of the lid skin: a band above the upper lid, below the brow, leaving out its darkest 40 % (the lid
    crease, lashes, brow hairs) and brightest 10 % (highlights)."""
    lid = rest[EYE_UPPER[side], :2].astype(np.float32)
    band = np.concatenate([lid - [0, 0.08 * width], (lid - [0, 0.3 * width])[::-1]])
    mask = _polygon_mask(image.shape[:2], band) > 0.5
    if not mask.any():
        return np.asarray(image.reshape(-1, 3).mean(axis=0), np.float32)
    pixels = image[mask].astype(np.float32)
    luma = pixels.sum(axis=1)
    low, high = np.percentile(luma, [40, 90])
    return np.median(pixels[(luma >= low) & (luma <= high)], axis=0).astype(np.float32)


def _upper_margin(image: np.ndarray, rest: np.ndarray, side: str, width: float, iris: np.ndarray, radius: float,
                  sclera: np.ndarray) -> float:
    """How far (pixels) the white of the eye reaches above the mesh's upper lid contour, up to the visible lid
    margin (a drawing's outline often lies a few pixels above the contour): per column of the eye's middle,
    away from the iris, the rows above the contour within :data:`MARGIN_CONTRAST` of the white; the median."""
    upper = rest[EYE_UPPER[side], :2].astype(np.float64)
    order = np.argsort(upper[:, 0])
    left, right = upper[order[0], 0], upper[order[-1], 0]
    h, w = image.shape[:2]
    reach = int(np.ceil(MARGIN_SEARCH * width))
    found = []
    for x in np.linspace(left + 0.15 * (right - left), right - 0.15 * (right - left), 15):
        if abs(x - float(iris[0])) < 1.3 * radius:
            continue
        y = float(np.interp(x, upper[order, 0], upper[order, 1]))
        col, top = int(round(x)), int(round(y))
        if not (0 <= col < w and reach < top < h):
            continue
        column = image[top - reach:top + 1, col][::-1].astype(np.float32)  # from the contour upwards
        white = np.linalg.norm(column - sclera, axis=1) <= MARGIN_CONTRAST
        found.append(float(np.argmin(white)) if not white.all() else float(reach))
    return max(0.0, float(np.median(found)) - 1.0) if found else 0.0
